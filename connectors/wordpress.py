"""WordPress: a site's posts and comments through the REST API (``/wp-json/wp/v2/``).

Ids follow WordPress's own feeds, so the REST API and the RSS fallback store the same mention
under the same external id: a post is its ``guid``, a comment ``{post guid}#comment-{id}``. A reply
to a comment has that comment as ``in_reply_to``; a top-level comment has its post, so flat comment
threads work for response detection. When the REST API is off (401/404) the site's comment feed
is read instead.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from listener.connector import PollContext, PollResult
from listener.connectors.common import MAX_PAGES, Options, as_list, budget_left, parse_time
from listener.connectors.rss import parse_feed
from listener.domain import Author, Item
from listener.http import HttpStatusError
from listener.text import html_to_text


class WordPressOptions(Options):
    posts: bool = Field(default=True, description="watch the site's posts")
    comments: bool = Field(default=True, description="watch the comments on them")
    per_page: int = Field(default=100, ge=1, le=100, description="items per request (WordPress allows 100)")
    api_path: str = Field(default="/wp-json/wp/v2", description='where the REST API lives under url ("/?rest_route=/wp/v2" without pretty links)')
    feed_url: str | None = Field(default=None, description="comment feed read when the REST API is off (default {url}/comments/feed/)")


class WordPressConnector:
    kind: ClassVar[str] = "wordpress"
    description: ClassVar[str] = (
        "Reads a WordPress site's posts and comments through its REST API, paging with after= and "
        "X-WP-TotalPages; a comment replies to its parent comment or its post. Falls back to the "
        "comment feed when the REST API is off."
    )
    example: ClassVar[str] = '[[sources]]\nname = "blog"\nconnector = "wordpress"\nurl = "https://blog.example.se"'
    needs_url: ClassVar[bool] = True
    Options: ClassVar[type[WordPressOptions]] = WordPressOptions

    async def poll(self, ctx: PollContext, cursor: Any) -> PollResult:
        options: WordPressOptions = ctx.options
        cursor = dict(cursor) if isinstance(cursor, dict) else {}
        site = ctx.url.rstrip("/")
        api = site + options.api_path
        try:
            posts, comments = [], []
            if options.posts:
                posts, cursor["posts"] = await _collection_or_reset(ctx, f"{api}/posts", cursor.get("posts"), options)
            if options.comments:
                comments, cursor["comments"] = await _collection_or_reset(ctx, f"{api}/comments", cursor.get("comments"), options)
        except HttpStatusError as exc:
            if exc.status not in (401, 404):
                raise
            ctx.log.info("wordpress.rest_off", status=exc.status)
            fetched = await ctx.fetch(options.feed_url or f"{site}/comments/feed/")
            return PollResult(items=parse_feed(fetched.body, charset=fetched.charset), cursor=cursor)
        guids = {p["id"]: _guid(p) for p in posts if isinstance(p, dict) and "id" in p}
        missing = sorted({c.get("post") for c in comments if isinstance(c, dict)} - set(guids) - {None})
        if missing:
            guids |= await _post_guids(ctx, f"{api}/posts", missing)
        items = parse_posts(posts) + parse_comments(comments, guids, site)
        return PollResult(items=items, cursor=cursor)


async def _collection_or_reset(ctx: PollContext, url: str, since: str | None, options: WordPressOptions) -> tuple[list, str | None]:
    """A 400 to a request with a cursor is WordPress refusing the ``after`` date: the cursor is
    dropped and the newest page read, so the source does not fail on it forever."""
    try:
        return await _collection(ctx, url, since, options)
    except HttpStatusError as exc:
        if exc.status != 400 or not since:
            raise
        ctx.log.warning("cursor.rejected", cursor=since, error=str(exc))
        return await _collection(ctx, url, None, options)


async def _collection(ctx: PollContext, url: str, since: str | None, options: WordPressOptions) -> tuple[list, str | None]:
    """Everything published after ``since``, oldest first, page by page up to X-WP-TotalPages;
    without a cursor, only the newest page (a new source does not backfill the archive)."""
    params: dict[str, Any] = {"per_page": options.per_page, "orderby": "date", "_embed": "author"}
    if since:
        params |= {"order": "asc", "after": _before(since)}
    else:
        params["order"] = "desc"
    found: list = []
    newest = since
    for page in range(1, MAX_PAGES + 1):
        fetched = await ctx.get(url, params={**params, "page": page})
        rows = as_list(fetched.json(), "posts or comments", fetched.url)
        found += rows
        dates = [r["date"] for r in rows if isinstance(r, dict) and isinstance(r.get("date"), str)]
        newest = max([*dates, *([newest] if newest else [])], default=None)
        total = fetched.headers.get("x-wp-totalpages", "1")
        if not since or page >= (int(total) if total.isdigit() else 1) or not budget_left(fetched):
            break
    return found, newest


def _before(date: str) -> str:
    """One second before the cursor: ``after`` is exclusive and WordPress dates have whole
    seconds, so an item published in the cursor's second is not missed (the store drops repeats)."""
    try:
        return (datetime.fromisoformat(date) - timedelta(seconds=1)).isoformat()
    except ValueError:
        return date


