"""Figures about the daemon's work that live in the database: the outbox, failing and silent sources,
and mentions past their department's SLA with no response.

They are read at the moment someone asks (a Prometheus scrape, /readyz, systemd's status line), so
every instance on one PostgreSQL reports the same values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, text

from listener.store.sources import state_word
from listener.store.tables import departments, mention_routes, outbox, sources


@dataclass(frozen=True, slots=True)
class OutboxFigures:
    pending: int
    dead: int
    oldest_pending_s: float
    """Age of the oldest immediate alert still waiting (0 when none); digest alerts wait on purpose."""


@dataclass(frozen=True, slots=True)
class SourceSummary:
    name: str
    state: str  # ok | failing | silent | disabled | new
    failures: int
    last_success_at: datetime | None
    next_poll_at: datetime | None


def ping(conn: Connection) -> None:
    conn.execute(text("select 1"))


def outbox_figures(conn: Connection, now: datetime) -> OutboxFigures:
    states = dict(conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state)).all())
    oldest = conn.execute(
        select(func.min(outbox.c.created_at)).where(outbox.c.state == "pending", outbox.c.digest.is_(False))
    ).scalar_one()
    age = max((now - oldest).total_seconds(), 0.0) if oldest is not None else 0.0
    return OutboxFigures(states.get("pending", 0), states.get("dead", 0), age)


def source_summaries(conn: Connection) -> list[SourceSummary]:
    rows = conn.execute(
        select(sources.c.name, sources.c.enabled, sources.c.failures, sources.c.silent,
               sources.c.last_success_at, sources.c.next_poll_at)
        .where(sources.c.in_config)
        .order_by(sources.c.name)
    )
    return [SourceSummary(r.name, state_word(r), r.failures, r.last_success_at, r.next_poll_at if r.enabled else None)
            for r in rows]


def unanswered_past_sla(conn: Connection, now: datetime) -> dict[str, int]:
    """Per department in the config: routed mentions whose SLA deadline has passed with no response."""
    rows = conn.execute(
        select(departments.c.name, func.count(mention_routes.c.mention_id))
        .select_from(departments)
        .outerjoin(mention_routes, (mention_routes.c.department_id == departments.c.id)
                   & (mention_routes.c.due_at < now) & mention_routes.c.first_response_at.is_(None))
        .where(departments.c.in_config)
        .group_by(departments.c.name)
    )
    return {name: count for name, count in rows}
