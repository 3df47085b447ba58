"""Departments, the routes and tags stored with each mention, and the alert outbox."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, and_, case, func, or_, select, update

from listener.domain import Author, Label, Mention, Priority, Route
from listener.routing import Router
from listener.store.mentions import report_facts
from listener.store.tables import (
    departments,
    mention_routes,
    mention_tags,
    mentions,
    outbox,
    sources,
)


def sync_departments(conn: Connection, router: Router) -> dict[str, int]:
    """Make the departments table match the config; returns name → id."""
    existing = {row.name: row for row in conn.execute(select(departments))}
    for name, department in router.departments.items():
        if name in existing:
            conn.execute(update(departments).where(departments.c.id == existing[name].id)
                         .values(digest=department.digest, in_config=True))
        else:
            conn.execute(departments.insert().values(name=name, digest=department.digest, in_config=True))
    gone = [row.id for name, row in existing.items() if name not in router.departments]
    if gone:
        conn.execute(update(departments).where(departments.c.id.in_(gone)).values(in_config=False))
    return department_ids(conn)


def department_ids(conn: Connection) -> dict[str, int]:
    return {row.name: row.id for row in conn.execute(select(departments.c.name, departments.c.id))}


def write_routes(conn: Connection, new: dict[int, Mention], router: Router, now: datetime,
                 copies: frozenset[int] | set[int] = frozenset()) -> int:
    """The routes, tags and outbox rows of freshly inserted mentions, in the caller's transaction.

    ``copies`` are mentions whose words arrived earlier through another source (``duplicate_of``):
    they are routed and tagged like any other, but not alerted again.
    Returns the number of outbox rows written (alerts to send now or in a digest)."""
    ids = department_ids(conn)
    missing = {r.department for m in new.values() for r in m.routes} - set(ids)
    if missing:
        for name in missing:
            conn.execute(departments.insert().values(name=name, in_config=False))
        ids = department_ids(conn)
    routes, tags, alerts = [], [], []
    for mention_id, mention in new.items():
        tags += [{"mention_id": mention_id, "kind": "query", "name": q} for q in mention.queries]
        tags += [{"mention_id": mention_id, "kind": "campaign", "name": c} for c in mention.campaigns]
        start = min(mention.published_at, mention.first_seen_at)
        facts = report_facts(mention)  # given here, the trigger that would copy them has nothing to do
        for route in mention.routes:
            department_id = ids[route.department]
            due_at, escalate_at = router.department(route.department).deadlines(start)
            routes.append({"mention_id": mention_id, "department_id": department_id,
                           "priority": route.priority.value, "rule": route.rule,
                           "due_at": due_at, "escalate_at": escalate_at, **facts})
            for sink, digest in () if mention_id in copies else router.deliveries(route):
                alerts.append({
                    "delivery_id": uuid.uuid4().hex, "mention_id": mention_id, "department_id": department_id,
                    "sink": sink, "priority": route.priority.value, "rule": route.rule, "digest": digest,
                    "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now,
                })
    for table, rows in ((mention_routes, routes), (mention_tags, tags), (outbox, alerts)):
        if rows:
            conn.execute(table.insert(), rows)
    return len(alerts)


@dataclass(frozen=True, slots=True)
class Pending:
    """An outbox row with everything a sink needs to render it."""

    id: int
    delivery_id: str
    sink: str
    department: str
    priority: str
    rule: str
    attempts: int
    mention: dict
    kind: str = "alert"
    """``alert``, or ``escalation``: the mention is still unanswered past its department's escalation time."""
    answered_url: str | None = None
    """The signed "answered" link, added just before sending (none without a secret)."""
    notice: str = ""
    """For an escalation: how long it has waited against the SLA, added just before sending."""
    created_at: datetime | None = None


