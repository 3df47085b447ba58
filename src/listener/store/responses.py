"""Responses, the response times they give each route, and the escalations of those still waiting.

Every response is kept; the earliest one per mention is *the* response, and its time is copied onto
each of the mention's routes with the wall-clock and open-hours seconds since publication, so
reports read one row per (mention, department) without recomputing business hours in SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, func, or_, select, update

from listener.store.tables import (
    departments,
    mention_routes,
    mentions,
    meta,
    outbox,
    responses,
)

Measure = Callable[[str, datetime, datetime], timedelta]
"""(department, start, end) → the open time between them in that department's hours."""


@dataclass(frozen=True, slots=True)
class Response:
    id: int
    mention_id: int | None
    responded_at: datetime
    by: str
    via: str
    url: str
    note: str


def add(conn: Connection, *, mention_id: int | None, at: datetime, by: str, via: str, now: datetime,
        url: str = "", note: str = "", source_id: int | None = None, reply_to: str | None = None,
        reply_mention_id: int | None = None) -> int:
    return conn.execute(responses.insert().values(
        mention_id=mention_id, responded_at=at, by=by[:200], via=via, url=url, note=note, source_id=source_id,
        reply_to=reply_to, reply_mention_id=reply_mention_id, created_at=now,
    ).returning(responses.c.id)).scalar_one()


def lock_mention(conn: Connection, mention_id: int) -> bool:
    """Take the write lock on one mention (a row lock on PostgreSQL, the database's on SQLite) so
    two clicks of the same link at once record one response; False if there is no such mention."""
    return conn.execute(update(mentions).where(mentions.c.id == mention_id).values(id=mentions.c.id)).rowcount == 1


def first(conn: Connection, mention_id: int) -> Response | None:
    row = conn.execute(
        select(responses).where(responses.c.mention_id == mention_id)
        .order_by(responses.c.responded_at, responses.c.id).limit(1)
    ).first()
    return _response(row) if row else None


def of_mention(conn: Connection, mention_id: int) -> list[Response]:
    rows = conn.execute(select(responses).where(responses.c.mention_id == mention_id)
                        .order_by(responses.c.responded_at, responses.c.id))
    return [_response(r) for r in rows]


def _response(row) -> Response:
    return Response(row.id, row.mention_id, row.responded_at, row.by, row.via, row.url, row.note)


def fill_routes(conn: Connection, mention_id: int, at: datetime, measure: Measure) -> int:
    """Make ``at`` the first response of each route of the mention that has none, or a later one.

    The clock starts at publication, or at first sight when that was earlier (a feed that gave no
    date, or a wrong clock at the site). Returns the number of routes changed."""
    row = conn.execute(select(mentions.c.published_at, mentions.c.first_seen_at)
                       .where(mentions.c.id == mention_id)).first()
    if row is None:
        return 0
    start = min(row.published_at, row.first_seen_at)
    routes = conn.execute(
        select(mention_routes.c.department_id, departments.c.name)
        .join(departments, departments.c.id == mention_routes.c.department_id)
        .where(mention_routes.c.mention_id == mention_id,
               or_(mention_routes.c.first_response_at.is_(None), mention_routes.c.first_response_at > at))
    ).all()
    for route in routes:
        conn.execute(
            update(mention_routes)
            .where(mention_routes.c.mention_id == mention_id, mention_routes.c.department_id == route.department_id)
            .values(first_response_at=at, response_s=max((at - start).total_seconds(), 0.0),
                    business_response_s=measure(route.name, start, at).total_seconds() if at > start else 0.0)
        )
    return len(routes)


def target(conn: Connection, source_id: int, platform: str, external_id: str) -> int | None:
    """The stored mention (not our own) with this external id: in the same source, else on the same platform."""
    q = (select(mentions.c.id).where(mentions.c.external_id == external_id, mentions.c.own.is_(False),
                                     or_(mentions.c.source_id == source_id, mentions.c.platform == platform))
         .order_by((mentions.c.source_id != source_id), mentions.c.id).limit(1))
    return conn.execute(q).scalar()


def unanswered_siblings(conn: Connection, source_id: int, in_reply_to: str, until: datetime) -> list[int]:
    """Comments (not our own) of one flat thread published by ``until`` that have no response yet."""
    answered = select(responses.c.id).where(responses.c.mention_id == mentions.c.id).exists()
    q = select(mentions.c.id).where(
        mentions.c.source_id == source_id, mentions.c.in_reply_to == in_reply_to, mentions.c.own.is_(False),
        mentions.c.published_at <= until, ~answered,
    )
    return list(conn.execute(q.order_by(mentions.c.id)).scalars())


@dataclass(frozen=True, slots=True)
class Waiting:
    id: int
    reply_to: str
    source_id: int | None
    platform: str
    responded_at: datetime


_REPLY = mentions.alias("reply")
"""Made once: a new alias per call costs SQLAlchemy ~1 ms of building its columns each time."""


def waiting(conn: Connection, external_ids: Sequence[str]) -> list[Waiting]:
    """Replies seen before the mention they answer (mention_id null), for any of these ids."""
    if not external_ids:
        return []
    reply = _REPLY
    rows = conn.execute(
        select(responses.c.id, responses.c.reply_to, responses.c.source_id, reply.c.platform, responses.c.responded_at)
        .join(reply, reply.c.id == responses.c.reply_mention_id)
        .where(responses.c.mention_id.is_(None), responses.c.reply_to.in_(list(set(external_ids))))
    )
    return [Waiting(*r) for r in rows]


