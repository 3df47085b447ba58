"""Polling on a schedule: which source is due, one poll of it, and what its outcome means for the next.

The policy (next poll time, backoff, silence) is pure functions of the source's stored state, so the
daemon, `listener poll` and the tests share it. APScheduler drives a tick that claims due sources
from the database into a bounded pool of concurrent polls; the state lives in the database, so a
restart loses nothing and several instances on PostgreSQL share the work.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from listener import pipeline
from listener.alerts.worker import Deliverer
from listener.clock import Clock, utcnow
from listener.config import Config, SchedulerConfig
from listener.connector import PollContext, registry
from listener.cpu import INLINE, CpuPool
from listener.http import HttpClient, RetryLater, Validators
from listener.logs import get_logger
from listener.retry import exponential, honour_retry_after, jittered
from listener.routing import Router
from listener.store import leases, retention
from listener.store import sources as source_store
from listener.store.engine import explain
from listener.text import describe

SHUTDOWN_GRACE = 8.0
RETENTION_HOUR, RETENTION_MINUTE = 3, 17
"""Retention runs daily at this time of [alerts] timezone: a quiet hour."""
MIN_SILENCE = timedelta(days=1)
MAX_RETRY_AFTER = timedelta(days=1)


def backoff(failures: int, interval: timedelta, cap: timedelta) -> timedelta:
    """Delay before retry number ``failures``: a quarter interval (at least 30 s), doubling each
    time, never more than the cap (or the interval itself, if that is longer). A source is never
    abandoned: a dead feed that comes back is picked up within one cap."""
    return exponential(max(interval / 4, timedelta(seconds=30)), failures, max(cap, interval))


def usual_gap(state: source_store.SourceState) -> timedelta | None:
    """Average time between polls that brought something new, once there is a history to judge by."""
    if state.polls_with_new < 3 or state.first_new_at is None or state.last_new_at is None:
        return None
    return (state.last_new_at - state.first_new_at) / (state.polls_with_new - 1)


def is_silent(state: source_store.SourceState, now: datetime) -> bool:
    """Quiet for four of its usual gaps (and at least a day): worth one look from an admin."""
    gap = usual_gap(state)
    if gap is None or state.last_new_at is None:
        return False
    return now - state.last_new_at > max(4 * gap, 10 * state.interval, MIN_SILENCE)


@dataclass(frozen=True, slots=True)
class PollOutcome:
    source: str
    ok: bool
    seen: int = 0
    new: int = 0
    not_modified: bool = False
    ms: int = 0
    error: str | None = None
    next_poll_at: datetime | None = None

    def summary(self) -> str:
        when = self.next_poll_at.strftime("%Y-%m-%d %H:%M:%SZ") if self.next_poll_at else "-"
        if not self.ok:
            return f"{self.source}: FAILED: {self.error} (next try {when})"
        if self.not_modified:
            return f"{self.source}: ok, not modified (304), {self.ms} ms"
        return f"{self.source}: ok, {self.seen} items, {self.new} new, {self.ms} ms"


class Poller:
    """Polls one source at a time and records the outcome; shared by the daemon and `listener poll`."""

    def __init__(self, config: Config, engine: Engine, http: HttpClient, clock: Clock = utcnow,
                 rng: random.Random | None = None, cpu: CpuPool = INLINE, owner: str | None = None):
        self.config = config
        self.cpu = cpu
        self.owner = owner
        self.engine = engine
        self.http = http
        self.clock = clock
        self.rng = rng or random.Random()
        self.policy: SchedulerConfig = config.scheduler
        self.router = Router.from_config(config)
        self.alerts_written = asyncio.Event()

    def claim(self, names: Iterable[str] | None = None, limit: int | None = None) -> list[source_store.SourceState]:
        lease = self.config.http.timeout * 4 + timedelta(minutes=1)
        with self.engine.begin() as conn:
            return source_store.claim_due(
                conn, self.clock(), limit or len(self.config.sources) or 1, lease, names, self.owner
            )

    async def poll(self, state: source_store.SourceState) -> PollOutcome:
        log = get_logger(source=state.name, connector=state.connector)
        source = self.config.source(state.name)
        ctx = PollContext(
            source=source.name,
            url=source.url,
            options=source.options,
            http=self.http,
            log=log,
            now=self.clock,
            validators=Validators(state.etag, state.last_modified),
            cpu=self.cpu,
        )
        started = time.perf_counter()
        try:
            result = await registry()[source.connector]().poll(ctx, state.cursor)
            batch = pipeline.BatchResult(0, []) if not result.items else await pipeline.process_off_loop(
                self.engine, pipeline.SourceRef(state.id, state.name, source.lang, source.require_match),
                result.items, self.clock(), self.router, self.cpu,
            )
        except asyncio.CancelledError:
            with self.engine.begin() as conn:
                source_store.release(conn, [state.id])
            raise
        except Exception as exc:  # any failure of one source is recorded and the daemon goes on
            return self._failed(state, exc, log, started)
        return self._succeeded(state, ctx, result, batch, log, started)

    def _succeeded(self, state, ctx, result, batch, log, started) -> PollOutcome:
        now = self.clock()
        next_at = now + jittered(state.interval, self.policy.jitter, self.rng)
        after = _with_new(state, now, batch.new)
        silent = is_silent(after, now)
        with self.engine.begin() as conn:
            source_store.record_success(
                conn, state, now=now, next_poll_at=next_at, etag=ctx.validators.etag,
                last_modified=ctx.validators.last_modified, cursor=result.cursor, new=batch.new,
                silent=silent,
            )
        ms = int((time.perf_counter() - started) * 1000)
        if state.failures:
            log.warning("source.recovered", after_failures=state.failures)
        if silent and not state.silent:
            log.warning("source.silent", last_new_at=_iso(after.last_new_at), usual_gap_s=int(usual_gap(after).total_seconds()))
        elif state.silent and not silent:
            log.info("source.active", new=batch.new)
        if batch.alerts:
            self.alerts_written.set()
        log.info("poll.done", items=batch.seen, new=batch.new, alerts=batch.alerts, not_modified=result.not_modified, ms=ms)
        return PollOutcome(state.name, True, batch.seen, batch.new, result.not_modified, ms, None, next_at)

    def _failed(self, state, exc: Exception, log, started) -> PollOutcome:
        now = self.clock()
        failures = state.failures + 1
        delay = jittered(backoff(failures, state.interval, self.policy.max_backoff), self.policy.jitter, self.rng)
        if isinstance(exc, RetryLater):
            delay = honour_retry_after(delay, exc.retry_after, MAX_RETRY_AFTER)
        error = explain(exc)
        next_at = now + delay
        with self.engine.begin() as conn:
            source_store.record_failure(conn, state, now=now, next_poll_at=next_at, error=error)
        ms = int((time.perf_counter() - started) * 1000)
        if state.failures == 0:
            log.warning("source.failing", error=error)
        log.info("poll.failed", error=error, failures=failures, retry_in_s=int(delay.total_seconds()), ms=ms)
        return PollOutcome(state.name, False, ms=ms, error=error, next_poll_at=next_at)


def _with_new(state: source_store.SourceState, now: datetime, new: int) -> source_store.SourceState:
    """The state as it will be stored after this poll, for judging silence on fresh facts."""
    if not new:
        return state
    return replace(
        state, last_new_at=now, first_new_at=state.first_new_at or now, polls_with_new=state.polls_with_new + 1
    )


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


class Daemon:
    """`listener run`: polls and delivers alerts until SIGTERM or SIGINT, then stops within ten seconds."""

    def __init__(self, poller: Poller, deliverer: Deliverer):
        self.poller = poller
        self.deliverer = deliverer
        self.log = get_logger()
        self.in_flight: dict[int, asyncio.Task] = {}
        self.stopping = asyncio.Event()
        self.backlog = False
        """The last tick found more due sources than it had room for: claim again as polls end
        (once a quarter of the room is free, so that one claim leases several sources)."""
        self.refills: set[asyncio.Task] = set()
        self.store_away = False
        """The last tick could not reach the database."""
        self.stranded = False
        """A poll ended without recording its end (the database was away): its lease is still ours."""

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        await self._start()
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.tick, "interval", seconds=self.poller.policy.tick.total_seconds(),
            next_run_time=datetime.now(UTC), max_instances=1, coalesce=True, id="poll-tick",
        )
        zone = ZoneInfo(self.poller.config.alerts.timezone)
        for department in self.poller.router.departments.values():
            if department.digest:
                scheduler.add_job(self.digest, CronTrigger.from_crontab(department.digest, timezone=zone),
                                  args=[department.name], id=f"digest:{department.name}", coalesce=True)
        if self.poller.config.store.keep:
            scheduler.add_job(self.prune, CronTrigger(hour=RETENTION_HOUR, minute=RETENTION_MINUTE, timezone=zone),
                              id="retention", coalesce=True)
        scheduler.start()
        delivery = asyncio.create_task(self._deliver_forever(), name="deliver")
        self.log.info("daemon.started", sources=len(self.poller.config.sources))
        try:
            await self.stopping.wait()
        finally:
            scheduler.shutdown(wait=False)
            await self._drain()
            delivery.cancel()
            await asyncio.gather(delivery, return_exceptions=True)
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
        self.log.info("daemon.stopped")

    async def _start(self) -> None:
        """Take back what a previous life of this instance held when it died, and load the
        classifier in every worker before the first poll needs it."""
        owner = self.poller.owner
        if owner:
            try:
                with self.poller.engine.begin() as conn:
                    freed_sources, freed_alerts = leases.take_back(conn, owner)
            except Exception as exc:  # the database is away: the leases run out by themselves
                self.log.error("leases.take_back_failed", error=describe(exc))
            else:
                if freed_sources or freed_alerts:
                    self.log.info("leases.taken_back", instance=owner, sources=freed_sources, alerts=freed_alerts)
        await self.poller.cpu.start()

    async def digest(self, department: str) -> None:
        """One department's digest, sent by one instance only: the run is keyed by its minute."""
        slot = self.poller.clock().strftime("%Y-%m-%dT%H:%M")
        try:
            with leases.run_once(self.poller.engine, f"digest:{department}", slot, self.poller.owner or "",
                                 self.poller.clock) as mine:
                if mine:
                    await self.deliverer.send_digest(department)
        except Exception as exc:  # the digest alerts stay pending and go out with the next one
            self.log.error("digest.failed", department=department, error=describe(exc))

    async def prune(self) -> None:
        """Retention, once a day across instances."""
        now = self.poller.clock()
        keep = self.poller.config.store.keep
        try:
            with leases.run_once(self.poller.engine, "retention", now.date().isoformat(), self.poller.owner or "",
                                 self.poller.clock) as mine:
                if mine:
                    pruned = await asyncio.to_thread(retention.prune, self.poller.engine, now - keep)
                    self.log.info("retention.pruned", mentions=pruned, older_than=_iso(now - keep))
        except Exception as exc:  # tried again tomorrow
            self.log.error("retention.failed", error=describe(exc))

    def stop(self) -> None:
        if not self.stopping.is_set():
            self.log.info("daemon.stopping", in_flight=len(self.in_flight))
            self.stopping.set()

    async def _deliver_forever(self) -> None:
        """Send alerts as soon as a poll writes them, and retries when they fall due."""
        wake = self.poller.alerts_written
        tick = self.poller.config.alerts.tick.total_seconds()
        stranded = False
        while True:
            try:
                await asyncio.wait_for(wake.wait(), timeout=tick)
            except TimeoutError:
                pass
            wake.clear()
            try:
                if stranded:  # no round is under way here: every immediate alert we lease is idle
                    self._take_back(alerts=True)
                    stranded = False
                await self.deliverer.deliver_due()
            except Exception as exc:  # the database may be briefly away; alerts wait in the outbox
                self.log.error("alert.worker_failed", error=explain(exc))
                stranded = True

    async def tick(self) -> None:
        if self.stopping.is_set():
            return
        room = self.poller.policy.concurrency - len(self.in_flight)
        if room <= 0:
            return
        try:
            if self.stranded:
                self._take_back(alerts=False)
                self.stranded = False
            due = self.poller.claim(limit=room)
        except Exception as exc:  # the database is away; try again next tick
            if not self.store_away:
                self.log.error("store.unavailable", error=explain(exc))
            self.log.debug("tick.failed", error=describe(exc))
            self.store_away = True
            return
        if self.store_away:
            self.log.info("store.recovered")
            self.store_away = False
        self.backlog = len(due) == room
        for state in due:
            task = asyncio.create_task(self.poller.poll(state), name=f"poll:{state.name}")
            self.in_flight[state.id] = task
            task.add_done_callback(lambda t, sid=state.id, name=state.name: self._done(sid, name, t))

    def _done(self, source_id: int, name: str, task: asyncio.Task) -> None:
        """A poll that could not even record its failure (the database is away): say so; the
        next tick that reaches the database frees its lease, and the source is polled again."""
        self.in_flight.pop(source_id, None)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("poll.crashed", source=name, error=explain(task.exception()))
            self.stranded = True
        room = self.poller.policy.concurrency - len(self.in_flight)
        if self.backlog and room >= max(1, self.poller.policy.concurrency // 4) and not self.stopping.is_set():
            self.backlog = False
            refill = asyncio.get_running_loop().create_task(self.tick())
            self.refills.add(refill)
            refill.add_done_callback(self.refills.discard)

    def _take_back(self, alerts: bool) -> None:
        owner = self.poller.owner
        if not owner:
            return
        with self.poller.engine.begin() as conn:
            freed_sources, freed_alerts = leases.take_back(conn, owner, busy=list(self.in_flight), alerts=alerts)
        if freed_sources or freed_alerts:
            self.log.info("leases.taken_back", instance=owner, sources=freed_sources, alerts=freed_alerts)

    async def _drain(self) -> None:
        tasks = list(self.in_flight.values())
        if not tasks:
            return
        done, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
            self.log.warning("daemon.cancelled_polls", count=len(pending))
