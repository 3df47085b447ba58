"""Polling state on the sources table: which sources exist, which are due, how each poll ended."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, or_, select, update

from listener.config import Source
from listener.store.tables import sources


@dataclass(frozen=True, slots=True)
class SourceState:
    id: int
    name: str
    connector: str
    url: str
    enabled: bool
    in_config: bool
    interval: timedelta
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None
    cursor: Any
    failures: int
    last_error: str | None
    last_error_at: datetime | None
    last_success_at: datetime | None
    last_new_at: datetime | None
    first_new_at: datetime | None
    polls_with_new: int
    silent: bool

    @classmethod
    def from_row(cls, row) -> SourceState:
        m = row._mapping
        return cls(
            id=m["id"], name=m["name"], connector=m["connector"], url=m["url"], enabled=m["enabled"],
            in_config=m["in_config"], interval=timedelta(seconds=m["interval_s"]),
            next_poll_at=m["next_poll_at"], etag=m["etag"], last_modified=m["last_modified"],
            cursor=m["cursor"], failures=m["failures"], last_error=m["last_error"],
            last_error_at=m["last_error_at"], last_success_at=m["last_success_at"],
            last_new_at=m["last_new_at"], first_new_at=m["first_new_at"],
            polls_with_new=m["polls_with_new"], silent=m["silent"],
        )


def sync(conn: Connection, configured: Iterable[Source], now: datetime) -> None:
    """Make the table match config.toml without losing any source's history.

    New sources are due at once; a changed URL or connector resets the conditional-GET validators
    and the cursor, since they belonged to the old address; a source gone from the config keeps its
    row and its mentions but is no longer polled.
    """
    existing = {row.name: row for row in conn.execute(select(sources))}
    names = set()
    for source in configured:
        names.add(source.name)
        values = {
            "connector": source.connector,
            "url": source.url,
            "enabled": source.enabled,
            "in_config": True,
            "interval_s": source.interval.total_seconds(),
        }
        row = existing.get(source.name)
        if row is None:
            conn.execute(sources.insert().values(
                name=source.name, next_poll_at=now, created_at=now, failures=0, polls_with_new=0,
                silent=False, **values,
            ))
            continue
        if (row.url, row.connector) != (source.url, source.connector):
            values |= {"etag": None, "last_modified": None, "cursor": None, "next_poll_at": now}
        conn.execute(update(sources).where(sources.c.id == row.id).values(**values))
    gone = [row.id for name, row in existing.items() if name not in names and row.in_config]
    if gone:
        conn.execute(update(sources).where(sources.c.id.in_(gone)).values(in_config=False))


def all_states(conn: Connection) -> list[SourceState]:
    return [SourceState.from_row(r) for r in conn.execute(select(sources).order_by(sources.c.name))]


def get_state(conn: Connection, name: str) -> SourceState | None:
    row = conn.execute(select(sources).where(sources.c.name == name)).first()
    return SourceState.from_row(row) if row else None


def claim_due(conn: Connection, now: datetime, limit: int, lease: timedelta,
              names: Iterable[str] | None = None, exclude: Iterable[str] = (),
              owner: str | None = None) -> list[SourceState]:
    """Lease up to ``limit`` due sources so no other instance polls them at the same time.

    On PostgreSQL, ``FOR UPDATE SKIP LOCKED`` lets several instances share the work; the lease
    expires on its own if the instance that took it dies mid-poll, and ``owner`` (the instance id)
    lets that instance take it back at once when it restarts.
    """
    query = (
        select(sources)
        .where(
            sources.c.enabled,
            sources.c.in_config,
            or_(sources.c.lease_until.is_(None), sources.c.lease_until < now),
        )
        .order_by(sources.c.next_poll_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    exclude = list(exclude)
    if exclude:
        query = query.where(sources.c.name.not_in(exclude))
    if names is None:
        query = query.where(sources.c.next_poll_at <= now)
    else:
        query = query.where(sources.c.name.in_(list(names)))
    states = [SourceState.from_row(r) for r in conn.execute(query)]
    if states:
        conn.execute(
            update(sources).where(sources.c.id.in_([s.id for s in states])).values(lease_until=now + lease, lease_owner=owner)
        )
    return states


def release(conn: Connection, ids: list[int]) -> None:
    """Give back leases of polls that were cancelled, so the sources are due again at once."""
    conn.execute(update(sources).where(sources.c.id.in_(ids)).values(lease_until=None, lease_owner=None))


_SUCCESS_VALUES = {
    "failures": 0,
    "last_success_at": bindparam("b_now"),
    "next_poll_at": bindparam("b_next"),
    "etag": bindparam("b_etag"),
    "last_modified": bindparam("b_last_modified"),
    "cursor": bindparam("b_cursor", type_=sources.c.cursor.type),
    "silent": bindparam("b_silent"),
    "lease_until": None,
    "lease_owner": None,
}
_SUCCESS = update(sources).where(sources.c.id == bindparam("b_id")).values(**_SUCCESS_VALUES)
_SUCCESS_OWNED = _SUCCESS.where(sources.c.lease_owner == bindparam("b_owner"))
_SUCCESS_WITH_NEW = update(sources).where(sources.c.id == bindparam("b_id")).values(
    **_SUCCESS_VALUES, last_new_at=bindparam("b_now"), polls_with_new=sources.c.polls_with_new + 1,
    first_new_at=func.coalesce(sources.c.first_new_at, bindparam("b_first", type_=sources.c.first_new_at.type)),
)
"""Built once: a re-poll answered 304 costs little more than this one statement, so building it
anew each time would be a good part of the cost."""


def success(state: SourceState, *, now: datetime, next_poll_at: datetime, etag: str | None,
            last_modified: str | None, cursor: Any, silent: bool) -> dict[str, Any]:
    """The parameters that record one successful poll, for ``record_success`` or, several at once,
    ``record_successes``."""
    return {
        "b_id": state.id, "b_now": now, "b_next": next_poll_at, "b_etag": etag, "b_last_modified": last_modified,
        "b_cursor": cursor, "b_silent": silent, "b_first": now,
    }


def record_success(conn: Connection, state: SourceState, *, now: datetime, next_poll_at: datetime,
                   etag: str | None, last_modified: str | None, cursor: Any, new: int,
                   silent: bool) -> None:
    conn.execute(_SUCCESS_WITH_NEW if new else _SUCCESS, success(
        state, now=now, next_poll_at=next_poll_at, etag=etag, last_modified=last_modified, cursor=cursor,
        silent=silent,
    ))


def record_successes(conn: Connection, polls: list[dict[str, Any]], owner: str | None = None) -> None:
    """Several polls that brought nothing new (``success`` of each), in one statement; with ``owner``,
    only where that instance still holds the lease."""
    if owner is None:
        conn.execute(_SUCCESS, polls)
    else:
        conn.execute(_SUCCESS_OWNED, [{**poll, "b_owner": owner} for poll in polls])


def record_failure(conn: Connection, state: SourceState, *, now: datetime, next_poll_at: datetime,
                   error: str) -> None:
    conn.execute(
        update(sources)
        .where(sources.c.id == state.id)
        .values(
            failures=sources.c.failures + 1,
            last_error=error[:2000],
            last_error_at=now,
            next_poll_at=next_poll_at,
            lease_until=None,
            lease_owner=None,
        )
    )


def renew_lease(conn: Connection, source_id: int, until: datetime, silent: bool) -> None:
    """A quiet stream's lease, and whether it has been quiet for longer than usual."""
    conn.execute(update(sources).where(sources.c.id == source_id).values(lease_until=until, silent=silent))


