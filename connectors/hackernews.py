"""Hacker News: stories and comments matching a query, through the Algolia search API.

``search_by_date`` returns the newest hits first and at most 1,000 per query however they are
paged. The poll therefore reads the time since the cursor in slices: a slice holding more than
1,000 hits is halved until each fits, and slices are read oldest first, so the cursor (the end
of the last slice read whole) never skips a hit even when a poll stops early.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from listener.connector import PollContext, PollResult
from listener.connectors.common import Options, budget_left, parse_time
from listener.domain import Author, Item
from listener.http import FetchError, HttpStatusError
from listener.text import html_to_text

HIT_CAP = 1000
MAX_REQUESTS = 50
INDEX_LAG = 60
"""Seconds a new item may take to reach the index; a slice ends this far before now."""
ITEM = "https://news.ycombinator.com/item?id={}"


class HackerNewsOptions(Options):
    query: str = Field(description="words to search stories and comments for", min_length=1)
    tags: str = Field(default="(story,comment)", description="Algolia tags filter: story, comment, or both")
    hits_per_page: int = Field(default=100, ge=1, le=1000, description="hits per request")


class HackerNewsConnector:
    kind: ClassVar[str] = "hackernews"
    description: ClassVar[str] = (
        "Searches Hacker News stories and comments (Algolia search_by_date, newer than the cursor), "
        "slicing by time past the 1,000-hit cap; comments keep their parent."
    )
    example: ClassVar[str] = '[[sources]]\nname = "hn"\nconnector = "hackernews"\nquery = "dramaten"'
    needs_url: ClassVar[bool] = True
    default_url: ClassVar[str] = "https://hn.algolia.com/api/v1"
    Options: ClassVar[type[HackerNewsOptions]] = HackerNewsOptions

    async def poll(self, ctx: PollContext, cursor: Any) -> PollResult:
        options: HackerNewsOptions = ctx.options
        url = ctx.url.rstrip("/") + "/search_by_date"
        since = cursor if isinstance(cursor, int) and not isinstance(cursor, bool) else None
        if since is None:
            data, _ = await _page(ctx, url, options, None, None, 0)
            hits = _hits(data, url)
            stamps = [h["created_at_i"] for h in hits if isinstance(h.get("created_at_i"), int)]
            return PollResult(items=parse_hits(hits), cursor=max(stamps, default=None))
        try:
            items, cursor = await _read_since(ctx, url, options, since)
        except HttpStatusError as exc:
            if exc.status != 400:
                raise
            ctx.log.warning("cursor.rejected", cursor=since, error=str(exc))
            return PollResult(items=[], cursor=None)  # the next poll starts afresh from the newest page
        return PollResult(items=items, cursor=cursor)


async def _read_since(ctx: PollContext, url: str, options: HackerNewsOptions, since: int) -> tuple[list[Item], int]:
    """Every hit after ``since``, in time slices of at most HIT_CAP hits, oldest slice first."""
    upper = int(ctx.now().timestamp()) - INDEX_LAG
    windows = [(since, upper)] if upper > since else []
    items: list[Item] = []
    requests = 0
    done = since
    while windows and requests < MAX_REQUESTS:
        low, high = windows[0]
        data, fetched = await _page(ctx, url, options, low, high, 0)
        requests += 1
        total = data.get("nbHits") if isinstance(data.get("nbHits"), int) else 0
        if total > HIT_CAP and high - low > 1:
            middle = (low + high) // 2
            windows[:1] = [(low, middle), (middle, high)]
            continue
        found = _hits(data, url)
        pages = min(data.get("nbPages") or 1, -(-HIT_CAP // options.hits_per_page))
        page = 1
        while page < pages and requests < MAX_REQUESTS and budget_left(fetched):
            data, fetched = await _page(ctx, url, options, low, high, page)
            requests += 1
            found += _hits(data, url)
            page += 1
        if page < pages:
            break  # this slice is unfinished: the cursor stays before it
        items += parse_hits(found)
        done = high
        windows.pop(0)
        if not budget_left(fetched):
            break
    return items, done


async def _page(ctx: PollContext, url: str, options: HackerNewsOptions, low: int | None, high: int | None,
                page: int) -> tuple[dict, Any]:
    filters = []
    if low is not None:
        filters.append(f"created_at_i>{low}")
    if high is not None:
        filters.append(f"created_at_i<={high}")
    params: dict[str, Any] = {"query": options.query, "tags": options.tags, "hitsPerPage": options.hits_per_page,
                              "page": page}
    if filters:
        params["numericFilters"] = ",".join(filters)
    fetched = await ctx.get(url, params=params)
    data = fetched.json()
    if not isinstance(data, dict):
        raise FetchError(f"unexpected answer from {fetched.url}: expected a search result")
    return data, fetched


def _hits(data: dict, url: str) -> list[dict]:
    hits = data.get("hits")
    if not isinstance(hits, list):
        raise FetchError(f"unexpected answer from {url}: no hits")
    return [h for h in hits if isinstance(h, dict)]


def parse_hits(hits: list[Any]) -> list[Item]:
    """Items of Algolia hits: a story's title and text, a comment's text with its parent."""
    items = []
    for hit in hits:
        if not isinstance(hit, dict) or not hit.get("objectID"):
            continue
        tags = hit.get("_tags") or []
        is_comment = "comment" in tags or bool(hit.get("comment_text"))
        parent = hit.get("parent_id") if is_comment else None
        author = str(hit.get("author") or "")
        items.append(Item(
            external_id=str(hit["objectID"])[:1000],
            url=ITEM.format(hit["objectID"]),
            title=html_to_text(str((hit.get("story_title") if is_comment else hit.get("title")) or ""))[:1000],
            text=html_to_text(str((hit.get("comment_text") if is_comment else hit.get("story_text")) or "")),
            published_at=parse_time(hit.get("created_at_i")) or parse_time(hit.get("created_at")),
            author=Author(name=author[:200], handle=author[:200]),
            platform="hackernews",
            in_reply_to=str(parent) if parent else None,
        ))
    return items
