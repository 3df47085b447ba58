"""Recording how polls ended, several polls to a transaction.

A re-poll answered 304 costs the daemon little besides the UPDATE and commit that record it, so at
a thousand polls a second the commits are a good part of the work. The daemon queues here the polls
that brought nothing new and writes them together every ``FLUSH_EVERY``. Their sources stay leased
until then, so no instance polls them again meanwhile. A crash loses at most the queue: those
leases run out (or the instance takes them back when it restarts) and the sources are polled again
with the validators and cursor they had, which re-polling recovers. Polls that stored mentions
are recorded at once, as are failures.
"""

from __future__ import annotations

import asyncio
from operator import itemgetter
from typing import Any

from sqlalchemy import Engine

from listener.logs import get_logger
from listener.store import sources as source_store
from listener.store.engine import explain

FLUSH_EVERY = 0.2
"""Seconds a queued poll waits for others to share its transaction."""
FLUSH_LIMIT = 500
"""A queue this long is written at once."""
RETRY_EVERY = 1.0
"""Seconds between attempts while the database does not answer; the queue waits in memory."""


class Recorder:
    def __init__(self, engine: Engine, every: float = FLUSH_EVERY, limit: int = FLUSH_LIMIT,
                 owner: str | None = None):
        """``owner``: the instance whose leases the queued polls hold; a source another instance
        has leased since (after a long outage) is left to that instance's newer poll."""
        self.engine = engine
        self.owner = owner
        self.every = every
        self.limit = limit
        self._queued: dict[int, dict[str, Any]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._failing = False
        self.log = get_logger()

    def add(self, poll: dict[str, Any]) -> None:
        """Queue one poll's ``source_store.success``; a later poll of the same source replaces it."""
        self._queued[poll["b_id"]] = poll
        if len(self._queued) >= self.limit and not self._failing:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.every, self.flush)

    @property
    def failing(self) -> bool:
        """The last write did not reach the database; the queue waits for the next one."""
        return self._failing

    def pending(self) -> list[int]:
        """Ids of the sources whose last poll is queued: their leases are still in use."""
        return list(self._queued)

    def flush(self) -> bool:
        """Write the queue in one transaction (in the order of the sources' ids, so that two
        instances never wait on each other's rows); False if the database did not take it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._queued:
            return True
        polls = sorted(self._queued.values(), key=itemgetter("b_id"))
        try:
            with self.engine.begin() as conn:
                source_store.record_successes(conn, polls, self.owner)
        except Exception as exc:  # the database is away: keep the queue and try again
            if not self._failing:
                self.log.error("poll.record_failed", sources=len(polls), error=explain(exc))
            self._failing = True
            self._retry()
            return False
        self._queued.clear()
        if self._failing:
            self.log.info("poll.recorded", sources=len(polls))
            self._failing = False
        return True

    def _retry(self) -> None:
        try:
            self._timer = asyncio.get_running_loop().call_later(RETRY_EVERY, self.flush)
        except RuntimeError:  # no loop: flushed by hand at shutdown
            self._timer = None
