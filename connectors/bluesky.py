"""Bluesky: every new post on the network through Jetstream, matched here against the source's query.

Jetstream is Bluesky's JSON firehose over a WebSocket (no account needed). Asking only for
``app.bsky.feed.post`` commits, it sends every post as it is written, each event stamped with
``time_us``, which is also the cursor: connecting with ``cursor=T`` replays from T. The connector
rewinds a few seconds on every reconnect, as Jetstream advises, and the store drops what it sees
twice by external id (the post's ``at://`` URI).

Jetstream names authors only by DID. The DID is stored as ``author_handle`` (it never changes,
unlike a handle), so an own account is written ``bluesky:did:plc:…``; the handle, when an
identity event on the stream has told it, is stored as the author's name.

With ``mode = "search"`` the source polls ``app.bsky.feed.searchPosts`` instead, signed in with
an app password (``identifier``, ``password_env``) through ``com.atproto.server.createSession`` on
``url`` (default https://bsky.social); the cursor is the newest ``indexedAt`` seen, sent as
``since``. Bluesky's search syntax differs from ours, so ``search`` is what is sent and ``query``,
if given, filters what comes back.

``parse_event`` and ``search_items`` are pure functions from a frame or a response body to items,
so recorded bodies are tested without a network.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus, InvalidURI

from listener.connector import PollContext, PollResult, Streamed
from listener.connectors.common import budget_left, credential
from listener.domain import Author, Item
from listener.http import FetchError
from listener.matching import Query, Text

JETSTREAM_URL = "wss://jetstream2.us-east.bsky.network/subscribe"
SEARCH_URL = "https://bsky.social"
SEARCH_PAGES = 3
COLLECTION = "app.bsky.feed.post"
REWIND_US = 5_000_000
"""How far back a reconnect starts, in microseconds: events near the cut may not have been stored."""
MAX_HANDLES = 10_000


class StreamError(Exception):
    """The stream could not be opened or broke; the message is one line for the source's state."""


class BlueskyOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    query: str | None = Field(None, description="posts to keep, in the query language of [[queries]]")
    mode: Literal["jetstream", "search"] = Field(
        "jetstream", description="jetstream: the live stream of every post; search: poll searchPosts")
    search: str | None = Field(None, description="search mode: the q sent to searchPosts")
    identifier: str | None = Field(None, description="search mode: the account's handle or e-mail")
    password_env: str | None = Field(None, description="search mode: variable holding an app password")

    @field_validator("query")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            Query.parse(value)
        return value

    @model_validator(mode="after")
    def _complete(self) -> BlueskyOptions:
        if self.mode == "jetstream" and not self.query:
            raise ValueError('query is missing; Jetstream sends every post on Bluesky, so say which to keep')
        if self.mode == "search":
            missing = [k for k in ("search", "identifier", "password_env") if not getattr(self, k)]
            if missing:
                raise ValueError(f"search mode needs {', '.join(missing)} (an app password, not the account's)")
        return self


@dataclass(frozen=True, slots=True)
class Event:
    """What one Jetstream frame means here: its position, and a post or a handle it revealed."""

    time_us: int
    item: Item | None = None
    handle: tuple[str, str] | None = None


class BlueskyConnector:
    kind: ClassVar[str] = "bluesky"
    description: ClassVar[str] = (
        "Streams every new Bluesky post from Jetstream (no account needed) and keeps those matching "
        "`query`. Replies carry in_reply_to; authors are stored by DID. Resumes after a restart "
        "from its stored cursor. `url` is the Jetstream endpoint. mode = \"search\" polls "
        "searchPosts instead, with an app password (url then defaults to " + SEARCH_URL + ")."
    )
    example: ClassVar[str] = (
        '[[sources]]\nname = "bluesky"\nconnector = "bluesky"\nquery = "dramaten OR #dramaten"'
    )
    needs_url: ClassVar[bool] = False
    default_url: ClassVar[str] = JETSTREAM_URL
    Options: ClassVar[type[BlueskyOptions]] = BlueskyOptions

    @classmethod
    def streams(cls, options: BaseModel) -> bool:
        return options.mode == "jetstream"

    async def poll(self, ctx: PollContext, cursor: Any) -> PollResult:
        """Search mode: sign in, then newest posts first, back to ``cursor`` (at most three pages)."""
        options = ctx.options
        base = SEARCH_URL if ctx.url in ("", JETSTREAM_URL) else ctx.url.rstrip("/")
        password = credential(options.password_env, f"bluesky source {ctx.source}")
        session = await ctx.request("POST", f"{base}/xrpc/com.atproto.server.createSession",
                                    json_body={"identifier": options.identifier, "password": password},
                                    credential=options.password_env)
        token = session.json().get("accessJwt")
        if not isinstance(token, str):
            raise FetchError(f"createSession on {_host(base)} gave no accessJwt")
        query = Query.parse(options.query) if options.query else None
        params: dict[str, str | int] = {"q": options.search, "sort": "latest", "limit": 100}
        if isinstance(cursor, str):
            params["since"] = cursor
        items, newest = [], cursor
        for _ in range(SEARCH_PAGES):
            fetched = await ctx.get(f"{base}/xrpc/app.bsky.feed.searchPosts", params=params,
                                    headers={"Authorization": f"Bearer {token}"}, credential=options.password_env)
            found, page_newest, more = search_items(fetched.body)
            items += [i for i in found if query is None or matches(i, query)]
            if page_newest and (newest is None or page_newest > newest):
                newest = page_newest
            if not more or not budget_left(fetched):
                break
            params["cursor"] = more
        return PollResult(items=items, cursor=newest)

    async def stream(self, ctx: PollContext, cursor: Any) -> AsyncIterator[Streamed]:
        query = Query.parse(ctx.options.query)
        base = ctx.url or JETSTREAM_URL
        websocket = await _open(ctx, base, cursor)
        handles: dict[str, str] = {}
        async with websocket:
            yield Streamed((), cursor)
            async for frame in websocket:
                try:
                    event = parse_event(frame)
                except ValueError as exc:
                    ctx.log.warning("stream.bad_frame", error=str(exc)[:200])
                    continue
                if event.handle:
                    _remember(handles, *event.handle)
                item = event.item
                if item is not None and matches(item, query):
                    name = handles.get(item.author.handle, "")
                    if name:
                        item = replace(item, author=Author(name=name, handle=item.author.handle))
                    yield Streamed((item,), event.time_us)
                else:
                    yield Streamed((), event.time_us)


