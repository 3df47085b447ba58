"""Who holds what: the instance id, taking back a dead instance's leases, and once-only job runs.

Several `listener run` processes on one PostgreSQL share sources and alerts through row leases
(``lease_until`` and ``lease_owner`` on ``sources`` and ``outbox``). A lease runs out by itself when
its holder dies; a holder that restarts knows its own id and takes its leases back at once.
Scheduled jobs (digests, retention) run once across instances through a ``job_runs`` row per run.
"""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, delete, insert, select, text, update

from listener.clock import Clock, utcnow
from listener.store.tables import job_runs, outbox, sources

ENV_VAR = "LISTENER_INSTANCE"
JOB_LEASE = timedelta(hours=1)
SETUP_LOCK_KEY = 0x6C6973746E31


def instance_id(config_path: Path | str) -> str:
    """Stable across restarts: the host and the config file (or ``$LISTENER_INSTANCE``). Two
    instances on one host therefore need two config files, or the variable set apart."""
    named = os.environ.get(ENV_VAR, "").strip()
    if named:
        return named[:64]
    where = f"{socket.gethostname()}:{Path(config_path).resolve()}"
    return f"{socket.gethostname()[:40]}-{hashlib.sha256(where.encode()).hexdigest()[:12]}"


def take_back(conn: Connection, owner: str, busy: Iterable[int] = (), alerts: bool = True) -> tuple[int, int]:
    """Free the leases this instance holds but no longer works on: at start, those of its
    previous life (its sources are due again at once, its alerts resent with the same delivery
    ids, instead of waiting for the leases to run out); after the database was away, those of
    polls that could not record their end. ``busy`` sources are being polled and keep theirs;
    digest alerts are never freed here, as a digest may be on its way. Returns (sources, alerts)."""
    busy = list(busy)
    query = update(sources).where(sources.c.lease_owner == owner)
    if busy:
        query = query.where(sources.c.id.not_in(busy))
    freed_sources = conn.execute(query.values(lease_until=None, lease_owner=None)).rowcount
    freed_alerts = 0
    if alerts:
        freed_alerts = conn.execute(
            update(outbox).where(outbox.c.lease_owner == owner, outbox.c.state == "pending",
                                 outbox.c.digest.is_(False))
            .values(lease_until=None, lease_owner=None)
        ).rowcount
    return freed_sources, freed_alerts


def exclusive(conn: Connection) -> None:
    """Make the caller's transaction the only one of its kind across instances until it ends:
    instances starting together each write the config's sources and departments into the tables,
    and two inserting the same new name at once would collide."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SETUP_LOCK_KEY})
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # SQLite: take the write lock now, not at the first write


@contextmanager
def run_once(engine: Engine, job: str, slot: str, owner: str, clock: Clock = utcnow,
             lease: timedelta = JOB_LEASE) -> Iterator[bool]:
    """Yields True to the one caller that gets to run ``job`` for ``slot`` (say "digest:sales",
    "2026-11-23T08:00"), False to every other. A run that raises gives its slot back, so it can be
    tried again; one whose instance died may be taken over after ``lease``."""
    with engine.begin() as conn:
        claimed = _claim(conn, job, slot, owner, clock(), lease)
    if not claimed:
        yield False
        return
    try:
        yield True
    except BaseException:
        with engine.begin() as conn:
            conn.execute(delete(job_runs).where(job_runs.c.job == job, job_runs.c.slot == slot,
                                                job_runs.c.owner == owner))
        raise
    with engine.begin() as conn:
        conn.execute(update(job_runs).where(job_runs.c.job == job, job_runs.c.slot == slot)
                     .values(finished_at=clock()))


def _claim(conn: Connection, job: str, slot: str, owner: str, now: datetime, lease: timedelta) -> bool:
    row = {"job": job, "slot": slot, "owner": owner, "started_at": now, "lease_until": now + lease}
    existing = conn.execute(
        select(job_runs.c.owner).where(job_runs.c.job == job, job_runs.c.slot == slot)
    ).first()
    if existing is None:
        inserted = conn.execute(_insert_ignore(conn).values(**row).returning(job_runs.c.job)).first()
        return inserted is not None
    taken = conn.execute(
        update(job_runs)
        .where(job_runs.c.job == job, job_runs.c.slot == slot, job_runs.c.finished_at.is_(None),
               job_runs.c.lease_until < now)
        .values(owner=owner, started_at=now, lease_until=now + lease)
    ).rowcount
    return taken == 1


def _insert_ignore(conn: Connection):
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(job_runs).on_conflict_do_nothing()
    return insert(job_runs).prefix_with("OR IGNORE")
