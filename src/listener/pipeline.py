"""The way of one batch of items, from what a connector returned to committed rows.

Each stage is a plain function over plain data; only ``store`` touches the database, and it
writes the whole batch in one transaction, so a batch is stored entirely or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Engine

from listener.classify import classify as classify_text
from listener.cpu import CpuPool
from listener.domain import Item, Label, Mention
from listener.routing import Router, mention_text
from listener.store import mentions as mention_store
from listener.store import routing as routing_store
from listener.text import content_hash

Verdict = tuple[str, str, float, bool]
"""What the classifier says of one text: language, label, score, question."""


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
            router: Router | None = None) -> BatchResult:
    """The whole way in the caller's thread."""
    batch = unseen(engine, source, items, now)
    classified = apply(batch, classify_batch(classify_input(batch, source.lang)))
    return finish(engine, source, len(items), classified, router or Router(), now)


async def process_off_loop(engine: Engine, source: SourceRef, items: Sequence[Item], now: datetime,
                           router: Router, cpu: CpuPool) -> BatchResult:
    """The same way, with classification in the CPU pool: only what is new crosses to it."""
    batch = unseen(engine, source, items, now)
    verdicts = await cpu.map_batches(classify_batch, classify_input(batch, source.lang))
    return finish(engine, source, len(items), apply(batch, verdicts), router, now)


def unseen(engine: Engine, source: SourceRef, items: Sequence[Item], now: datetime) -> list[Mention]:
    batch = normalise(items, source.name, now)
    with engine.connect() as conn:
        known = mention_store.known(conn, source.id, [m.external_id for m in batch])
    return dedupe(batch, known)


def finish(engine: Engine, source: SourceRef, seen: int, batch: Sequence[Mention], router: Router,
           now: datetime) -> BatchResult:
    routed = route(batch, router, source.require_match)
    new, alerts = store(engine, source.id, routed, router, now)
    return BatchResult(seen=seen, new_ids=list(new), alerts=alerts)


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
    return apply(batch, classify_batch(classify_input(batch, lang)))


def classify_input(batch: Sequence[Mention], lang: str | None) -> list[tuple[str, str | None]]:
    """The body carries the opinion; a title alone (a video, a link) is used when there is no body."""
    return [(m.text or m.title, lang) for m in batch]


def classify_batch(texts: list[tuple[str, str | None]]) -> list[Verdict]:
    """(text, the source's language or None) → (lang, label, score, question), for each text.
    Plain data in and out, so the CPU pool can run it in another process."""
    out = []
    for text, lang in texts:
        result = classify_text(text, default_lang=lang)
        out.append((result.lang, result.label.value, result.score, result.question))
    return out


def apply(batch: Sequence[Mention], verdicts: Sequence[Verdict]) -> list[Mention]:
    return [
        replace(m, lang=lang, label=Label(label), score=score, question=question)
        for m, (lang, label, score, question) in zip(batch, verdicts, strict=True)
    ]


def classification(title: str, text: str, lang: str | None = None) -> dict:
    """One text's verdict as mention fields (for reclassifying stored mentions)."""
    ((lang, label, score, question),) = classify_batch([(text or title, lang)])
    return {"lang": lang, "label": Label(label), "score": score, "question": question}


def route(batch: Sequence[Mention], router: Router, require_match: bool = False) -> list[Mention]:
    """Tag each mention with the tracked queries and campaigns it matches, then send it to its
    departments. A source that requires a match keeps only mentions matching a tracked query."""
    out = []
    for mention in batch:
        text = mention_text(mention) if router.reads_text else None
        queries, campaigns = router.tag(mention, text)
        if require_match and not queries:
            continue
        tagged = replace(mention, queries=queries, campaigns=campaigns)
        out.append(replace(tagged, routes=router.route(tagged, text)))
    return out


def store(engine: Engine, source_id: int, batch: Sequence[Mention], router: Router | None = None,
          now: datetime | None = None) -> tuple[dict[int, Mention], int]:
    """One transaction: the new mentions, their tags and routes, and their alerts in the outbox,
    so no alert is written for a mention that is not stored, nor lost for one that is."""
    with engine.begin() as conn:
        new = mention_store.insert(conn, source_id, batch)
        alerts = routing_store.write_routes(conn, new, router, now) if router and new and now else 0
    return new, alerts