def claim(conn: Connection, response_ids: Sequence[int], mention_id: int) -> None:
    conn.execute(update(responses).where(responses.c.id.in_(list(response_ids))).values(mention_id=mention_id))


def own_in_threads(conn: Connection, source_id: int, threads: Sequence[str]) -> list:
    """Our own comments in these flat threads of one source, earliest first."""
    if not threads:
        return []
    return conn.execute(
        select(mentions.c.id, mentions.c.in_reply_to, mentions.c.published_at, mentions.c.url,
               mentions.c.author_name, mentions.c.author_handle)
        .where(mentions.c.source_id == source_id, mentions.c.in_reply_to.in_(list(set(threads))),
               mentions.c.own.is_(True))
        .order_by(mentions.c.published_at, mentions.c.id)
    ).all()


# ── escalation ────────────────────────────────────────────────────────────────────────────────

FIRST_STARTED = "first_started_at"


def first_started_at(conn: Connection, now: datetime) -> datetime:
    """When the daemon first started on this database; recorded the first time it is asked."""
    value = conn.execute(select(meta.c.value).where(meta.c.key == FIRST_STARTED)).scalar()
    if value is None:
        conn.execute(meta.insert().values(key=FIRST_STARTED, value=now.isoformat()))
        return now
    return datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Overdue:
    mention_id: int
    department_id: int
    department: str
    rule: str


def overdue(conn: Connection, now: datetime, since: datetime, limit: int = 500) -> list[Overdue]:
    """Routes past their escalation time, unanswered, not yet escalated, of mentions published since ``since``."""
    answered = select(responses.c.id).where(responses.c.mention_id == mention_routes.c.mention_id).exists()
    q = (
        select(mention_routes.c.mention_id, mention_routes.c.department_id, departments.c.name, mention_routes.c.rule)
        .join(departments, departments.c.id == mention_routes.c.department_id)
        .join(mentions, mentions.c.id == mention_routes.c.mention_id)
        .where(mention_routes.c.escalate_at <= now, mention_routes.c.escalated_at.is_(None),
               mention_routes.c.first_response_at.is_(None), mentions.c.published_at >= since, ~answered)
        .order_by(mention_routes.c.escalate_at).limit(limit)
    )
    return [Overdue(r.mention_id, r.department_id, r.name, r.rule) for r in conn.execute(q)]


def escalate(conn: Connection, item: Overdue, sinks: Sequence[str], now: datetime) -> bool:
    """Mark the route escalated and queue its escalation alerts, in the caller's transaction.

    The UPDATE only succeeds for the instance that finds ``escalated_at`` still empty, so two
    daemons on one database never both raise the same escalation."""
    won = conn.execute(
        update(mention_routes)
        .where(and_(mention_routes.c.mention_id == item.mention_id, mention_routes.c.department_id == item.department_id,
                    mention_routes.c.escalated_at.is_(None)))
        .values(escalated_at=now)
    ).rowcount == 1
    if won and sinks:
        conn.execute(outbox.insert(), [{
            "delivery_id": uuid.uuid4().hex, "mention_id": item.mention_id, "department_id": item.department_id,
            "sink": sink, "priority": "high", "rule": item.rule, "digest": False, "state": "pending",
            "attempts": 0, "next_attempt_at": now, "created_at": now, "kind": "escalation",
        } for sink in sinks])
    return won


def summaries(conn: Connection, mention_ids: Sequence[int]) -> dict[int, dict]:
    """Per mention: its departments, its first response (time, who, how) and each department's
    response times, for listings."""
    out: dict[int, dict] = {i: {"departments": [], "first_response_at": None, "response_time_s": None,
                                "business_response_time_s": {}, "response_by": None, "response_via": None}
                            for i in mention_ids}
    if not out:
        return out
    routes = conn.execute(
        select(mention_routes.c.mention_id, departments.c.name, mention_routes.c.response_s,
               mention_routes.c.business_response_s)
        .join(departments, departments.c.id == mention_routes.c.department_id)
        .where(mention_routes.c.mention_id.in_(list(out))).order_by(departments.c.name)
    )
    for r in routes:
        entry = out[r.mention_id]
        entry["departments"].append(r.name)
        if r.business_response_s is not None:
            entry["business_response_time_s"][r.name] = r.business_response_s
    ranked = (
        select(responses.c.mention_id, responses.c.responded_at, responses.c.by, responses.c.via,
               func.row_number().over(partition_by=responses.c.mention_id,
                                      order_by=(responses.c.responded_at, responses.c.id)).label("n"))
        .where(responses.c.mention_id.in_(list(out))).subquery()
    )
    firsts = conn.execute(
        select(ranked, mentions.c.published_at, mentions.c.first_seen_at)
        .join(mentions, mentions.c.id == ranked.c.mention_id).where(ranked.c.n == 1)
    )
    for r in firsts:
        start = min(r.published_at, r.first_seen_at)
        out[r.mention_id].update(first_response_at=r.responded_at, response_by=r.by, response_via=r.via,
                                 response_time_s=max((r.responded_at - start).total_seconds(), 0.0))
    return out