async def _open(ctx: PollContext, base: str, cursor: Any):
    """Connect from just before ``cursor``; a cursor the server refuses is dropped (one warning)."""
    timeout = ctx.http.config.timeout.total_seconds()
    start = max(int(cursor) - REWIND_US, 0) if isinstance(cursor, int) else None
    url = subscribe_url(base, start)
    try:
        return await connect(url, user_agent_header=ctx.http.user_agent, open_timeout=timeout,
                             max_size=ctx.http.config.max_bytes, close_timeout=2)
    except InvalidStatus as exc:
        status = exc.response.status_code
        if start is None or not 400 <= status < 500:
            raise StreamError(f"HTTP {status} from {_host(base)} when subscribing") from None
        ctx.log.warning("stream.cursor_rejected", cursor=start, status=status)
    except InvalidURI:
        raise StreamError(f"{base!r} is not a WebSocket URL (wss://…)") from None
    except (OSError, TimeoutError) as exc:
        raise StreamError(f"cannot connect to {_host(base)}: {exc or type(exc).__name__}") from None
    try:
        return await connect(subscribe_url(base, None), user_agent_header=ctx.http.user_agent,
                             open_timeout=timeout, max_size=ctx.http.config.max_bytes, close_timeout=2)
    except InvalidStatus as exc:
        raise StreamError(f"HTTP {exc.response.status_code} from {_host(base)} when subscribing") from None


def subscribe_url(base: str, cursor: int | None) -> str:
    """The endpoint with our collection (and cursor) added to whatever query it already has."""
    parts = urlsplit(base)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("wantedCollections", "cursor")]
    query.append(("wantedCollections", COLLECTION))
    if cursor is not None:
        query.append(("cursor", str(cursor)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def parse_event(frame: str | bytes) -> Event:
    """One Jetstream frame; raises ValueError when it is not a Jetstream event."""
    try:
        data = json.loads(frame)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("time_us"), int) or not isinstance(data.get("did"), str):
        raise ValueError("not a Jetstream event (no did or time_us)")
    time_us, did, kind = data["time_us"], data["did"], data.get("kind")
    if kind == "identity":
        handle = (data.get("identity") or {}).get("handle")
        return Event(time_us, handle=(did, handle) if isinstance(handle, str) and handle else None)
    commit = data.get("commit") if kind == "commit" else None
    if not isinstance(commit, dict) or commit.get("collection") != COLLECTION or commit.get("operation") != "create":
        return Event(time_us)
    record = commit.get("record")
    rkey = commit.get("rkey")
    if not isinstance(record, dict) or not isinstance(rkey, str):
        raise ValueError("a post commit without record or rkey")
    return Event(time_us, item=post_item(did, rkey, record))


def post_item(did: str, rkey: str, record: dict) -> Item:
    """A post record as an Item; shared by the stream and by recorded API responses."""
    parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
    text = record.get("text")
    return Item(
        external_id=f"at://{did}/{COLLECTION}/{rkey}",
        url=f"https://bsky.app/profile/{did}/post/{rkey}",
        title="",
        text=text if isinstance(text, str) else "",
        published_at=_when(record.get("createdAt")),
        author=Author(handle=did),
        platform="bluesky",
        in_reply_to=parent if isinstance(parent, str) else None,
    )


def search_items(body: bytes) -> tuple[list[Item], str | None, str | None]:
    """A searchPosts page: its posts, the newest ``indexedAt`` on it, and the next page's cursor."""
    try:
        data = json.loads(body)
        posts = data["posts"]
    except (ValueError, KeyError, TypeError):
        raise FetchError("searchPosts answered with something other than a list of posts") from None
    items, newest = [], None
    for post in posts if isinstance(posts, list) else []:
        uri, record, author = post.get("uri"), post.get("record"), post.get("author") or {}
        if not (isinstance(uri, str) and uri.startswith("at://") and isinstance(record, dict)):
            continue
        did, rkey = uri.removeprefix("at://").split("/")[0], uri.rsplit("/", 1)[-1]
        item = post_item(did, rkey, record)
        name = author.get("displayName") or author.get("handle") or ""
        items.append(replace(item, author=Author(name=str(name)[:200], handle=did)))
        indexed = post.get("indexedAt")
        if isinstance(indexed, str) and (newest is None or indexed > newest):
            newest = indexed
    more = data.get("cursor")
    return items, newest, more if isinstance(more, str) and more else None


def matches(item: Item, query: Query) -> bool:
    return query.matches(Text.of(item.text))


def _remember(handles: dict[str, str], did: str, handle: str) -> None:
    if len(handles) >= MAX_HANDLES:
        handles.pop(next(iter(handles)))
    handles[did] = handle


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _host(url: str) -> str:
    return urlsplit(url).hostname or url
