"""What every alert shows, and the escaping each receiver needs.

Mention text is written by strangers. Whatever a receiver would interpret (Slack's ``<!channel>``
and ``<@U…>``, Mattermost's ``@here`` and Markdown, Teams' Markdown, HTML in e-mail, CR/LF in
mail headers) is neutralised here, and links that arrive inside the text are made unclickable;
the only links an alert carries are the mention's own URL and listener's "answered" link, as
buttons or labelled links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from listener.store.routing import Pending
from listener.text import one_line

TEXT_LIMIT = 600
TITLE_LIMIT = 150

_URLISH = re.compile(r"(?i)(\w)(://)|\b(www)(\.)")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")
_MENTION = re.compile(r"@(?=\w)")
_ZWSP = "\u200b"


@dataclass(frozen=True, slots=True)
class Card:
    """An alert's content in plain text, before any receiver's escaping."""

    headline: str
    facts: list[tuple[str, str]]
    text: str
    url: str | None
    answered_url: str | None = None
    """The signed link that records a response; None when links are switched off."""


def card(alert: Pending) -> Card:
    m = alert.mention
    label = m["label"] or "unlabelled"
    # A comment's title is "By: Åsa" or "Av: Åsa"; its first words say more.
    subject = clean((m["text"] if m.get("in_reply_to") else m["title"]) or m["title"] or m["text"] or "(no text)")
    if alert.kind == "escalation":
        headline = trim(f"[escalation] {alert.notice or 'Unanswered'}, {label} for {alert.department}: {subject}",
                        TITLE_LIMIT)
    else:
        headline = trim(f"[{alert.priority}] {label} for {alert.department}: {subject}", TITLE_LIMIT)
    author = clean(" ".join(x for x in (m["author"], f"({m['author_handle']})" if m["author_handle"] else "") if x))
    facts = [("Escalation", alert.notice)] if alert.kind == "escalation" and alert.notice else []
    facts += [
        ("Department", alert.department),
        ("Priority", alert.priority),
        ("Label", label + (" (question)" if m["question"] else "")),
        ("Language", m["lang"] or "unknown"),
        ("Source", f"{m['source']} ({m['platform']})"),
        ("Author", author or "unknown"),
        ("Published", _when(m["published_at"])),
        ("Rule", alert.rule),
    ]
    return Card(headline, [(k, clean(v)) for k, v in facts], trim(clean(m["text"] or m["title"] or ""), TEXT_LIMIT),
                safe_url(m["url"]), safe_url(alert.answered_url))


def clean(text) -> str:
    return one_line(str(text))


def trim(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def safe_url(url: str | None) -> str | None:
    """The mention's own link, if it is a plain http(s) URL; anything else is not offered."""
    if url and re.match(r"(?i)^https?://[^\s<>\"']+$", url) and len(url) <= 2000:
        return url
    return None


def unlink(text: str) -> str:
    """Break URLs inside mention text so no receiver turns them into links."""
    return _URLISH.sub(lambda m: (m.group(1) or m.group(3)) + _ZWSP + (m.group(2) or m.group(4)), text)


def slack_escape(text: str) -> str:
    """Slack's own rule: &, < and > are the only characters to escape; it stops every <!…> and <@…>."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_escape(text: str) -> str:
    """CommonMark backslash escapes, and a zero-width space after @ so no one is pinged."""
    return _MENTION.sub("@" + _ZWSP, _MARKDOWN.sub(r"\\\1", text))


def header_safe(text: str, limit: int = 180) -> str:
    """A mail header value: one line, no CR or LF, whatever the text held."""
    return trim(clean(text.replace("\r", " ").replace("\n", " ")), limit)


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "unknown"
