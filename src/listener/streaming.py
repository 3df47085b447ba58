"""Streaming sources: a supervised connection per source in `listener run`, a bounded read elsewhere.

A stream's progress is its cursor. The supervisor keeps the steps a connector yields in memory and
stores them every ``[scheduler] stream_checkpoint`` (and when the connection ends, and at
shutdown): the new mentions and the cursor after them in one transaction, so after a crash the
stream resumes exactly after what was stored. Connectors rewind a little on reconnect and the store
drops what it has by external id, so a rewind repeats nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from listener import pipeline
from listener.clock import Clock
from listener.config import Config, Source
from listener.connector import PollContext, Streamed, is_streaming
from listener.domain import Item
from listener.http import HttpClient
from listener.logs import get_logger
from listener.registry import registry
from listener.responses import OwnAccounts
from listener.retry import exponential, jittered
from listener.routing import Router
from listener.silence import announce, is_silent, with_new
from listener.store import sources as source_store
from listener.text import describe

MAX_RECONNECT_DELAY = timedelta(minutes=5)


def streaming_sources(config: Config) -> list[Source]:
    """The enabled sources that stream: the daemon supervises them instead of polling."""
    kinds = registry()
    return [s for s in config.sources
            if s.enabled and s.connector in kinds and is_streaming(kinds[s.connector], s.options)]


@dataclass(slots=True)
class StreamRead:
    """What a bounded read of a stream brought: the items and the cursor after them."""

    items: list[Item] = field(default_factory=list)
    cursor: Any = None
    error: str | None = None


async def read_until_idle(steps: AsyncIterator[Streamed], cursor: Any, idle: float, bound: float) -> StreamRead:
    """Read until nothing has come for ``idle`` seconds, the stream ends, or ``bound`` seconds pass.

    For `listener poll` and `listener sources test`. Failing to connect raises; a connection that
    breaks after it was up ends the read with what came before (``error`` says why).
    """
    read = StreamRead(cursor=cursor)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + bound
    connected = False
    try:
        while (left := deadline - loop.time()) > 0:
            try:
                step = await asyncio.wait_for(anext(steps), min(idle, left))
            except (TimeoutError, StopAsyncIteration):
                break
            except Exception as exc:
                if not connected:
                    raise
                read.error = describe(exc)
                break
            connected = True
            read.items.extend(step.items)
            read.cursor = step.cursor
    finally:
        await steps.aclose()
    return read


class StreamSupervisor:
    """Keeps one streaming source connected for `listener run` and stores what it brings.

    Reconnects with exponential backoff (from ``first_delay``, doubling, at most five minutes)
    and logs ``stream.connected`` and ``stream.disconnected`` each time, ``stream.failing`` once
    when connecting starts to fail and ``stream.recovered`` when it works again. It holds the
    source's lease while it runs, so a second instance on the same database does not stream it too.
    At each checkpoint it judges silence as a poll does (``source.silent`` once, ``source.active``
    once when mentions come again).
    """

    def __init__(self, config: Config, engine: Engine, http: HttpClient, connector: Any, source: Source,
                 router: Router, clock: Clock, alerts_written: asyncio.Event, *, first_delay: float = 1.0,
                 rng: random.Random | None = None, models: Any = None):
        self.config, self.engine, self.http = config, engine, http
        self.connector, self.source, self.router, self.clock = connector, source, router, clock
        self.alerts_written = alerts_written
        self.models = models
        self.own = OwnAccounts.from_config(config)
        self.first_delay = timedelta(seconds=first_delay)
        self.rng = rng or random.Random()
        self.lease = config.http.timeout * 4 + timedelta(minutes=1)
        self.log = get_logger(source=source.name, connector=source.connector)
        self.state: source_store.SourceState | None = None
        self.cursor: Any = None
        self.stored_cursor: Any = None
        self.stored_at = clock()
        self.buffer: list[Item] = []

    def reconfigure(self, config: Config, router: Router) -> None:
        """Take a reloaded config whose entry for this source is unchanged: new routes, departments,
        own accounts and stream settings apply from the next checkpoint, without reconnecting."""
        self.config, self.router = config, router
        self.own = OwnAccounts.from_config(config)

    async def run(self) -> None:
        self.state = await self._claim()
        self.cursor = self.stored_cursor = self.state.cursor
        failures = self.state.failures
        try:
            while True:
                connected, events, error = await self._connect_once(failures)
                if connected:
                    self.log.info("stream.disconnected", error=error, events=events)
                if events:
                    failures = 0
                else:  # never up, or up and closed before a single event: back off
                    failures += 1
                    self._failed(error, failures)
                delay = jittered(exponential(self.first_delay, max(failures, 1), MAX_RECONNECT_DELAY),
                                 self.config.scheduler.jitter, self.rng)
                await asyncio.sleep(delay.total_seconds())
        finally:
            self._store(release=True)

    async def _connect_once(self, failures: int) -> tuple[bool, int, str | None]:
        """One connection, from connecting to its end: whether it came up, how many events it
        brought, and why it ended."""
        ctx = PollContext(source=self.source.name, url=self.source.url, options=self.source.options,
                          http=self.http, log=self.log, now=self.clock)
        steps = self.connector.stream(ctx, self.cursor)
        connected, events, error, saver = False, -1, None, None
        try:
            async for step in steps:
                events += 1
                if not connected:
                    connected = True
                    self.log.info("stream.connected", cursor=self.cursor)
                    saver = asyncio.create_task(self._store_periodically(), name=f"checkpoint:{self.source.name}")
                elif events == 1 and failures:
                    self.log.warning("stream.recovered", after_failures=failures)
                self.buffer.extend(step.items)
                self.cursor = step.cursor
        except Exception as exc:  # whatever broke the connection, the supervisor reconnects
            error = describe(exc)
        finally:
            if saver is not None:
                saver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await saver
            with contextlib.suppress(Exception):
                await steps.aclose()
        if connected:
            self._store()
        return connected, max(events, 0), error

    async def _store_periodically(self) -> None:
        every = self.config.scheduler.stream_checkpoint.total_seconds()
        while True:
            await asyncio.sleep(every)
            self._store()

    def _store(self, release: bool = False) -> None:
        """The buffered items and the cursor after them, in one transaction. A failure keeps them
        buffered for the next try: nothing is lost while the database is away."""
        if self.state is None:
            return
        if not self.buffer and self.cursor == self.stored_cursor:
            if release:
                self._release()
            elif self.clock() - self.stored_at > self.lease / 3:
                self._renew()
            return
        items, cursor, state = self.buffer, self.cursor, self.state
        self.buffer = []
        now = self.clock()
        lease_until = None if release else now + self.lease
        judged: list[tuple[source_store.SourceState, bool]] = []

        def checkpoint(conn, new: int) -> None:
            after = with_new(state, now, new)
            silent = is_silent(after, now)
            judged.append((after, silent))
            source_store.save_checkpoint(conn, state, now=now, cursor=cursor, new=new, lease_until=lease_until,
                                         silent=silent)

        ref = pipeline.SourceRef(state.id, state.name, self.source.lang, self.source.require_match)
        try:
            model = self.models.get() if self.models else None
            batch = pipeline.process(self.engine, ref, items, now, self.router, model, checkpoint=checkpoint,
                                     own=self.own)
        except Exception as exc:
            self.buffer = items + self.buffer
            self.log.error("stream.checkpoint_failed", error=describe(exc), buffered=len(self.buffer))
            return
        self.stored_cursor, self.stored_at = cursor, now
        after, silent = judged[-1]
        announce(self.log, state, after, silent, batch.new)
        self.state = replace(after, silent=silent)
        if batch.alerts:
            self.alerts_written.set()
        if batch.seen:
            self.log.info("stream.stored", items=batch.seen, new=batch.new, alerts=batch.alerts, cursor=cursor)

    def _renew(self) -> None:
        """A quiet stream still holds its source: renew the lease before another instance takes it,
        and say so if it has been quiet for longer than usual."""
        now = self.clock()
        silent = is_silent(self.state, now)
        try:
            with self.engine.begin() as conn:
                source_store.renew_lease(conn, self.state.id, now + self.lease, silent=silent)
            self.stored_at = now
        except Exception as exc:  # tried again at the next checkpoint
            self.log.error("stream.renew_failed", error=describe(exc))
            return
        announce(self.log, self.state, self.state, silent, 0)
        self.state = replace(self.state, silent=silent)

    def _release(self) -> None:
        try:
            with self.engine.begin() as conn:
                source_store.release(conn, [self.state.id])
        except Exception as exc:  # the lease runs out on its own
            self.log.error("stream.release_failed", error=describe(exc))

    def _failed(self, error: str | None, failures: int) -> None:
        error = error or "the connection closed before any event came"
        if failures == 1:
            self.log.warning("stream.failing", error=error)
        delay = exponential(self.first_delay, failures, MAX_RECONNECT_DELAY)
        self.log.info("stream.retry", error=error, failures=failures, retry_in_s=round(delay.total_seconds(), 1))
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                source_store.stream_failed(conn, self.state, now=now, error=error, retry_at=now + delay,
                                           lease_until=now + delay + self.lease)
        except Exception as exc:  # the database is away too; the log has said what failed
            self.log.error("stream.state_failed", error=describe(exc))

    async def _claim(self) -> source_store.SourceState:
        """Take the source's lease, waiting while another instance holds it."""
        waiting = False
        while True:
            try:
                with self.engine.begin() as conn:
                    claimed = source_store.claim_due(conn, self.clock(), 1, self.lease, [self.source.name])
            except Exception as exc:
                claimed = []
                self.log.error("stream.claim_failed", error=describe(exc))
            if claimed:
                return claimed[0]
            if not waiting:
                self.log.info("stream.busy", detail="another listener streams this source; waiting for its lease")
                waiting = True
            await asyncio.sleep(self.lease.total_seconds() / 2)