_PRIORITY_ORDER = case({"high": 0, "normal": 1, "low": 2}, value=outbox.c.priority, else_=3)
_MENTION_COLUMNS = (
    mentions.c.url, mentions.c.title, mentions.c.text,
    mentions.c.author_name, mentions.c.author_handle, mentions.c.platform, mentions.c.lang, mentions.c.label,
    mentions.c.score, mentions.c.question, mentions.c.published_at, mentions.c.in_reply_to,
    mentions.c.first_seen_at, sources.c.name.label("source"),
)


def _pending_query():
    return (
        select(outbox, departments.c.name.label("department"), *_MENTION_COLUMNS)
        .join(mentions, mentions.c.id == outbox.c.mention_id)
        .join(sources, sources.c.id == mentions.c.source_id)
        .join(departments, departments.c.id == outbox.c.department_id)
    )


def _pending(row) -> Pending:
    m = row._mapping
    mention = {
        "id": m["mention_id"], "url": m["url"], "title": m["title"], "text": m["text"],
        "author": m["author_name"], "author_handle": m["author_handle"], "source": m["source"],
        "platform": m["platform"], "lang": m["lang"], "label": m["label"], "score": m["score"],
        "question": m["question"], "published_at": m["published_at"], "in_reply_to": m["in_reply_to"],
        "first_seen_at": m["first_seen_at"],
    }
    return Pending(m["id"], m["delivery_id"], m["sink"], m["department"], m["priority"], m["rule"], m["attempts"], mention,
                   m["kind"], created_at=m["created_at"])


def claim_due(conn: Connection, now: datetime, limit: int, lease: timedelta,
              owner: str | None = None) -> list[Pending]:
    """Lease due immediate alerts, high priority first, oldest first within a priority."""
    due = (
        select(outbox.c.id)
        .where(_claimable(now), outbox.c.digest.is_(False))
        .order_by(_PRIORITY_ORDER, outbox.c.created_at, outbox.c.id)
        .limit(limit)
    )
    return _lease(conn, due, now, lease, (_PRIORITY_ORDER, outbox.c.created_at, outbox.c.id), owner)


def claim_digest(conn: Connection, department: str, now: datetime, lease: timedelta,
                 owner: str | None = None) -> list[Pending]:
    """Lease every due digest alert of one department."""
    due = (
        select(outbox.c.id)
        .join(departments, departments.c.id == outbox.c.department_id)
        .where(_claimable(now), outbox.c.digest.is_(True), departments.c.name == department)
    )
    return _lease(conn, due, now, lease, (_PRIORITY_ORDER, mentions.c.published_at), owner)


def _claimable(now: datetime):
    return and_(outbox.c.state == "pending", outbox.c.next_attempt_at <= now,
                or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now))


def _lease(conn: Connection, due, now: datetime, lease: timedelta, order, owner: str | None) -> list[Pending]:
    """Lease the rows ``due`` selects (skipping those another instance holds) and load them."""
    ids = conn.execute(due.with_for_update(skip_locked=True)).scalars().all()
    if not ids:
        return []
    conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(lease_until=now + lease, lease_owner=owner))
    return [_pending(row) for row in conn.execute(_pending_query().where(outbox.c.id.in_(ids)).order_by(*order))]


def mark_sent(conn: Connection, ids: Iterable[int], now: datetime) -> None:
    conn.execute(update(outbox).where(outbox.c.id.in_(list(ids)))
                 .values(state="sent", sent_at=now, lease_until=None, lease_owner=None,
                         attempts=outbox.c.attempts + 1))


def mark_failed(conn: Connection, ids: Iterable[int], now: datetime, error: str, retry_at: datetime,
                max_attempts: int) -> None:
    """One more failed try; past ``max_attempts`` the row becomes a dead letter."""
    ids = list(ids)
    conn.execute(
        update(outbox).where(outbox.c.id.in_(ids)).values(
            attempts=outbox.c.attempts + 1,
            last_error=error[:2000],
            next_attempt_at=retry_at,
            lease_until=None,
            lease_owner=None,
            state=case((outbox.c.attempts + 1 >= max_attempts, "dead"), else_="pending"),
        )
    )


