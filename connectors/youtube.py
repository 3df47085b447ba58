"""YouTube: a channel's videos (its Atom feed) and their comments (Data API v3).

The feed costs no quota; its ``media:description`` is the video's text. fastfeedparser does not
expose it, so the feed is read here with lxml (no entities, no network). Comments come from
``commentThreads`` for the whole channel (``allThreadsRelatedToChannelId``), newest first, one
quota unit per request; the units spent are counted per UTC day in the cursor, and the poll stops
before a request would pass ``daily_quota``. Ids follow the feed's: a video is ``yt:video:ID``
(as the rss connector stores it too), a comment ``yt:comment:ID`` replying to its video, or to
the comment it answers.
"""

from __future__ import annotations

from typing import Any, ClassVar

from lxml import etree
from pydantic import Field, field_validator

from listener.connector import PollContext, PollResult
from listener.connectors.common import MAX_PAGES, Options, budget_left, credential, parse_time
from listener.domain import Author, Item
from listener.http import FetchError
from listener.text import html_to_text

UNITS_PER_REQUEST = 1
_NS = {"atom": "http://www.w3.org/2005/Atom", "media": "http://search.yahoo.com/mrss/",
       "yt": "http://www.youtube.com/xml/schemas/2015"}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, recover=False)


class YouTubeOptions(Options):
    channel_id: str = Field(description='the channel id, "UC" and 22 more characters')
    api_key_env: str | None = Field(default=None, description="environment variable holding a Data API key; without it only videos are read")
    daily_quota: int = Field(default=2000, ge=1, description="Data API units this source may spend per UTC day")
    api_url: str = Field(default="https://www.googleapis.com/youtube/v3", description="the Data API")

    @field_validator("channel_id")
    @classmethod
    def _channel(cls, value: str) -> str:
        if not value.startswith("UC") or len(value) != 24:
            raise ValueError('a channel id is "UC" and 22 more characters (the channel page shows it)')
        return value


class YouTubeConnector:
    kind: ClassVar[str] = "youtube"
    description: ClassVar[str] = (
        "Reads a YouTube channel's videos from its feed and, with an API key, the comments on them "
        "through the Data API, within a daily quota budget."
    )
    example: ClassVar[str] = (
        '[[sources]]\nname = "youtube"\nconnector = "youtube"\nchannel_id = "UCxxxxxxxxxxxxxxxxxxxxxx"\n'
        'api_key_env = "YOUTUBE_API_KEY"\ndaily_quota = 2000'
    )
    needs_url: ClassVar[bool] = True
    default_url: ClassVar[str] = "https://www.youtube.com"
    Options: ClassVar[type[YouTubeOptions]] = YouTubeOptions

    async def poll(self, ctx: PollContext, cursor: Any) -> PollResult:
        options: YouTubeOptions = ctx.options
        cursor = dict(cursor) if isinstance(cursor, dict) else {}
        fetched = await ctx.get(ctx.url.rstrip("/") + "/feeds/videos.xml", params={"channel_id": options.channel_id})
        items = parse_videos(fetched.body)
        if options.api_key_env:
            comments, cursor = await _comments(ctx, options, cursor)
            items += comments
        return PollResult(items=items, cursor=cursor)


