"""Polling on a schedule: which source is due, one poll of it, and what its outcome means for the next.

The policy (next poll time, backoff, silence) is pure functions of the source's stored state, so the
daemon, `listener poll` and the tests share it. APScheduler drives a tick that claims due sources
from the database into a bounded pool of concurrent polls; the state lives in the database, so a
restart loses nothing and several instances on PostgreSQL share the work.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from listener import learning, metrics, pipeline, reload
from listener.alerts.worker import Deliverer
from listener.clock import Clock, utcnow
from listener.config import Config, ConfigError, SchedulerConfig
from listener.connector import PollContext, PollResult, is_streaming
from listener.cpu import INLINE, CpuPool
from listener.escalation import Escalator
from listener.http import AuthError, HttpClient, RetryLater, Validators
from listener.logs import get_logger
from listener.notify import Notifier
from listener.recorder import Recorder
from listener.registry import broken, registry
from listener.responses import OwnAccounts
from listener.retry import exponential, honour_retry_after, jittered
from listener.routing import Router
from listener.silence import announce, is_silent, with_new
from listener.store import health as health_store
from listener.store import leases, retention
from listener.store import models as model_store
from listener.store import routing as routing_store
from listener.store import sources as source_store
from listener.store.engine import explain
from listener.streaming import Streams, StreamSupervisor, read_until_idle, streaming_sources
from listener.text import describe
from listener.web.server import WebServer

SHUTDOWN_GRACE = 7.0
"""Seconds from SIGTERM that polls in flight may take to finish; the rest of the 10 s is for
cancelling them, closing the web server and connections, and the interpreter's exit."""
STATUS_EVERY = timedelta(seconds=15)
PROBE_TIMEOUT = 5.0
ESCALATION_INTERVAL = 30
RETENTION_HOUR, RETENTION_MINUTE = 3, 17
"""Retention runs daily at this time of [alerts] timezone: a quiet hour."""
MAX_RETRY_AFTER = timedelta(days=1)


