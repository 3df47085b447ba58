"""Deleting personal data: retention of old mentions and erasure of one person's.

Mentions are personal data of private people, so an installation keeps them for a set time
(``[store] keep``) and forgets a person on request. Everything hanging off a mention (routes,
tags, outbox rows, responses, human labels) goes with it through the foreign keys' cascades, which
SQLite triggers repeat for clients that leave ``PRAGMA foreign_keys`` off. What reports need for
baselines outlives retention as anonymous counts in ``daily_figures``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from listener.store import histogram
from listener.store.tables import (
    daily_figures,
    daily_histograms,
    departments,
    mention_routes,
    mentions,
    responses,
    sources,
)

BATCH = 2000


def prune(engine: Engine, before: datetime) -> int:
    """Delete mentions published before ``before``, a batch per transaction, after adding their
    figures to ``daily_figures``. Returns how many were deleted."""
    total = 0
    while True:
        with engine.begin() as conn:
            ids = conn.execute(
                select(mentions.c.id).where(mentions.c.published_at < before).order_by(mentions.c.id).limit(BATCH)
            ).scalars().all()
            if not ids:
                return total
            add_figures(conn, figures(conn, ids))
            conn.execute(delete(mentions).where(mentions.c.id.in_(ids)))
        total += len(ids)


@dataclass(slots=True)
class Figures:
    mentions: int = 0
    answered: int = 0
    response_s_sum: float = 0.0
    response_s_count: int = 0
    business_response_s_sum: float = 0.0
    business_response_s_count: int = 0
    questions: int = 0
    sla_met: int = 0
    sla_missed: int = 0
    distinct_mentions: int = 0
    distinct_answered: int = 0
    distinct_questions: int = 0
    spread: Counter = field(default_factory=Counter)
    """(figure, bucket) → how many values: daily_histograms' rows for this key."""

    def spread_of(self, figure: str, value: float | None) -> None:
        if value is not None:
            self.spread[figure, histogram.bucket(value)] += 1


COUNTED = tuple(f.name for f in fields(Figures) if f.name != "spread")

Key = tuple  # (day, source, platform, lang, label, department)


def figures(conn: Connection, ids: list[int]) -> dict[Key, Figures]:
    """The counts of these mentions per day × source × platform × lang × label × department: once
    per department a mention was routed to, under department "" when it was routed nowhere, and
    once in all (``distinct_*``, on its first route's row) as the reports count them: answered when
    a route has a first response. A route with a deadline and no response counts as missed: its
    mention is gone, so a report made after the deadline would say so. Own mentions (the
    organisation speaking) are left out, as reports leave them out."""
    answered_directly = exists().where(responses.c.mention_id == mentions.c.id)
    rows = conn.execute(
        select(mentions.c.id, mentions.c.published_at, sources.c.name, mentions.c.platform, mentions.c.lang,
               mentions.c.label, mentions.c.question, mentions.c.detection_lag_s,
               departments.c.name.label("department"),
               mention_routes.c.first_response_at, mention_routes.c.due_at,
               mention_routes.c.response_s, mention_routes.c.business_response_s,
               answered_directly.label("has_response"))
        .join(sources, sources.c.id == mentions.c.source_id)
        .outerjoin(mention_routes, mention_routes.c.mention_id == mentions.c.id)
        .outerjoin(departments, departments.c.id == mention_routes.c.department_id)
        .where(mentions.c.id.in_(ids), mentions.c.own.is_(False))
    ).all()
    per_mention: dict[int, list] = defaultdict(list)
    for r in rows:
        per_mention[r.id].append(r)
    out: dict[Key, Figures] = defaultdict(Figures)
    for routes in per_mention.values():
        for n, r in enumerate(routes):
            key = (r.published_at.date(), r.name, r.platform, r.lang or "", r.label or "", r.department or "")
            f = out[key]
            f.mentions += 1
            f.questions += bool(r.question)
            routed = r.department is not None
            f.answered += bool(r.first_response_at is not None if routed else r.has_response)
            if r.due_at is not None:
                if r.first_response_at is not None and r.first_response_at <= r.due_at:
                    f.sla_met += 1
                else:
                    f.sla_missed += 1
            if r.response_s is not None:
                f.response_s_sum += r.response_s
                f.response_s_count += 1
            if r.business_response_s is not None:
                f.business_response_s_sum += r.business_response_s
                f.business_response_s_count += 1
            f.spread_of("response_s", r.response_s)
            f.spread_of("business_response_s", r.business_response_s)
            f.spread_of("detection_lag_s", r.detection_lag_s)
            if n == 0:
                f.spread_of("mention_detection_lag_s", r.detection_lag_s)
                f.distinct_mentions += 1
                f.distinct_questions += bool(r.question)
                f.distinct_answered += any(x.first_response_at is not None for x in routes)
    return out


def add_figures(conn: Connection, by_key: dict[Key, Figures]) -> None:
    """Add to the stored figures (a day pruned in two runs sums up)."""
    if not by_key:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    rows = [
        {"day": k[0], "source": k[1], "platform": k[2], "lang": k[3], "label": k[4], "department": k[5],
         **{c: getattr(f, c) for c in COUNTED}}
        for k, f in by_key.items()
    ]
    statement = dialect.insert(daily_figures)
    statement = statement.on_conflict_do_update(  # a NULL (pruned before 0010) stays unknown
        index_elements=["day", "source", "platform", "lang", "label", "department"],
        set_={c: daily_figures.c[c] + statement.excluded[c] for c in COUNTED},
    )
    conn.execute(statement, rows)
    spread = [
        {"day": k[0], "source": k[1], "platform": k[2], "lang": k[3], "label": k[4], "department": k[5],
         "figure": figure, "bucket": bucket, "count": n}
        for k, f in by_key.items() for (figure, bucket), n in f.spread.items()
    ]
    if spread:
        statement = dialect.insert(daily_histograms)
        conn.execute(statement.on_conflict_do_update(
            index_elements=["day", "source", "platform", "lang", "label", "department", "figure", "bucket"],
            set_={"count": daily_histograms.c.count + statement.excluded.count}), spread)


def forget(engine: Engine, author: str | None = None, mention_id: int | None = None) -> list[int]:
    """Erase the mentions written by ``author`` (matched exactly on name or handle) or the one
    mention ``mention_id``, with everything hanging off them. Returns the erased ids. Nothing is
    counted in ``daily_figures``: an erased mention leaves no trace."""
    if (author is None) == (mention_id is None):
        raise ValueError("name an author or a mention, not both")
    if author is not None:
        who = author.strip()
        if not who:
            raise ValueError("the author's name is empty")
        where = or_(mentions.c.author_name == who, mentions.c.author_handle == who)
    else:
        where = mentions.c.id == mention_id
    with engine.begin() as conn:
        ids = conn.execute(select(mentions.c.id).where(where).order_by(mentions.c.id)).scalars().all()
        for start in range(0, len(ids), BATCH):
            conn.execute(delete(mentions).where(mentions.c.id.in_(ids[start:start + BATCH])))
    return list(ids)
