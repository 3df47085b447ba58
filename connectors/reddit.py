"""Reddit: searches and subreddits, posts and comments, through the OAuth API.

An app-only token (client credentials grant) is fetched from ``token_url`` and kept until it
expires. Every request carries a descriptive User-Agent, as Reddit's API rules require, and
``raw_json=1`` so text arrives unescaped. The ``x-ratelimit-*`` headers (``remaining`` is a float
string) stop paging before the budget is spent and move the next poll past the reset.

A listing is read newest first until it reaches what the previous poll saw (the cursor is the
newest ``created_utc`` per listing), rather than with ``before=``: a deleted anchor post makes
``before`` return nothing forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import Field, field_validator, model_validator

from listener import __version__
from listener.connector import PollContext, PollResult
from listener.connectors.common import MAX_PAGES, Options, budget_left, credential, parse_time, spent
from listener.domain import Author, Item
from listener.http import AuthError, FetchError
from listener.text import html_to_text

WEB = "https://www.reddit.com"


class RedditOptions(Options):
    subreddits: list[str] = Field(default=[], description="subreddits whose new posts and comments are read")
    query: str | None = Field(default=None, description="a Reddit search (newest first) across all subreddits")
    comments: bool = Field(default=True, description="also read the subreddits' new comments")
    client_id_env: str = Field(description="environment variable holding the app's client id")
    client_secret_env: str = Field(description="environment variable holding the app's client secret")
    token_url: str = Field(default=f"{WEB}/api/v1/access_token", description="where the app token is requested")
    user_agent: str | None = Field(default=None, description='e.g. "server:se.example.listener:1.0 (by /u/you)"; default from [http] user_agent')
    limit: int = Field(default=100, ge=1, le=100, description="things per request (Reddit allows 100)")

    @field_validator("subreddits")
    @classmethod
    def _names(cls, value: list[str]) -> list[str]:
        names = [name.strip().removeprefix("/").removeprefix("r/") for name in value]
        if any(not name or "/" in name or " " in name for name in names):
            raise ValueError('a subreddit is written as its name, such as "sweden" (r/ is optional)')
        return names

    @model_validator(mode="after")
    def _something_to_watch(self) -> RedditOptions:
        if not self.subreddits and not self.query:
            raise ValueError('give subreddits = ["name"] or query = "words"')
        return self


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    expires_at: datetime


_tokens: dict[tuple[str, str], _Token] = {}
"""App tokens by (token_url, client id), shared by the polls of this process until they expire."""


class RedditConnector:
    kind: ClassVar[str] = "reddit"
    description: ClassVar[str] = (
        "Reads Reddit searches and subreddits (new posts and comments) through the OAuth API with "
        "an app-only token; replies keep their parent. Paces itself by x-ratelimit-* headers."
    )
    example: ClassVar[str] = (
        '[[sources]]\nname = "reddit"\nconnector = "reddit"\nsubreddits = ["sweden"]\nquery = "dramaten"\n'
        'client_id_env = "REDDIT_CLIENT_ID"\nclient_secret_env = "REDDIT_CLIENT_SECRET"'
    )
    needs_url: ClassVar[bool] = True
    default_url: ClassVar[str] = "https://oauth.reddit.com"
    Options: ClassVar[type[RedditOptions]] = RedditOptions

    async def poll(self, ctx: PollContext, cursor: Any) -> PollResult:
        options: RedditOptions = ctx.options
        cursor = dict(cursor) if isinstance(cursor, dict) else {}
        base = ctx.url.rstrip("/")
        listings: list[tuple[str, str, dict]] = []
        if options.query:
            listings.append(("search", f"{base}/search", {"q": options.query, "sort": "new", "type": "link"}))
        for name in options.subreddits:
            listings.append((f"r/{name}/new", f"{base}/r/{quote(name)}/new", {}))
            if options.comments:
                listings.append((f"r/{name}/comments", f"{base}/r/{quote(name)}/comments", {}))
        items: list[Item] = []
        for key, url, params in listings:
            if spent(ctx, url):
                ctx.log.info("reddit.rate_limit_spent", left_for_next_poll=key)
                break
            found, cursor[key] = await _listing(ctx, options, url, params, cursor.get(key))
            items += found
        return PollResult(items=items, cursor=cursor)


async def _listing(ctx: PollContext, options: RedditOptions, url: str, params: dict,
                   since: float | None) -> tuple[list[Item], float | None]:
    """Things newer than ``since`` (epoch seconds), newest page first, following ``after``;
    without a cursor, only the newest page."""
    found: list[Item] = []
    newest = since
    after = None
    for _ in range(MAX_PAGES):
        page_params = {**params, "limit": options.limit, "raw_json": 1, **({"after": after} if after else {})}
        fetched = await _get(ctx, options, url, page_params)
        things, after = parse_listing(fetched.json())
        fresh = [t for t in things if since is None or (t.published_at and t.published_at.timestamp() > since)]
        found += fresh
        stamps = [t.published_at.timestamp() for t in things if t.published_at]
        newest = max([*stamps, *([newest] if newest is not None else [])], default=None)
        if since is None or not after or len(fresh) < len(things) or not budget_left(fetched):
            break
    return found, newest


async def _get(ctx: PollContext, options: RedditOptions, url: str, params: dict):
    """An API GET with the app token; a token the API refuses is dropped and fetched once more."""
    for attempt in range(2):
        token = await _token(ctx, options)
        headers = {"Authorization": f"Bearer {token}", "User-Agent": _user_agent(ctx, options)}
        try:
            return await ctx.get(url, params=params, headers=headers, credential=options.client_id_env)
        except AuthError:
            _tokens.pop((options.token_url, credential(options.client_id_env, "reddit")), None)
            if attempt:
                raise
    raise AssertionError("unreachable")


async def _token(ctx: PollContext, options: RedditOptions) -> str:
    client_id = credential(options.client_id_env, f"reddit source {ctx.source}")
    key = (options.token_url, client_id)
    cached = _tokens.get(key)
    if cached and cached.expires_at > ctx.now():
        return cached.value
    client_secret = credential(options.client_secret_env, f"reddit source {ctx.source}")
    fetched = await ctx.request("POST", options.token_url, data={"grant_type": "client_credentials"},
                                auth=(client_id, client_secret), headers={"User-Agent": _user_agent(ctx, options)},
                                credential=f"{options.client_id_env} / ${options.client_secret_env}")
    answer = fetched.json()
    if not isinstance(answer, dict) or not answer.get("access_token"):
        reason = answer.get("error") if isinstance(answer, dict) else None
        raise FetchError(f"reddit gave no token ({reason or 'unexpected answer'}); check ${options.client_id_env} and ${options.client_secret_env}")
    lifetime = answer.get("expires_in") if isinstance(answer.get("expires_in"), (int, float)) else 3600
    token = _Token(str(answer["access_token"]), ctx.now() + timedelta(seconds=max(lifetime - 60, 0)))
    _tokens[key] = token
    return token.value


def _user_agent(ctx: PollContext, options: RedditOptions) -> str:
    return options.user_agent or f"server:listener:{__version__} ({ctx.http.user_agent})"


def parse_listing(data: Any) -> tuple[list[Item], str | None]:
    """Posts (t3) and comments (t1) of a Listing, or of the [post, comments] pair a comment page
    is, with nested replies; and the listing's ``after`` (the next, older page)."""
    items: list[Item] = []
    listings = data if isinstance(data, list) else [data]
    after = None
    for listing in listings:
        if isinstance(listing, dict) and isinstance(listing.get("data"), dict):
            after = after or listing["data"].get("after")
            _walk(listing["data"].get("children") or [], items)
    return items, after