def backoff(failures: int, interval: timedelta, cap: timedelta) -> timedelta:
    """Delay before retry number ``failures``: a quarter interval (at least 30 s), doubling each
    time, never more than the cap (or the interval itself, if that is longer). A source is never
    abandoned: a dead feed that comes back is picked up within one cap."""
    return exponential(max(interval / 4, timedelta(seconds=30)), failures, max(cap, interval))


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
        self.own = OwnAccounts.from_config(config)
        self.alerts_written = asyncio.Event()
        self.models = model_store.Current(engine) if config.classifier.learned else None
        self.recorder: Recorder | None = None
        """Set by the daemon: polls that brought nothing new are recorded several at a time."""
        self._sources = {s.name: s for s in config.sources}

    def reconfigure(self, config: Config, router: Router) -> None:
        """Take a reloaded config; polls in flight finish under the rules they started with."""
        self.config = config
        self._sources = {s.name: s for s in config.sources}
        self.policy = config.scheduler
        self.router = router
        self.own = OwnAccounts.from_config(config)

    def claim(self, names: Iterable[str] | None = None, limit: int | None = None,
              exclude: Iterable[str] = ()) -> list[source_store.SourceState]:
        lease = self.config.http.timeout * 4 + timedelta(minutes=1)
        with self.engine.begin() as conn:
            return source_store.claim_due(
                conn, self.clock(), limit or len(self.config.sources) or 1, lease, names, exclude, self.owner
            )

    def streaming(self) -> list[str]:
        """The enabled sources that stream: the daemon supervises them instead of polling."""
        return [s.name for s in streaming_sources(self.config)]

    async def fetch(self, source, ctx: PollContext, cursor) -> PollResult:
        """One poll's items; a streaming source is read until it has been quiet for a moment."""
        connector = registry()[source.connector]
        if not is_streaming(connector, source.options):
            return await connector().poll(ctx, cursor)
        policy = self.policy
        read = await read_until_idle(connector().stream(ctx, cursor), cursor, policy.stream_idle.total_seconds(),
                                     policy.stream_max_read.total_seconds())
        if read.error:
            ctx.log.info("stream.disconnected", error=read.error)
        return PollResult(items=read.items, cursor=read.cursor)

    async def poll(self, state: source_store.SourceState) -> PollOutcome:
        log = get_logger(source=state.name, connector=state.connector)
        source = self._sources.get(state.name)
        if source is None:  # removed by a reload between its claim and now
            with self.engine.begin() as conn:
                source_store.release(conn, [state.id])
            return PollOutcome(state.name, False, error="no longer in the config")
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
            result = await self.fetch(source, ctx, state.cursor)
            batch = pipeline.BatchResult(0, []) if not result.items else await pipeline.process_off_loop(
                self.engine, pipeline.SourceRef(state.id, state.name, source.lang, source.require_match),
                result.items, self.clock(), self.router, self.cpu, self.models.get() if self.models else None,
                checkpoint=lambda conn, new: source_store.save_cursor(conn, state.id, result.cursor),
                own=self.own,
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
        rate_wait = max((self.http.rate_wait(host) for host in ctx.hosts), default=timedelta(0))
        if rate_wait:
            next_at = max(next_at, now + min(rate_wait, MAX_RETRY_AFTER))
            log.info("poll.rate_limited", resets_in_s=int(rate_wait.total_seconds()))
        after = with_new(state, now, batch.new)
        silent = is_silent(after, now)
        if self.recorder is not None and not batch.new:
            self.recorder.add(source_store.success(
                state, now=now, next_poll_at=next_at, etag=ctx.validators.etag,
                last_modified=ctx.validators.last_modified, cursor=result.cursor, silent=silent,
            ))
        else:
            with self.engine.begin() as conn:
                source_store.record_success(
                    conn, state, now=now, next_poll_at=next_at, etag=ctx.validators.etag,
                    last_modified=ctx.validators.last_modified, cursor=result.cursor, new=batch.new,
                    silent=silent,
                )
        seconds = time.perf_counter() - started
        ms = int(seconds * 1000)
        metrics.polled(state.name, "not_modified" if result.not_modified else "ok", seconds, batch.seen)
        if state.failures:
            log.warning("source.recovered", after_failures=state.failures)
        announce(log, state, after, silent, batch.new)
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
        elif isinstance(exc, AuthError):
            delay = max(self.policy.max_backoff, state.interval)  # only a person can fix it
        error = explain(exc)
        next_at = now + delay
        with self.engine.begin() as conn:
            source_store.record_failure(conn, state, now=now, next_poll_at=next_at, error=error)
        seconds = time.perf_counter() - started
        ms = int(seconds * 1000)
        metrics.polled(state.name, "failed", seconds)
        if isinstance(exc, AuthError) and (state.failures == 0 or state.last_error != error):
            log.warning("source.auth_failed", error=error)
        elif state.failures == 0:
            log.warning("source.failing", error=error)
        log.info("poll.failed", error=error, failures=failures, retry_in_s=int(delay.total_seconds()), ms=ms)
        return PollOutcome(state.name, False, ms=ms, error=error, next_poll_at=next_at)


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when else None


@dataclass(frozen=True, slots=True)
class Readiness:
    store_error: str | None
    ticking: bool
    seconds_since_tick: float | None
    stopping: bool
    last_poll_at: datetime | None
    sources: list[health_store.SourceSummary]

    @property
    def ready(self) -> bool:
        return self.store_error is None and self.ticking and not self.stopping


class Daemon:
    """`listener run`: polls and delivers alerts until SIGTERM or SIGINT, then stops within ten seconds.

    SIGHUP reloads config.toml through ``load``: a config with problems is reported line by line and
    the daemon carries on with the old one; ``on_reload`` hands a new config to the web app. It tells
    systemd (``notifier``) when it is ready, how it is, that it is alive (only while the scheduler
    ticks and the store answers) and when it stops.
    """

    def __init__(self, poller: Poller, deliverer: Deliverer, web: WebServer | None = None,
                 load: Callable[[], Config] | None = None, notifier: Notifier | None = None,
                 on_reload: Callable[[Config], None] | None = None):
        self.poller = poller
        poller.recorder = self.recorder = Recorder(poller.engine, owner=poller.owner)
        self.deliverer = deliverer
        self.web = web
        self.load = load
        self.on_reload = on_reload
        self.notifier = notifier or Notifier({})
        self.escalator = Escalator(poller.config, poller.engine, poller.clock)
        self.log = get_logger()
        self.in_flight: dict[int, asyncio.Task] = {}
        self.streams = Streams(self._supervisor)
        self._streaming_names = poller.streaming()
        self.stopping = asyncio.Event()
        self.scheduler: AsyncIOScheduler | None = None
        self.last_tick: float | None = None
        """time.monotonic() of the scheduler's last tick."""
        self.last_poll_at: datetime | None = None
        self.status_line = "starting"
        self.stop_requested_at: float | None = None
        self._reloading = asyncio.Lock()
        self._background: set[asyncio.Task] = set()
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
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.schedule(self.poller.config)
        self.scheduler.add_job(self.escalate, "interval", seconds=ESCALATION_INTERVAL,
                               next_run_time=datetime.now(UTC), max_instances=1, coalesce=True, id="escalation")
        classifier = self.poller.config.classifier
        if classifier.learned:
            self.scheduler.add_job(self.retrain, "interval", seconds=classifier.retrain_check.total_seconds(),
                                   next_run_time=datetime.now(UTC), max_instances=1, coalesce=True, id="retrain")
        self.escalator.started()
        if self.web is not None:
            await self.web.start()
        self.scheduler.start()
        self.last_tick = time.monotonic()  # its first tick is due now
        delivery = asyncio.create_task(self._deliver_forever(), name="deliver")
        heartbeat = asyncio.create_task(self._heartbeat_forever(), name="heartbeat")
        await self._follow_streams()
        for kind, reason in sorted(broken().items()):
            self.log.error("connector.broken", kind=kind, error=reason)
        for line in self.poller.config.skipped:
            self.log.warning("source.skipped", reason=line)
        self.log.info("daemon.started", sources=len(self.poller.config.sources), streams=len(self.streams),
                      web=self.web.listening if self.web else None)
        self.notifier.ready(self.status_line)
        try:
            await self.stopping.wait()
            self.log.info("daemon.stopping", in_flight=len(self.in_flight))
        finally:
            self.scheduler.shutdown(wait=False)
            if self.web is not None:
                await self.web.stop()
            await self._drain()
            self.recorder.flush()
            for task in (delivery, heartbeat, *self._background):
                task.cancel()
            await asyncio.gather(delivery, heartbeat, *self._background, return_exceptions=True)
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)
        self.log.info("daemon.stopped")

    def _supervisor(self, source) -> StreamSupervisor:
        poller = self.poller
        return StreamSupervisor(poller.config, poller.engine, poller.http, registry()[source.connector](), source,
                                poller.router, poller.clock, poller.alerts_written, rng=poller.rng,
                                models=poller.models)

    async def _follow_streams(self) -> None:
        """Supervise the streaming sources of the config in force (see Streams.follow)."""
        poller = self.poller
        await self.streams.follow(streaming_sources(poller.config), poller.config, poller.router, SHUTDOWN_GRACE)

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
        """SIGTERM or SIGINT; `run` logs it, so a signal during start-up is logged after the start."""
        if not self.stopping.is_set():
            self.stop_requested_at = time.monotonic()
            self.notifier.stopping()
            self.stopping.set()

    def schedule(self, config: Config) -> None:
        """The polling tick and the cron jobs: department digests ([alerts] timezone) and e-mailed
        reports ([report] timezone), replacing those of an older config."""
        assert self.scheduler is not None
        for job in self.scheduler.get_jobs():
            if job.id in ("poll-tick", "retention") or job.id.startswith(("digest:", "report:")):
                job.remove()
        self.scheduler.add_job(
            self.tick, "interval", seconds=config.scheduler.tick.total_seconds(),
            next_run_time=datetime.now(UTC), max_instances=1, coalesce=True, id="poll-tick",
        )
        zone = ZoneInfo(config.alerts.timezone)
        for department in self.poller.router.departments.values():
            if department.digest:
                self.scheduler.add_job(
                    self.digest, CronTrigger.from_crontab(department.digest, timezone=zone),
                    args=[department.name], id=f"digest:{department.name}", coalesce=True,
                )
        if config.store.keep:
            self.scheduler.add_job(self.prune, CronTrigger(hour=RETENTION_HOUR, minute=RETENTION_MINUTE, timezone=zone),
                                   id="retention", coalesce=True)
        if config.reports:
            from listener.reports.delivery import ReportMailer

            mailer = ReportMailer(config, self.poller.engine, self.poller.clock)
            report_zone = ZoneInfo(config.report.timezone)
            for report in config.reports:
                self.scheduler.add_job(mailer.send, CronTrigger.from_crontab(report.cron, timezone=report_zone),
                                       args=[report.name], id=f"report:{report.name}", coalesce=True)

    def reload(self) -> None:
        """SIGHUP: read config.toml again, in the background."""
        if self.load is None or self.stopping.is_set():
            return
        task = asyncio.create_task(self._reload(), name="reload")
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _reload(self) -> None:
        async with self._reloading:
            self.notifier.reloading()
            self.log.info("config.reloading", path=str(self.poller.config.path))
            try:
                config = await asyncio.to_thread(self.load)
            except ConfigError as exc:
                for problem in exc.problems:
                    self.log.error("config.invalid", problem=problem)
                self.log.warning("config.kept", problems=len(exc.problems))
            except Exception as exc:  # e.g. a connector that fails to import: keep the old config
                self.log.error("config.reload_failed", error=describe(exc))
            else:
                if self.stopping.is_set():  # stopped while the file was read: start nothing new
                    return
                # A stream the new config removes or changes stores its cursor before the sources
                # are synced, so a changed URL's reset cursor is not written over.
                await self.streams.stop(self.streams.outdated(streaming_sources(config)), SHUTDOWN_GRACE)
                try:
                    self.apply(config)
                except Exception as exc:  # the database may be away: keep running on the old config
                    self.log.error("config.reload_failed", error=describe(exc))
                await self._follow_streams()
            self.notifier.reloaded(self.status_line)

    def apply(self, config: Config) -> None:
        """Put a validated config into effect: the sources and departments tables first (the step
        that can fail), then the in-memory rules, sinks and jobs. Polling state, cursors and the
        outbox live in the database and are untouched."""
        old = self.poller.config
        diff = reload.changes(old, config)
        config = reload.kept_for_restart(old, config)
        router = Router.from_config(config)
        with self.poller.engine.begin() as conn:
            source_store.sync(conn, config.sources, self.poller.clock())
            routing_store.sync_departments(conn, router)
        self.poller.reconfigure(config, router)
        self._streaming_names = self.poller.streaming()
        self.deliverer.reconfigure(config)
        self.escalator.departments = router.departments
        self.schedule(config)  # the tick runs at once, so a new source is polled now
        if self.on_reload is not None:
            self.on_reload(config)
        if diff.needs_restart:
            self.log.warning("config.needs_restart", keys=list(diff.needs_restart))
        self.log.info("config.reloaded", **diff.as_log())

    async def _deliver_forever(self) -> None:
        """Send alerts as soon as a poll writes them, and retries when they fall due."""
        wake = self.poller.alerts_written
        stranded = False
        while not self.stopping.is_set():  # as well as cancelled: see _heartbeat_forever
            try:
                await asyncio.wait_for(wake.wait(), timeout=self.deliverer.policy.tick.total_seconds())
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

    async def retrain(self) -> None:
        """Train a new model when enough labels have arrived since the last one (in a thread: it
        takes seconds of CPU). The next poll picks the new model up from the store."""
        try:
            stored = await asyncio.to_thread(learning.retrain_if_due, self.poller.engine, self.poller.clock(),
                                             self.poller.config.classifier.retrain_after)
        except Exception as exc:  # the database is away; the labels wait for the next check
            self.log.error("classifier.retrain_failed", error=describe(exc))
            return
        if stored is not None and self.poller.models is not None:
            self.poller.models.forget()

    async def _heartbeat_forever(self) -> None:
        """Beats until the daemon stops. It checks ``stopping`` as well as being cancelled: on Python
        3.11 a cancel that lands as a store probe finishes is lost inside asyncio.wait_for, and the
        loop would keep the daemon from exiting."""
        period = self.notifier.watchdog or STATUS_EVERY
        while not self.stopping.is_set():
            await self.beat()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), period.total_seconds())

    async def beat(self) -> bool:
        """Tell systemd the daemon is alive if the scheduler ticks and the store answers; refresh
        the status line either way. Withholding WATCHDOG=1 is how a wedged daemon gets restarted."""
        outbox = await self.probe_store()
        ticking = self.ticking()
        alive = outbox is not None and ticking
        if alive:
            self.notifier.alive()
        elif self.notifier.watchdog:
            self.log.warning("watchdog.withheld", scheduler_ticking=ticking, store_answers=outbox is not None)
        self.status_line = self.describe(outbox)
        self.notifier.status(self.status_line)
        return alive

    def ticking(self) -> bool:
        """The scheduler ran a tick within three tick periods (and ten seconds of slack)."""
        limit = 3 * self.poller.policy.tick.total_seconds() + 10
        return self.last_tick is not None and time.monotonic() - self.last_tick < limit

    async def probe_store(self) -> health_store.OutboxFigures | None:
        """The outbox figures, or None if the database does not answer within PROBE_TIMEOUT."""
        def read() -> health_store.OutboxFigures:
            with self.poller.engine.connect() as conn:
                return health_store.outbox_figures(conn, self.poller.clock())

        try:
            return await asyncio.wait_for(asyncio.to_thread(read), PROBE_TIMEOUT)
        except Exception as exc:
            self.log.warning("store.unreachable", error=describe(exc) or "timed out")
            return None

    async def readiness(self) -> Readiness:
        """Facts for /readyz, read now: the store's answer, the scheduler's last tick, each source."""
        def read() -> list[health_store.SourceSummary]:
            with self.poller.engine.connect() as conn:
                return health_store.source_summaries(conn)

        sources, error = [], None
        try:
            sources = await asyncio.wait_for(asyncio.to_thread(read), PROBE_TIMEOUT)
        except Exception as exc:  # the answer is "not ready", with the reason
            error = describe(exc) or "timed out"
        since = round(time.monotonic() - self.last_tick, 1) if self.last_tick is not None else None
        return Readiness(error, self.ticking(), since, self.stopping.is_set(), self.last_poll_at, sources)

    def describe(self, outbox: health_store.OutboxFigures | None) -> str:
        """One line for `systemctl status`: sources, the last poll, the outbox."""
        sources = sum(1 for s in self.poller.config.sources if s.enabled)
        last = self.last_poll_at.strftime("%H:%M:%S UTC") if self.last_poll_at else "none yet"
        waiting = f"{outbox.pending} alerts waiting" if outbox is not None else "store not answering"
        return f"{sources} source{'' if sources == 1 else 's'}, last poll {last}, {waiting}"

    async def escalate(self) -> None:
        """Raise due escalations; their alerts go out through the outbox like any other."""
        try:
            raised = self.escalator.run()
        except Exception as exc:  # the database may be briefly away; the next run catches up
            self.log.error("escalation.failed", error=describe(exc))
            return
        if raised:
            self.poller.alerts_written.set()

    async def tick(self) -> None:
        if self.stopping.is_set():
            return
        self.last_tick = time.monotonic()
        room = self.poller.policy.concurrency - len(self.in_flight)
        if room <= 0:
            return
        if self.recorder.failing and not self.recorder.flush():
            return  # polls still waiting to be recorded: polling their sources again would undo them
        try:
            if self.stranded:
                self._take_back(alerts=False)
                self.stranded = False
            due = self.poller.claim(limit=room, exclude=self._streaming_names)
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
        self.last_poll_at = self.poller.clock()
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
            freed_sources, freed_alerts = leases.take_back(
                conn, owner, busy=[*self.in_flight, *self.recorder.pending()], alerts=alerts)
        if freed_sources or freed_alerts:
            self.log.info("leases.taken_back", instance=owner, sources=freed_sources, alerts=freed_alerts)

    async def _drain(self) -> None:
        """Stop the streams (each stores what it holds and its cursor) and let polls finish."""
        await self.streams.stop(None, SHUTDOWN_GRACE)
        tasks = list(self.in_flight.values())
        if not tasks:
            return
        since_stop = time.monotonic() - self.stop_requested_at if self.stop_requested_at else 0.0
        left = SHUTDOWN_GRACE - since_stop
        _, pending = await asyncio.wait(tasks, timeout=max(left, 0.1))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
            self.log.warning("daemon.cancelled_polls", count=len(pending))
