"""RSS 0.9x/1.0/2.0, Atom and JSON Feed, including WordPress post and comment feeds.

``parse_feed`` is a pure function from the bytes http.py fetched to Items, so every recorded feed
can be tested without a network. fastfeedparser does the parsing: it is ~100× cheaper per item
than feedparser's defaults and its lxml parser never expands entities or reaches the network.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import charset_normalizer
import fastfeedparser
from pydantic import BaseModel, ConfigDict, Field

from listener.connector import PollContext, PollResult
from listener.domain import Author, Item
from listener.text import describe, html_to_text, normalise_space


class FeedError(ValueError):
    """The body is not a feed we can read; the message says what it is instead."""


_XML_DECL = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=", re.I)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")
_REDIRECTORS = re.compile(r"(^|\.)(google\.[a-z.]+|talkwalker\.com)$")
_WP_COMMENT = re.compile(r"^(?P<post>.+?)#comment-\d+$")
_PLATFORMS = (
    ("youtube.com", "youtube"),
    ("reddit.com", "reddit"),
    ("news.ycombinator.com", "hackernews"),
    ("medium.com", "medium"),
    ("blogger.com", "blogger"),
    ("blogspot.", "blogger"),
    ("wordpress", "wordpress"),
    ("mastodon", "mastodon"),
    ("ghost", "ghost"),
    ("substack", "substack"),
)


class RssOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    unwrap_redirects: bool = Field(
        default=False,
        description="store the real page behind Google Alerts / Talkwalker Alerts redirect links",
    )


class RssConnector:
    kind: ClassVar[str] = "rss"
    description: ClassVar[str] = (
        "Polls an RSS, Atom or JSON Feed: blogs, WordPress post and comment feeds, YouTube channels, "
        "subreddit and Mastodon RSS, Google Alerts. Uses ETag/Last-Modified, so an unchanged feed "
        "costs one 304."
    )
    example: ClassVar[str] = (
        '[[sources]]\nname = "wp-comments"\nconnector = "rss"\n'
        'url = "https://example.org/comments/feed/"\ninterval = "15m"\n\n'
        '[[sources]]\nname = "google-alert"\nconnector = "rss"\n'
        'url = "https://www.google.com/alerts/feeds/00000000000000000000/0000000000000000000"\n'
        'unwrap_redirects = true'
    )
    needs_url: ClassVar[bool] = True
    Options: ClassVar[type[RssOptions]] = RssOptions

    async def poll(self, ctx: PollContext, cursor: Any) -> PollResult:
        fetched = await ctx.fetch()
        if fetched.not_modified:
            return PollResult(items=[], cursor=cursor, not_modified=True)
        items = await ctx.offload(parse_feed, fetched.body, fetched.charset)
        if ctx.options.unwrap_redirects:
            items = [replace(item, url=unwrap_redirect(item.url)) for item in items]
        return PollResult(items=items, cursor=cursor)


def unwrap_redirect(url: str) -> str:
    """The real page behind an alert service's click-tracking link (Google Alerts:
    ``https://www.google.com/url?rct=j&sa=t&url=REAL&ct=ga&…``; Talkwalker Alerts likewise), or
    ``url`` itself when it is no such link."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not (_REDIRECTORS.search(host) and parts.query):
        return url
    query = parse_qs(parts.query)
    for key in ("url", "q", "u"):
        target = (query.get(key) or [""])[0]
        if target.startswith(("http://", "https://")):
            return target[:2000]
    return url


def parse_feed(body: bytes, charset: str | None = None) -> list[Item]:
    """Items of a feed body; raises FeedError with a one-line reason when it is not a feed."""
    if not body.strip():
        raise FeedError("empty response; expected a feed")
    try:
        parsed = fastfeedparser.parse(_as_utf8(body, charset))
    except Exception as exc:  # the parser's errors are plain ValueErrors with useful text
        raise FeedError(f"not a readable feed: {describe(exc, 200)}") from None
    platform = _platform(parsed.get("feed", {}))
    items = []
    for entry in parsed.get("entries", []):
        item = _item(entry, platform)
        if item is not None:
            items.append(item)
    return items


def _as_utf8(body: bytes, charset: str | None) -> bytes:
    """Bytes the XML parser can trust.

    A BOM or an XML declaration names the encoding inside the document, and the parser honours
    it. Without either, the HTTP charset decides (RFC 7303) when the bytes are valid in it; bytes
    with no charset, or not valid in the one declared, are taken as UTF-8 when they are valid
    UTF-8 and otherwise detected (Big5, Shift-JIS, windows-1252 …) by charset-normalizer.
    """
    if body.startswith(_BOMS) or _XML_DECL.match(body) or body.lstrip()[:1] in (b"{", b"["):
        return body
    for encoding in (charset, "utf-8"):
        if encoding:
            try:
                return body.decode(encoding).encode("utf-8")
            except (UnicodeDecodeError, LookupError):
                pass
    return decode_unknown(body).encode("utf-8")


_LATIN = frozenset({"cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "latin_1", "iso8859_2", "iso8859_4",
                    "iso8859_9", "iso8859_10", "iso8859_13", "iso8859_14", "iso8859_15", "iso8859_16",
                    "mac_latin2", "mac_roman", "mac_iceland"})


def decode_unknown(body: bytes) -> str:
    """Text of bytes in an undeclared encoding: charset-normalizer's best guess (Big5, Shift-JIS,
    KOI8-R …), except that among the Latin single-byte code pages windows-1252 wins whenever it
    can decode the bytes: on a short text the detector often takes "Smörgåsbord på Åre" for
    Central European ("pĺ Ĺre"), and the languages listener serves are written in windows-1252."""
    best = charset_normalizer.from_bytes(body).best()
    if best is None or best.encoding in _LATIN:
        try:
            return body.decode("cp1252")
        except UnicodeDecodeError:
            return str(best) if best is not None else body.decode("cp1252", errors="replace")
    return str(best)


def _item(entry: dict, platform: str) -> Item | None:
    title = html_to_text(entry.get("title") or "")
    body = _body(entry)
    url = normalise_space(entry.get("link") or "")
    if not (title or body or url):
        return None
    external_id = normalise_space(entry.get("id") or "") or url
    if not external_id:
        external_id = "sha256:" + hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
    reply = _WP_COMMENT.match(external_id)
    return Item(
        external_id=external_id[:1000],
        url=url[:2000],
        title=title[:1000],
        text=body,
        published_at=_when(entry.get("published") or entry.get("updated")),
        author=_author(entry),
        platform="wordpress" if reply and platform == "web" else platform,
        in_reply_to=reply.group("post") if reply else None,
    )


def _body(entry: dict) -> str:
    for content in entry.get("content") or []:
        value = content.get("value") if isinstance(content, dict) else None
        if value:
            return html_to_text(value)
    return html_to_text(entry.get("description") or entry.get("summary") or "")


def _author(entry: dict) -> Author:
    detail = entry.get("author_detail") or {}
    name = html_to_text(detail.get("name") or entry.get("author") or "")[:200]
    handle = (detail.get("email") or detail.get("href") or "")[:200]
    return Author(name=name, handle=handle)


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    if when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _platform(feed: dict) -> str:
    hints = " ".join(str(feed.get(key) or "") for key in ("generator", "link", "id")).lower()
    for needle, platform in _PLATFORMS:
        if needle in hints:
            return platform
    return "web"