class Streams:
    """The stream supervisors of `listener run`, one per enabled streaming source, following reloads.

    ``follow`` starts a new stream at once, stops one that was removed or disabled (it stores what
    it holds and its cursor, and gives its source back), restarts a changed one with its new
    options from its stored cursor, and hands the new rules to the others without reconnecting.
    """

    def __init__(self, supervisor: Callable[[Source], StreamSupervisor]):
        self.supervisor = supervisor
        self.running: dict[str, tuple[StreamSupervisor, asyncio.Task]] = {}
        self.log = get_logger()

    def __len__(self) -> int:
        return len(self.running)

    def outdated(self, sources: Iterable[Source]) -> list[str]:
        """The running streams that ``sources`` (a new config's streaming ones) removes or changes."""
        wanted = {s.name: s for s in sources}
        return [name for name, (supervisor, _) in self.running.items() if wanted.get(name) != supervisor.source]

    async def follow(self, sources: Iterable[Source], config: Config, router: Router, timeout: float) -> None:
        sources = list(sources)
        await self.stop(self.outdated(sources), timeout)
        for supervisor, _ in self.running.values():
            supervisor.reconfigure(config, router)
        for source in sources:
            if source.name not in self.running:
                supervisor = self.supervisor(source)
                task = asyncio.create_task(supervisor.run(), name=f"stream:{source.name}")
                task.add_done_callback(lambda t, name=source.name: self._ended(name, t))
                self.running[source.name] = (supervisor, task)

    async def stop(self, names: Iterable[str] | None, timeout: float) -> None:
        """Stop these streams (all of them with None) and wait up to ``timeout`` seconds for each to
        store what it holds."""
        names = [name for name in (list(self.running) if names is None else names) if name in self.running]
        tasks = [self.running.pop(name)[1] for name in names]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        for name in names:
            self.log.info("stream.stopped", source=name)

    def _ended(self, name: str, task: asyncio.Task) -> None:
        """A supervisor ends only when stopped; anything else is a bug worth a line, and the next
        reload starts the stream again."""
        if task.cancelled() or task.exception() is None:
            return
        if self.running.get(name, (None, None))[1] is task:
            del self.running[name]
        self.log.error("stream.crashed", source=name, error=describe(task.exception()))
