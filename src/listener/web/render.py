"""Turning stored data into HTML that a stranger's text cannot break out of.

Templates are Jinja2 with autoescape on; the filters here are the only places that build markup
from mention text, and they escape every piece they did not write themselves. Links in a text are
shown: http(s) ones open in a new tab without referrer, any other scheme (``javascript:``,
``data:``) only leads to a warning page that shows the address as text.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).parent / "templates"
_LINK = re.compile(r"\b(?:https?://|javascript:|data:|vbscript:|file:)[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"


def is_web_url(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def href(url: str) -> str:
    """Where a link to ``url`` may point: the address itself for http(s), else the warning page."""
    return url if is_web_url(url) else "/out?url=" + quote(url, safe="")


def link(url: str, label: str | None = None) -> Markup:
    css = "" if is_web_url(url) else ' class="unsafe"'
    return Markup('<a href="{}" rel="noopener noreferrer nofollow" target="_blank"{}>{}</a>').format(
        href(url), Markup(css), label if label is not None else url)


def mention_html(text: str | None) -> Markup:
    """The text escaped, with its addresses as links (see the module docstring)."""
    text = text or ""
    out, pos = [], 0
    for match in _LINK.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        out.append(escape(text[pos:match.start()]))
        out.append(link(url))
        pos = match.start() + len(url)
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def when(moment: datetime | None) -> Markup:
    """A <time> the browser's script shows in the reader's own time zone; UTC until it does."""
    if moment is None:
        return Markup("—")
    moment = moment.astimezone(UTC)
    return Markup('<time datetime="{}">{}</time>').format(moment.isoformat().replace("+00:00", "Z"),
                                                          moment.strftime("%Y-%m-%d %H:%M UTC"))


def span(delta: timedelta) -> str:
    minutes = int(abs(delta.total_seconds()) // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def time_left(due: datetime | None, now: datetime) -> tuple[str, bool]:
    """("2h 5m left", False) or ("overdue 1d 3h", True); ("no SLA", False) without a deadline."""
    if due is None:
        return "no SLA", False
    delta = due - now
    return (f"{span(delta)} left", False) if delta.total_seconds() >= 0 else (f"overdue {span(delta)}", True)


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(mention_html=mention_html, when=when, href=href, link=link)
    env.globals.update(time_left=time_left, span=span, is_web_url=is_web_url)
    return env