def _walk(children: list, items: list[Item]) -> None:
    for child in children:
        if not isinstance(child, dict) or child.get("kind") not in ("t1", "t3"):
            continue  # "more" stubs name comments not sent; they arrive through the comments listing
        thing = child.get("data") or {}
        if not thing.get("name"):
            continue
        items.append(_item(child["kind"], thing))
        replies = thing.get("replies")
        if isinstance(replies, dict):
            _walk((replies.get("data") or {}).get("children") or [], items)


def _item(kind: str, thing: dict) -> Item:
    author = str(thing.get("author") or "")
    if author == "[deleted]":
        author = ""
    permalink = str(thing.get("permalink") or "")
    if not permalink and thing.get("link_permalink"):
        permalink = str(thing["link_permalink"]).rstrip("/") + f"/{thing.get('id', '')}/"
    url = permalink.split("?")[0]
    if url.startswith("/"):
        url = WEB + url
    if kind == "t3":
        title, text, parent = str(thing.get("title") or ""), str(thing.get("selftext") or ""), None
    else:
        title, text, parent = str(thing.get("link_title") or ""), str(thing.get("body") or ""), thing.get("parent_id")
    return Item(
        external_id=str(thing["name"])[:1000],
        url=url[:2000],
        title=html_to_text(title)[:1000],
        text=html_to_text(text),
        published_at=parse_time(thing.get("created_utc")),
        author=Author(name=author[:200], handle=author[:200]),
        platform="reddit",
        in_reply_to=str(parent) if parent else None,
    )
