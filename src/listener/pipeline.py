"""The way of one batch of items, from what a connector returned to committed rows.

Each stage is a plain function over plain data; only ``store`` touches the database, and it
writes the whole batch in one transaction, so a batch is stored entirely or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Engine

from listener import responses
from listener.classify import classify as classify_text
from listener.domain import Item, Mention
from listener.responses import OwnAccounts
from listener.routing import Router, mention_text
from listener.store import mentions as mention_store
from listener.store import routing as routing_store
from listener.text import content_hash


@dataclass(frozen=True, slots=True)
class BatchResult:
    seen: int
    new_ids: list[int]
    alerts: int = 0

    @property
    def new(self) -> int:
        return len(self.new_ids)


@dataclass(frozen=True, slots=True)
class SourceRef:
    """What the pipeline needs to know about the source a batch came from."""

    id: int
    name: str
    lang: str | None = None
    require_match: bool = False


def process(engine: Engine, source: SourceRef, items: Sequence[Item], now: datetime,
            router: Router | None = None, own: OwnAccounts | None = None) -> BatchResult:
    router = router or Router()
    batch = normalise(items, source.name, now)
    with engine.connect() as conn:
        known = mention_store.known(conn, source.id, [m.external_id for m in batch])
    batch = dedupe(batch, known)
    if own:
        batch = own.mark(batch)
    batch = classify(batch, source.lang)
    batch = route(batch, router, source.require_match)
    new, alerts = store(engine, source.id, batch, router, now)
    return BatchResult(seen=len(items), new_ids=list(new), alerts=alerts)


def normalise(items: Sequence[Item], source: str, now: datetime) -> list[Mention]:
    """Items as mentions: attributed to their source, with a publication time even when the feed
    gave none (the time we first saw it) and never one in the future (a wrong clock at the site
    must not float a mention to the top of every report)."""
    return [
        Mention(
            source=source,
            external_id=item.external_id,
            platform=item.platform,
            url=item.url,
            author=item.author,
            title=item.title,
            text=item.text,
            published_at=min(item.published_at or now, now),
            first_seen_at=now,
            content_hash=content_hash(item.title, item.text),
            in_reply_to=item.in_reply_to,
        )
        for item in items
    ]


def dedupe(batch: Sequence[Mention], known: set[str] | frozenset[str] = frozenset()) -> list[Mention]:
    """The first of each external id in the batch that the store does not have yet: a feed
    repeats its last 10-50 entries at every poll, and they need no classifying again."""
    seen: set[str] = set(known)
    out = []
    for mention in batch:
        if mention.external_id not in seen:
            seen.add(mention.external_id)
            out.append(mention)
    return out


def classify(batch: Sequence[Mention], lang: str | None = None) -> list[Mention]:
    """Language, label, score and question for each mention. ``lang`` is the source's language,
    used when a text is too short to tell its own (a row of emoji)."""
    return [replace(m, **classification(m.title, m.text, lang)) for m in batch]


def classification(title: str, text: str, lang: str | None = None) -> dict:
    """The body carries the opinion; a title alone (a video, a link) is used when there is no body."""
    result = classify_text(text or title, default_lang=lang)
    return {"lang": result.lang, "label": result.label, "score": result.score, "question": result.question}


def route(batch: Sequence[Mention], router: Router, require_match: bool = False) -> list[Mention]:
    """Tag each mention with the tracked queries and campaigns it matches, then send it to its
    departments. A source that requires a match keeps only mentions matching a tracked query.
    The organisation's own mentions are kept but go to no department: nobody answers them."""
    out = []
    for mention in batch:
        text = mention_text(mention) if router.reads_text else None
        queries, campaigns = router.tag(mention, text)
        if require_match and not queries:
            continue
        tagged = replace(mention, queries=queries, campaigns=campaigns)
        out.append(replace(tagged, routes=() if mention.own else router.route(tagged, text)))
    return out


def store(engine: Engine, source_id: int, batch: Sequence[Mention], router: Router | None = None,
          now: datetime | None = None) -> tuple[dict[int, Mention], int]:
    """One transaction: the new mentions, their tags and routes, their alerts in the outbox and the
    responses they are or receive, so no alert is written for a mention that is not stored, nor
    lost for one that is."""
    with engine.begin() as conn:
        new = mention_store.insert(conn, source_id, batch)
        alerts = routing_store.write_routes(conn, new, router, now) if router and new and now else 0
        if new and now and (router is not None):
            hours = {name: department.hours for name, department in router.departments.items()}
            responses.detect(conn, source_id, new, responses.measure_for(hours), now)
    return new, alerts
