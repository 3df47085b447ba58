"""Jinja2 pages with autoescaping: mention text is hostile wherever it is shown.

Pages carry their own small stylesheet and load nothing from elsewhere; every response sets a
Content-Security-Policy that forbids it, so a page cannot leak who opened it.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

env = Environment(loader=PackageLoader("listener.web", "templates"), autoescape=select_autoescape(default=True))

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def page(name: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(env.get_template(name).render(**context), status_code=status, headers=HEADERS)