def release(conn: Connection, ids: Iterable[int]) -> None:
    conn.execute(update(outbox).where(outbox.c.id.in_(list(ids))).values(lease_until=None, lease_owner=None))


def listing(conn: Connection, state: str | None, limit: int = 200) -> list[dict]:
    q = (
        select(outbox.c.id, outbox.c.delivery_id, outbox.c.state, outbox.c.priority, outbox.c.sink,
               departments.c.name.label("department"), outbox.c.rule, outbox.c.digest, outbox.c.attempts,
               outbox.c.next_attempt_at, outbox.c.last_error, outbox.c.created_at, outbox.c.sent_at,
               outbox.c.mention_id, outbox.c.kind, mentions.c.title)
        .join(departments, departments.c.id == outbox.c.department_id)
        .join(mentions, mentions.c.id == outbox.c.mention_id)
        .order_by(outbox.c.id.desc())
        .limit(limit)
    )
    if state:
        q = q.where(outbox.c.state == state)
    return [dict(r._mapping) for r in conn.execute(q)]


def retry(conn: Connection, now: datetime, ids: list[int] | None = None) -> int:
    """Dead letters (the given ones, or all) become pending again, due now, with a fresh count."""
    q = update(outbox).where(outbox.c.state == "dead")
    if ids is not None:
        q = q.where(outbox.c.id.in_(ids))
    return conn.execute(q.values(state="pending", attempts=0, next_attempt_at=now, lease_until=None,
                                lease_owner=None)).rowcount


def counts(conn: Connection) -> dict[str, int]:
    return dict(conn.execute(select(outbox.c.state, func.count()).group_by(outbox.c.state)).all())



@dataclass(frozen=True, slots=True)
class StoredMention:
    id: int
    mention: Mention
    routes: tuple[Route, ...]
    """The routes stored when the mention arrived."""


def load_mentions(conn: Connection, since: datetime | None = None, ids: list[int] | None = None,
                  limit: int = 100_000) -> list[StoredMention]:
    """Stored mentions as the pipeline saw them (campaign tags included), with their stored routes."""
    q = select(mentions, sources.c.name.label("source_name")).join(sources, sources.c.id == mentions.c.source_id)
    if since is not None:
        q = q.where(mentions.c.published_at >= since)
    if ids is not None:
        q = q.where(mentions.c.id.in_(ids))
    rows = conn.execute(q.order_by(mentions.c.id).limit(limit)).all()
    if not rows:
        return []
    wanted = [r.id for r in rows]
    routes: dict[int, list[Route]] = {}
    for r in conn.execute(
        select(mention_routes.c.mention_id, departments.c.name, mention_routes.c.priority, mention_routes.c.rule)
        .join(departments, departments.c.id == mention_routes.c.department_id)
        .where(mention_routes.c.mention_id.in_(wanted))
    ):
        routes.setdefault(r.mention_id, []).append(Route(r.name, Priority(r.priority), r.rule))
    tags: dict[int, dict[str, list[str]]] = {}
    for r in conn.execute(select(mention_tags).where(mention_tags.c.mention_id.in_(wanted))):
        tags.setdefault(r.mention_id, {}).setdefault(r.kind, []).append(r.name)
    out = []
    for r in rows:
        m = Mention(
            source=r.source_name, external_id=r.external_id, platform=r.platform, url=r.url,
            author=Author(r.author_name, r.author_handle), title=r.title, text=r.text,
            published_at=r.published_at, first_seen_at=r.first_seen_at, content_hash=r.content_hash,
            in_reply_to=r.in_reply_to, lang=r.lang, label=Label(r.label) if r.label else None, score=r.score,
            question=r.question, queries=tuple(tags.get(r.id, {}).get("query", ())),
            campaigns=tuple(tags.get(r.id, {}).get("campaign", ())),
        )
        out.append(StoredMention(r.id, m, tuple(routes.get(r.id, ()))))
    return out
