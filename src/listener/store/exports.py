"""Every mention with its routing and response fields, streamed in constant memory.

The rows come through a server-side cursor (PostgreSQL) or SQLite's lazy cursor, ``batch`` at a
time; a mention's routes arrive next to each other (ordered by mention id) and are folded into it
as they pass, so memory holds one batch whatever the size of the store. ``author`` answers a data
subject's access request: every mention whose author name or handle is theirs, ignoring case.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import groupby

from sqlalchemy import Connection, func, or_, select

from listener.store.tables import departments, mention_routes, mentions, sources

MENTION_COLUMNS = ("id", "source", "platform", "url", "author", "author_handle", "title", "text", "lang", "label",
                   "score", "question", "own", "published_at", "first_seen_at", "in_reply_to", "duplicate_of")
ROUTE_COLUMNS = ("department", "priority", "rule", "first_response_at", "response_s", "business_response_s", "due_at")


def _folded(conn: Connection, column):
    """Case-folded text: SQLite's own lower() knows only ASCII, so listener registers Python's casefold."""
    return func.casefold(column) if conn.dialect.name == "sqlite" else func.lower(column)


def stream(conn: Connection, since: datetime | None = None, author: str | None = None,
           batch: int = 1000) -> Iterator[dict]:
    """One dict per mention, oldest first, with ``routes``: a list of dicts of ROUTE_COLUMNS."""
    m, r = mentions.c, mention_routes.c
    q = (
        select(m.id, sources.c.name.label("source"), m.platform, m.url, m.author_name.label("author"),
               m.author_handle, m.title, m.text, m.lang, m.label, m.score, m.question, m.own, m.published_at,
               m.first_seen_at, m.in_reply_to, m.duplicate_of,
               departments.c.name.label("department"), r.priority, r.rule, r.first_response_at, r.response_s,
               r.business_response_s, r.due_at)
        .select_from(mentions.join(sources, sources.c.id == m.source_id)
                     .outerjoin(mention_routes, r.mention_id == m.id)
                     .outerjoin(departments, departments.c.id == r.department_id))
        .order_by(m.id, departments.c.name)
    )
    if since is not None:
        q = q.where(m.published_at >= since)
    if author:
        wanted = author.strip().casefold()
        handle = wanted.removeprefix("@")
        q = q.where(or_(_folded(conn, m.author_name) == wanted,
                        _folded(conn, m.author_handle).in_([handle, "@" + handle])))
    result = conn.execution_options(stream_results=True, yield_per=batch).execute(q)
    for _, rows in groupby(result, key=lambda row: row.id):
        rows = list(rows)
        first = rows[0]._mapping
        mention = {key: first[key] for key in MENTION_COLUMNS}
        mention["routes"] = [{key: row._mapping[key] for key in ROUTE_COLUMNS} for row in rows
                             if row.department is not None]
        yield mention
