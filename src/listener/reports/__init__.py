"""Reports: the figures, their charts and the page that shows them."""