def save_cursor(conn: Connection, source_id: int, cursor: Any) -> None:
    conn.execute(update(sources).where(sources.c.id == source_id).values(cursor=cursor))


def save_checkpoint(conn: Connection, state: SourceState, *, now: datetime, cursor: Any, new: int,
                    lease_until: datetime | None, silent: bool = False) -> None:
    """A stream's progress: its cursor, and that it works. Written in the transaction of the items
    the cursor covers (pipeline ``checkpoint``), so a restart neither skips nor repeats them."""
    values: dict[str, Any] = {
        "cursor": cursor, "failures": 0, "last_success_at": now, "next_poll_at": now, "lease_until": lease_until,
        "silent": silent,
    }
    if new:
        values |= {"last_new_at": now, "polls_with_new": sources.c.polls_with_new + 1,
                   "first_new_at": func.coalesce(sources.c.first_new_at, now)}
    conn.execute(update(sources).where(sources.c.id == state.id).values(**values))


def stream_failed(conn: Connection, state: SourceState, *, now: datetime, error: str, retry_at: datetime,
                  lease_until: datetime | None) -> None:
    """A stream that could not connect: shown as failing, still leased by the supervisor retrying it."""
    conn.execute(
        update(sources)
        .where(sources.c.id == state.id)
        .values(failures=sources.c.failures + 1, last_error=error[:2000], last_error_at=now,
                next_poll_at=retry_at, lease_until=lease_until)
    )


def state_word(row) -> str:
    """One word for a source's state, for `listener sources`, /readyz and the metrics: removed,
    disabled, failing, silent (nothing new for much longer than usual), ok, or new (never polled)."""
    if not getattr(row, "in_config", True):
        return "removed"
    if not row.enabled:
        return "disabled"
    if row.failures:
        return "failing"
    if row.silent:
        return "silent"
    return "ok" if row.last_success_at else "new"
