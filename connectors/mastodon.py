"""Mastodon: public hashtag timelines and (with a token) full-text search on one instance.

A status is stored under its ``uri``, the ActivityPub id that is the same on every instance,
rather than the instance's own numeric ``id``: the same status read through two instances (two
sources) then has one external id, which the store links with ``duplicate_of``, and a reply's
``in_reply_to`` (the parent's ``uri``) matches the parent wherever it was read. Mastodon gives a
reply only its parent's local id, so the parent's ``uri`` is looked up on the instance (at most
``MAX_LOOKUPS`` per poll; a parent that cannot be found is named by its address on the instance).
"""

from __future__ import annotations

from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from pydantic import Field, field_validator, model_validator

from listener.connector import PollContext, PollResult
from listener.connectors.common import (
    MAX_PAGES,
    Options,
    as_list,
    budget_left,
    credential,
    id_key,
    links,
    newest,
    parse_time,
    spent,
)
from listener.domain import Author, Item
from listener.http import FetchError, HttpStatusError
from listener.text import html_to_text

MAX_LOOKUPS = 20


class MastodonOptions(Options):
    hashtags: list[str] = Field(default=[], description="tags to follow on the public tag timelines (no token needed)")
    query: str | None = Field(default=None, description="full-text search of statuses; needs token_env")
    token_env: str | None = Field(default=None, description="environment variable holding an access token (read scope)")
    limit: int = Field(default=40, ge=1, le=40, description="statuses per request (Mastodon allows 40)")

    @field_validator("hashtags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        tags = [tag.strip().lstrip("#") for tag in value]
        if any(not tag or "/" in tag or " " in tag for tag in tags):
            raise ValueError('a hashtag is one word, such as "dramaten" (the # is optional)')
        return tags

    @model_validator(mode="after")
    def _something_to_watch(self) -> MastodonOptions:
        if not self.hashtags and not self.query:
            raise ValueError('give hashtags = ["tag"] or query = "words" (with token_env)')
        if self.query and not self.token_env:
            raise ValueError("search needs an access token: set token_env to the variable that holds it")
        return self


class MastodonConnector:
    kind: ClassVar[str] = "mastodon"
    description: ClassVar[str] = (
        "Follows hashtags on a Mastodon instance's public tag timelines, and searches statuses with "
        "a token. Replies keep their parent; a status seen on several instances is stored once."
    )
    example: ClassVar[str] = (
        '[[sources]]\nname = "mastodon-social"\nconnector = "mastodon"\nurl = "https://mastodon.social"\n'
        'hashtags = ["dramaten"]\n# query = "dramaten"\n# token_env = "MASTODON_TOKEN"'
    )
    needs_url: ClassVar[bool] = True
    default_url: ClassVar[str] = "https://mastodon.social"
    Options: ClassVar[type[MastodonOptions]] = MastodonOptions

    async def poll(self, ctx: PollContext, cursor: Any) -> PollResult:
        options: MastodonOptions = ctx.options
        cursor = dict(cursor) if isinstance(cursor, dict) else {}
        headers = {}
        if options.token_env:
            headers["Authorization"] = "Bearer " + credential(options.token_env, f"mastodon source {ctx.source}")
        base = ctx.url.rstrip("/")
        statuses: list[dict] = []
        for tag in options.hashtags:
            url = f"{base}/api/v1/timelines/tag/{quote(tag, safe='')}"
            if spent(ctx, url):
                break
            found, cursor[f"tag:{tag}"] = await _timeline(ctx, url, cursor.get(f"tag:{tag}"), options, headers)
            statuses += found
        if options.query and not spent(ctx, base):
            found, cursor["search"] = await _search(ctx, base, cursor.get("search"), options, headers)
            statuses += found
        parents = {} if spent(ctx, base) else await _parent_uris(ctx, base, statuses, headers, options.token_env)
        return PollResult(items=parse_statuses(statuses, base, parents), cursor=cursor)


async def _timeline(ctx: PollContext, url: str, since: str | None, options: MastodonOptions,
                    headers: dict) -> tuple[list[dict], str | None]:
    """Statuses newer than ``since``, oldest page first, following ``Link: rel="prev"`` (the
    newer page); without a cursor, only the newest page, so a new source does not backfill."""
    params: dict[str, Any] = {"limit": options.limit}
    if since:
        params["min_id"] = since
    found: list[dict] = []
    newest_id = since
    for _ in range(MAX_PAGES):
        fetched = await ctx.get(url, params=params, headers=headers, credential=options.token_env)
        page = as_list(fetched.json(), "statuses", fetched.url)
        found += page
        newest_id = newest([str(s.get("id")) for s in page if isinstance(s, dict) and s.get("id")], newest_id)
        newer = links(fetched.headers.get("link")).get("prev")
        if not since or not page or not newer or not budget_left(fetched):
            break
        url, params = newer, {}
    return found, newest_id


async def _search(ctx: PollContext, base: str, since: str | None, options: MastodonOptions,
                  headers: dict) -> tuple[list[dict], str | None]:
    params: dict[str, Any] = {"q": options.query, "type": "statuses", "limit": options.limit}
    if since:
        params["min_id"] = since
    found: list[dict] = []
    for page in range(MAX_PAGES):
        fetched = await ctx.get(f"{base}/api/v2/search", params={**params, "offset": page * options.limit},
                                headers=headers, credential=options.token_env)
        data = fetched.json()
        statuses = data.get("statuses") if isinstance(data, dict) else None
        statuses = as_list(statuses, "statuses", fetched.url)
        found += statuses
        if not since or len(statuses) < options.limit or not budget_left(fetched):
            break
    return found, newest([str(s.get("id")) for s in found if isinstance(s, dict) and s.get("id")], since)


async def _parent_uris(ctx: PollContext, base: str, statuses: list[dict], headers: dict,
                       credential_name: str | None) -> dict[str, str]:
    """The ``uri`` of each reply's parent, by the parent's local id: from this batch, else asked
    of the instance."""
    known = {str(s["id"]): s["uri"] for s in statuses if isinstance(s, dict) and s.get("id") and s.get("uri")}
    wanted = sorted({str(s["in_reply_to_id"]) for s in statuses if isinstance(s, dict) and s.get("in_reply_to_id")}
                    - set(known), key=id_key)
    for local_id in wanted[:MAX_LOOKUPS]:
        try:
            fetched = await ctx.get(f"{base}/api/v1/statuses/{quote(local_id, safe='')}", headers=headers,
                                    credential=credential_name)
            parent = fetched.json()
        except HttpStatusError as exc:
            if exc.status in (401, 403, 429) or exc.status >= 500:
                raise
            continue  # deleted or private: named by its address below
        except FetchError:
            continue
        if isinstance(parent, dict) and parent.get("uri"):
            known[local_id] = parent["uri"]
    return known


def parse_statuses(statuses: list[Any], instance_url: str, parents: dict[str, str] | None = None) -> list[Item]:
    """Items of Mastodon statuses (a timeline page, or ``statuses`` of a search). ``instance_url``
    is where they were read, which qualifies local accounts' handles; ``parents`` maps a parent's
    local id to its ``uri``."""
    parents = parents or {}
    instance_url = instance_url.rstrip("/")
    instance = _host(instance_url)
    items = []
    for status in statuses:
        if not isinstance(status, dict) or not status.get("uri"):
            continue
        if isinstance(status.get("reblog"), dict):
            continue  # a boost repeats another status, which is stored under its own uri when seen
        account = status.get("account") or {}
        acct = str(account.get("acct") or account.get("username") or "")
        if acct and "@" not in acct:
            acct = f"{acct}@{_host(account.get('url') or '') or instance}"
        parent = status.get("in_reply_to_id")
        text = html_to_text(status.get("content") or "")
        warning = html_to_text(status.get("spoiler_text") or "")
        items.append(Item(
            external_id=str(status["uri"])[:1000],
            url=str(status.get("url") or status["uri"])[:2000],
            title=warning[:1000],
            text=text,
            published_at=parse_time(status.get("created_at")),
            author=Author(name=html_to_text(account.get("display_name") or "") or acct.split("@")[0],
                          handle=f"@{acct}" if acct else ""),
            platform="mastodon",
            in_reply_to=(parents.get(str(parent)) or f"{instance_url}/api/v1/statuses/{parent}") if parent else None,
        ))
    return items


def _host(url: str) -> str:
    return urlsplit(url).netloc