async def _post_guids(ctx: PollContext, url: str, ids: list[int]) -> dict[int, str]:
    """The guids of posts commented on whose posts this poll did not read, in one request."""
    fetched = await ctx.get(url, params={"include": ",".join(map(str, ids[:100])), "per_page": 100,
                                         "_fields": "id,guid,link"})
    return {p["id"]: _guid(p) for p in as_list(fetched.json(), "posts", fetched.url) if isinstance(p, dict) and "id" in p}


def parse_posts(posts: list[Any]) -> list[Item]:
    items = []
    for post in posts:
        if not isinstance(post, dict) or not _guid(post):
            continue
        items.append(Item(
            external_id=_guid(post)[:1000],
            url=str(post.get("link") or _guid(post))[:2000],
            title=html_to_text(_rendered(post.get("title")))[:1000],
            text=html_to_text(_rendered(post.get("content")) or _rendered(post.get("excerpt"))),
            published_at=_published(post),
            author=_embedded_author(post),
            platform="wordpress",
        ))
    return items


def parse_comments(comments: list[Any], guids: dict[int, str], site: str) -> list[Item]:
    """Comments with ``in_reply_to`` set to their parent comment, or to their post when they
    are top-level. ``guids`` maps post ids to guids; a post not in it is named as WordPress
    names it by default, ``{site}/?p={id}``."""
    items = []
    for comment in comments:
        if not isinstance(comment, dict) or "id" not in comment or "post" not in comment:
            continue
        post = guids.get(comment["post"]) or f"{site}/?p={comment['post']}"
        parent = comment.get("parent") or 0
        author = _embedded_author(comment)
        items.append(Item(
            external_id=f"{post}#comment-{comment['id']}"[:1000],
            url=str(comment.get("link") or f"{post}#comment-{comment['id']}")[:2000],
            title="",
            text=html_to_text(_rendered(comment.get("content"))),
            published_at=_published(comment),
            author=Author(name=html_to_text(comment.get("author_name") or "")[:200] or author.name,
                          handle=author.handle),
            platform="wordpress",
            in_reply_to=f"{post}#comment-{parent}" if parent else post,
        ))
    return items


def _guid(post: dict) -> str:
    return str(_rendered(post.get("guid")) or post.get("link") or "")


def _rendered(field: Any) -> str:
    if isinstance(field, dict):
        return str(field.get("rendered") or "")
    return str(field or "")


def _published(row: dict) -> datetime | None:
    return parse_time(row.get("date_gmt")) or parse_time(row.get("date"))


def _embedded_author(row: dict) -> Author:
    """Name and login slug of a registered author, when the answer embeds them (``_embed=author``)."""
    embedded = (row.get("_embedded") or {}).get("author") or []
    first = embedded[0] if embedded and isinstance(embedded[0], dict) else {}
    return Author(name=html_to_text(str(first.get("name") or ""))[:200], handle=str(first.get("slug") or "")[:200])