async def _comments(ctx: PollContext, options: YouTubeOptions, cursor: dict) -> tuple[list[Item], dict]:
    """New comment threads of the channel, newest first until the cursor, within the day's quota."""
    key = credential(options.api_key_env, f"youtube source {ctx.source}")
    today = ctx.now().date().isoformat()
    used = cursor.get("units", 0) if cursor.get("day") == today else 0
    since = parse_time(cursor.get("comments"))
    items: list[Item] = []
    newest = since
    token = None
    for _ in range(MAX_PAGES):
        if used + UNITS_PER_REQUEST > options.daily_quota:
            ctx.log.warning("youtube.quota_spent", units=used, daily_quota=options.daily_quota)
            break
        params = {"part": "snippet,replies", "allThreadsRelatedToChannelId": options.channel_id,
                  "order": "time", "maxResults": 100, "textFormat": "plainText"}
        if token:
            params["pageToken"] = token
        used += UNITS_PER_REQUEST
        fetched = await ctx.get(options.api_url.rstrip("/") + "/commentThreads", params=params,
                                secret_params={"key": key}, credential=options.api_key_env)
        data = fetched.json()
        if not isinstance(data, dict) or not isinstance(data.get("items", []), list):
            raise FetchError(f"unexpected answer from {fetched.url}: expected commentThreads")
        page = parse_comment_threads(data)
        fresh = [i for i in page if since is None or (i.published_at and i.published_at > since)]
        items += fresh
        stamps = [i.published_at for i in page if i.published_at]
        newest = max([*stamps, *([newest] if newest else [])], default=None)
        token = data.get("nextPageToken")
        threads = [i for i in page if i.in_reply_to and i.in_reply_to.startswith("yt:video:")]
        reached = since is not None and any(t.published_at and t.published_at <= since for t in threads)
        if since is None or not token or reached or not budget_left(fetched):
            break
    return items, {**cursor, "day": today, "units": used, "comments": newest.isoformat() if newest else None}


def parse_videos(body: bytes) -> list[Item]:
    """Videos of a channel's Atom feed, with ``media:description`` as their text."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise FetchError(f"not a readable YouTube feed: {exc}") from None
    items = []
    for entry in root.iterfind("atom:entry", _NS):
        video = entry.findtext("yt:videoId", "", _NS).strip()
        entry_id = entry.findtext("atom:id", "", _NS).strip() or (f"yt:video:{video}" if video else "")
        if not entry_id:
            continue
        link = entry.find("atom:link[@rel='alternate']", _NS)
        url = link.get("href", "") if link is not None else f"https://www.youtube.com/watch?v={video}"
        items.append(Item(
            external_id=entry_id[:1000],
            url=url[:2000],
            title=html_to_text(entry.findtext("atom:title", "", _NS))[:1000],
            text=html_to_text(entry.findtext("media:group/media:description", "", _NS)),
            published_at=parse_time(entry.findtext("atom:published", "", _NS)),
            author=Author(name=entry.findtext("atom:author/atom:name", "", _NS).strip()[:200],
                          handle=entry.findtext("yt:channelId", "", _NS).strip()[:200]),
            platform="youtube",
        ))
    return items


def parse_comment_threads(data: dict) -> list[Item]:
    """Top-level comments (replying to their video) and the replies sent with them."""
    items = []
    for thread in data.get("items") or []:
        if not isinstance(thread, dict):
            continue
        snippet = thread.get("snippet") or {}
        video = snippet.get("videoId")
        top = snippet.get("topLevelComment") or {}
        if top.get("id") and video:
            items.append(_comment(top, f"yt:video:{video}", video))
        for reply in (thread.get("replies") or {}).get("comments") or []:
            parent = (reply.get("snippet") or {}).get("parentId") or top.get("id")
            if reply.get("id") and parent:
                items.append(_comment(reply, f"yt:comment:{parent}", video))
    return items


def _comment(comment: dict, parent: str, video: str | None) -> Item:
    snippet = comment.get("snippet") or {}
    name = str(snippet.get("authorDisplayName") or "")
    channel_url = str(snippet.get("authorChannelUrl") or "")
    handle = channel_url.rstrip("/").rsplit("/", 1)[-1] if "/@" in channel_url else name if name.startswith("@") else ""
    return Item(
        external_id=f"yt:comment:{comment['id']}"[:1000],
        url=f"https://www.youtube.com/watch?v={video}&lc={comment['id']}"[:2000],
        title="",
        text=html_to_text(str(snippet.get("textOriginal") or snippet.get("textDisplay") or "")),
        published_at=parse_time(snippet.get("publishedAt")),
        author=Author(name=name[:200], handle=handle[:200]),
        platform="youtube",
        in_reply_to=parent,
    )
