"""What the web inbox reads and writes: one department's queue, one mention's page, and the small
acts people do there (assign, note, reopen).

The queue is three runs, each walked by keyset over ``ix_mention_routes_inbox`` so that a page
costs the same at the top and a million rows down: unanswered mentions with an SLA deadline
(soonest first, overdue ones at the top), unanswered ones without a deadline (newest first), then
answered ones (most recently answered first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, delete, exists, or_, select, tuple_, update

from listener.store.tables import (
    assignments,
    departments,
    human_labels,
    mention_routes,
    mention_tags,
    mentions,
    notes,
    outbox,
    responses,
    sources,
    users,
)

RUNS = ("due", "open", "answered")
"""The order of the queue's runs; a cursor names the run it is in."""


@dataclass(frozen=True, slots=True)
class InboxFilter:
    department_id: int
    label: str | None = None
    lang: str | None = None
    source: str | None = None
    platform: str | None = None
    campaign: str | None = None
    query: str | None = None
    assignee: str | None = None
    """A user's name, or "nobody" for mentions no one has taken."""
    since: datetime | None = None
    until: datetime | None = None
    search: str | None = None
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Cursor:
    run: str
    at: datetime | None
    mention_id: int

    def encode(self) -> str:
        return f"{self.run}~{self.at.astimezone(UTC).isoformat() if self.at else ''}~{self.mention_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Raises ValueError for anything that is not a cursor this module wrote."""
        run, at, mention_id = text.split("~")
        if run not in RUNS:
            raise ValueError(run)
        when = datetime.fromisoformat(at) if at else None
        if when is not None and when.tzinfo is None:
            raise ValueError(at)
        return cls(run, when, int(mention_id))


ROW_COLUMNS = (
    mention_routes.c.mention_id.label("id"),
    mention_routes.c.priority,
    mention_routes.c.due_at,
    mention_routes.c.first_response_at,
    mentions.c.published_at,
    mentions.c.author_name,
    mentions.c.author_handle,
    mentions.c.title,
    mentions.c.text,
    mentions.c.label,
    mentions.c.label_by,
    mentions.c.lang,
    mentions.c.platform,
    sources.c.name.label("source"),
    users.c.name.label("assignee"),
)


def _base(f: InboxFilter):
    q = (
        select(*ROW_COLUMNS)
        .select_from(
            mention_routes.join(mentions, mentions.c.id == mention_routes.c.mention_id)
            .join(sources, sources.c.id == mentions.c.source_id)
            .outerjoin(assignments, assignments.c.mention_id == mention_routes.c.mention_id)
            .outerjoin(users, users.c.id == assignments.c.user_id)
        )
        .where(mention_routes.c.department_id == f.department_id)
    )
    for column, value in ((mentions.c.label, f.label), (mentions.c.lang, f.lang),
                          (mentions.c.platform, f.platform), (sources.c.name, f.source)):
        if value:
            q = q.where(column == value)
    for kind, name in (("campaign", f.campaign), ("query", f.query)):
        if name:
            q = q.where(exists().where(mention_tags.c.mention_id == mention_routes.c.mention_id,
                                       mention_tags.c.kind == kind, mention_tags.c.name == name))
    if f.assignee == "nobody":
        q = q.where(assignments.c.user_id.is_(None))
    elif f.assignee:
        q = q.where(users.c.name == f.assignee)
    if f.since:
        q = q.where(mentions.c.published_at >= f.since)
    if f.until:
        q = q.where(mentions.c.published_at < f.until)
    if f.search:
        pattern = "%" + f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(or_(mentions.c.text.ilike(pattern, escape="\\"), mentions.c.title.ilike(pattern, escape="\\"),
                        mentions.c.author_name.ilike(pattern, escape="\\")))
    return q


def _run(q, run: str, after: Cursor | None):
    """One run of the queue, after the cursor. Row values, ``(a, b) > (x, y)``, let SQLite and
    PostgreSQL walk the index from the cursor; the equivalent OR of two conditions makes SQLite
    read the department's whole run instead."""
    due, answered, mid = mention_routes.c.due_at, mention_routes.c.first_response_at, mention_routes.c.mention_id
    if run == "due":
        q = q.where(answered.is_(None), due.is_not(None)).order_by(due, mid)
        if after:
            q = q.where(tuple_(due, mid) > tuple_(after.at, after.mention_id))
    elif run == "open":
        q = q.where(answered.is_(None), due.is_(None)).order_by(mid.desc())
        if after:
            q = q.where(mid < after.mention_id)
    else:
        q = q.where(answered.is_not(None)).order_by(answered.desc(), mid.desc())
        if after:
            q = q.where(tuple_(answered, mid) < tuple_(after.at, after.mention_id))
    return q


