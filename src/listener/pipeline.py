"""The way of one batch of items, from what a connector returned to committed rows.

Each stage is a plain function over plain data; only ``store`` touches the database, and it
writes the whole batch in one transaction, so a batch is stored entirely or not at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from sqlalchemy import Connection, Engine

from listener import metrics, responses
from listener.classify import classify as classify_text
from listener.classify.learned import LearnedModel
from listener.cpu import CpuPool, load_shipped
from listener.domain import Item, Label, Mention
from listener.responses import OwnAccounts
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


Checkpoint = Callable[[Connection, int], None]
"""Called with the batch's own transaction and its count of new mentions: a stream's cursor is
stored with the items it covers."""


def process(engine: Engine, source: SourceRef, items: Sequence[Item], now: datetime,
            router: Router | None = None, model: LearnedModel | None = None, *,
            checkpoint: Checkpoint | None = None, own: OwnAccounts | None = None) -> BatchResult:
    """The whole way in the caller's thread."""
    batch = unseen(engine, source, items, now, own)
    classified = apply(batch, classify_batch(classify_input(batch, source.lang), model))
    return finish(engine, source, len(items), classified, router or Router(), now, checkpoint)


async def process_off_loop(engine: Engine, source: SourceRef, items: Sequence[Item], now: datetime,
                           router: Router, cpu: CpuPool, model: LearnedModel | None = None, *,
                           checkpoint: Checkpoint | None = None, own: OwnAccounts | None = None) -> BatchResult:
    """The same way, with classification off the event loop: only what is new crosses to the CPU
    pool. The installation's learned model changes when people label, after the workers were
    forked, so it reaches them as a file (once per model); without workers a thread classifies."""
    batch = unseen(engine, source, items, now, own)
    inputs = classify_input(batch, source.lang)
    shipped = await cpu.ship(model, LearnedModel.to_bytes) if model is not None and inputs else None
    if model is None:
        verdicts = await cpu.map_batches(classify_batch, inputs)
    elif shipped is not None:
        verdicts = await cpu.map_batches(partial(classify_shipped, path=shipped), inputs)
    else:
        verdicts = await asyncio.to_thread(classify_batch, inputs, model)
    return finish(engine, source, len(items), apply(batch, verdicts), router, now, checkpoint)


def unseen(engine: Engine, source: SourceRef, items: Sequence[Item], now: datetime,
           own: OwnAccounts | None = None) -> list[Mention]:
    """The items the store does not have yet, as mentions, the organisation's own marked."""
    batch = normalise(items, source.name, now)
    with engine.connect() as conn:
        known = mention_store.known(conn, source.id, [m.external_id for m in batch])
    batch = dedupe(batch, known)
    return own.mark(batch) if own else batch


def finish(engine: Engine, source: SourceRef, seen: int, batch: Sequence[Mention], router: Router,
           now: datetime, checkpoint: Checkpoint | None = None) -> BatchResult:
    routed = route(batch, router, source.require_match)
    new, alerts = store(engine, source.id, routed, router, now, checkpoint)
    metrics.stored(new.values())
    return BatchResult(seen=seen, new_ids=list(new), alerts=alerts)


def preview(engine: Engine, source: SourceRef, items: Sequence[Item], now: datetime,
            router: Router, model: LearnedModel | None = None) -> list[tuple[Mention, bool]]:
    """What ``process`` would store, stored nowhere: each mention classified and routed, and whether
    the store lacks it (new). For `listener sources test`; the store is only read."""
    batch = dedupe(normalise(items, source.name, now))
    with engine.connect() as conn:
        known = mention_store.known(conn, source.id, [m.external_id for m in batch])
    batch = route(classify(batch, source.lang, model), router, source.require_match)
    return [(m, m.external_id not in known) for m in batch]


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


def classify(batch: Sequence[Mention], lang: str | None = None, model: LearnedModel | None = None) -> list[Mention]:
    """Language, label, score and question for each mention. ``lang`` is the source's language,
    used when a text is too short to tell its own (a row of emoji); ``model`` the installation's
    learned model, if it has one."""
    return apply(batch, classify_batch(classify_input(batch, lang), model))


def classify_input(batch: Sequence[Mention], lang: str | None) -> list[tuple[str, str | None]]:
    """The body carries the opinion; a title alone (a video, a link) is used when there is no body."""
    return [(m.text or m.title, lang) for m in batch]


def classify_batch(texts: list[tuple[str, str | None]], model: LearnedModel | None = None) -> list[Verdict]:
    """(text, the source's language or None) → (lang, label, score, question), for each text.
    Plain data in and out, so the CPU pool can run it in another process."""
    out = []
    for text, lang in texts:
        result = classify_text(text, default_lang=lang, model=model)
        out.append((result.lang, result.label.value, result.score, result.question))
    return out


def classify_shipped(texts: list[tuple[str, str | None]], path: str) -> list[Verdict]:
    """``classify_batch`` in a worker, with the learned model the daemon shipped to ``path``."""
    return classify_batch(texts, load_shipped(path, LearnedModel.from_bytes))


def apply(batch: Sequence[Mention], verdicts: Sequence[Verdict]) -> list[Mention]:
    return [
        replace(m, lang=lang, label=Label(label), score=score, question=question)
        for m, (lang, label, score, question) in zip(batch, verdicts, strict=True)
    ]


def classification(title: str, text: str, lang: str | None = None, model: LearnedModel | None = None) -> dict:
    """One text's verdict as mention fields (for reclassifying stored mentions)."""
    ((lang, label, score, question),) = classify_batch([(text or title, lang)], model)
    return {"lang": lang, "label": Label(label), "score": score, "question": question}


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
          now: datetime | None = None, checkpoint: Checkpoint | None = None) -> tuple[dict[int, Mention], int]:
    """One transaction: the new mentions, their tags and routes, their alerts in the outbox and the
    responses they are or receive, so no alert is written for a mention that is not stored, nor
    lost for one that is. A copy of words already stored through another source is linked to the
    first (``duplicate_of``) and not alerted again."""
    with engine.begin() as conn:
        new = mention_store.insert(conn, source_id, batch)
        alerts = 0
        if router and new and now:
            copies = mention_store.copies(conn, list(new))
            alerts = routing_store.write_routes(conn, new, router, now, copies)
            hours = {name: department.hours for name, department in router.departments.items()}
            responses.detect(conn, source_id, new, responses.measure_for(hours), now)
        if checkpoint is not None:
            checkpoint(conn, len(new))
    return new, alerts