def page(conn: Connection, f: InboxFilter, cursor: Cursor | None = None) -> tuple[list, Cursor | None]:
    """One page of the queue after ``cursor``, and the cursor of the next page (None at the end)."""
    rows: list = []
    start = RUNS.index(cursor.run) if cursor else 0
    base = _base(f)
    for run in RUNS[start:]:
        after = cursor if cursor and cursor.run == run else None
        want = f.limit + 1 - len(rows)
        rows += [(run, r) for r in conn.execute(_run(base, run, after).limit(want))]
        if len(rows) > f.limit:
            break
    if len(rows) <= f.limit:
        return [r for _, r in rows], None
    run, last = rows[f.limit - 1]
    at = {"due": last.due_at, "open": None, "answered": last.first_response_at}[run]
    return [r for _, r in rows[: f.limit]], Cursor(run, at, last.id)


def newest_id(conn: Connection, department_id: int) -> int:
    """The newest mention routed to a department: the inbox asks for this to see if anything came."""
    from sqlalchemy import func

    return conn.execute(select(func.max(mention_routes.c.mention_id))
                        .where(mention_routes.c.department_id == department_id)).scalar() or 0


def department_names(conn: Connection) -> dict[str, int]:
    return {r.name: r.id for r in conn.execute(select(departments.c.name, departments.c.id).order_by(departments.c.name))}


def mention_departments(conn: Connection, mention_id: int) -> set[str]:
    return set(conn.execute(
        select(departments.c.name).join(mention_routes, mention_routes.c.department_id == departments.c.id)
        .where(mention_routes.c.mention_id == mention_id)).scalars())


@dataclass(frozen=True, slots=True)
class MentionPage:
    mention: object
    routes: list
    parent: object | None
    replies: list
    responses: list
    alerts: list
    notes: list
    labels: list
    assignee: str | None


def detail(conn: Connection, mention_id: int) -> MentionPage | None:
    m = conn.execute(select(mentions, sources.c.name.label("source")).join(sources, sources.c.id == mentions.c.source_id)
                     .where(mentions.c.id == mention_id)).first()
    if m is None:
        return None
    thread_columns = (mentions.c.id, mentions.c.author_name, mentions.c.author_handle, mentions.c.text,
                      mentions.c.title, mentions.c.published_at, mentions.c.own, mentions.c.label)
    parent = None
    if m.in_reply_to:
        parent = conn.execute(select(*thread_columns).where(mentions.c.source_id == m.source_id,
                                                            mentions.c.external_id == m.in_reply_to)).first()
    replies = conn.execute(select(*thread_columns).where(mentions.c.source_id == m.source_id,
                                                         mentions.c.in_reply_to == m.external_id)
                           .order_by(mentions.c.published_at, mentions.c.id).limit(200)).all()
    routes = conn.execute(
        select(departments.c.name.label("department"), mention_routes)
        .join(departments, departments.c.id == mention_routes.c.department_id)
        .where(mention_routes.c.mention_id == mention_id).order_by(departments.c.name)).all()
    return MentionPage(
        mention=m, routes=routes, parent=parent, replies=replies,
        responses=conn.execute(select(responses).where(responses.c.mention_id == mention_id)
                               .order_by(responses.c.responded_at)).all(),
        alerts=conn.execute(select(outbox.c.sink, outbox.c.kind, outbox.c.state, outbox.c.attempts, outbox.c.sent_at,
                                   outbox.c.created_at, outbox.c.last_error)
                            .where(outbox.c.mention_id == mention_id).order_by(outbox.c.id)).all(),
        notes=conn.execute(select(notes).where(notes.c.mention_id == mention_id).order_by(notes.c.id)).all(),
        labels=conn.execute(select(human_labels).where(human_labels.c.mention_id == mention_id)
                            .order_by(human_labels.c.id)).all(),
        assignee=conn.execute(select(users.c.name).join(assignments, assignments.c.user_id == users.c.id)
                              .where(assignments.c.mention_id == mention_id)).scalar(),
    )


def assign(conn: Connection, mention_id: int, user_id: int | None, by: str, now: datetime) -> None:
    """Give the mention to a user, or to nobody (``user_id`` None)."""
    conn.execute(delete(assignments).where(assignments.c.mention_id == mention_id))
    if user_id is not None:
        conn.execute(assignments.insert().values(mention_id=mention_id, user_id=user_id, assigned_by=by, assigned_at=now))


def add_note(conn: Connection, mention_id: int, by: str, text: str, now: datetime) -> None:
    conn.execute(notes.insert().values(mention_id=mention_id, by=by, text=text, created_at=now))


def reopen(conn: Connection, mention_id: int, by: str, now: datetime) -> None:
    """Back into the unanswered queue. The responses stay on record; the route's response figures
    are cleared, so the next response is counted as the first again."""
    conn.execute(update(mention_routes).where(mention_routes.c.mention_id == mention_id)
                 .values(first_response_at=None, response_s=None, business_response_s=None))
    add_note(conn, mention_id, by, "reopened", now)
