"""The outbox worker: sends due alerts, retries with backoff, parks what keeps failing.

An outbox row is leased, sent, then marked sent, each step committed. A crash before the mark
leaves the row pending; when its lease runs out it is sent again with the same delivery id, so a
receiver can drop the repeat. No alert is lost, and none is sent twice except across such a crash.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine

from listener import metrics
from listener.alerts.sink import DeliveryError, Sink
from listener.alerts.sinks import make_sink
from listener.clock import Clock, utcnow
from listener.config import Config
from listener.logs import get_logger
from listener.retry import exponential, honour_retry_after, jittered
from listener.routing import Department, Router
from listener.store import routing as routing_store
from listener.store.routing import Pending
from listener.text import span
from listener.web.links import Links

MAX_RETRY_AFTER = timedelta(hours=1)


class Deliverer:
    def __init__(self, config: Config, engine: Engine, clock: Clock = utcnow, owner: str | None = None):
        self.owner = owner
        self.engine = engine
        self.clock = clock
        self.log = get_logger()
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(20.0),
            headers={"User-Agent": config.http.user_agent.replace("{version}", _version())},
            follow_redirects=False,
        )
        self.rng = random.Random()
        self.reconfigure(config)

    def reconfigure(self, config: Config) -> None:
        """Take a (reloaded) config: its sinks and [alerts] settings. Sends in flight finish on the
        sink they started with; queued alerts stay in the outbox and go to the sink of that name."""
        self.config = config
        self.policy = config.alerts
        self.sinks: dict[str, Sink] = {s.name: make_sink(s, self.http) for s in config.sinks}
        self.timeouts = {s.name: s.timeout.total_seconds() for s in config.sinks}
        self.departments = Router.from_config(config).departments
        self.links = Links.of(config)
        if self.links is None and config.sinks:
            self.log.warning("alerts.without_answered_link",
                             reason=f"no secret in ${config.web.secret_env or '(no [web] secret_env)'} "
                                    "nor in a systemd credential of that name")

    async def aclose(self) -> None:
        await self.http.aclose()

    async def deliver_due(self) -> int:
        """Send every immediate alert that is due now, in rounds; returns how many were sent."""
        sent = 0
        slots = asyncio.Semaphore(self.policy.concurrency)

        async def send(alert: Pending) -> int:
            async with slots:
                return await self._send([alert], record=False)

        while True:
            with self.engine.begin() as conn:
                batch = routing_store.claim_due(conn, self.clock(), self.policy.concurrency * 4, self.policy.lease,
                                                self.owner)
            if not batch:
                return sent
            results = await asyncio.gather(*(send(alert) for alert in batch))
            delivered = [alert.id for alert, ok in zip(batch, results, strict=True) if ok]
            if delivered:  # one commit for the round; a crash before it means a resend, never a loss
                now = self.clock()
                with self.engine.begin() as conn:
                    routing_store.mark_sent(conn, delivered, now)
                for alert, ok in zip(batch, results, strict=True):
                    if ok:
                        metrics.sent(alert.sink, [alert.created_at], now)
            sent += len(delivered)

    async def send_digest(self, department: str) -> int:
        with self.engine.begin() as conn:
            pending = routing_store.claim_digest(conn, department, self.clock(), self.policy.lease, self.owner)
        by_sink: dict[str, list[Pending]] = {}
        for alert in pending:
            by_sink.setdefault(alert.sink, []).append(alert)
        results = await asyncio.gather(*(self._send(alerts) for alerts in by_sink.values()))
        return sum(results)

    def prepare(self, alert: Pending) -> Pending:
        """What is made at sending time: the answered link (it expires 30 days after the alert) and
        an escalation's account of how long the mention has waited."""
        now = self.clock()
        url = self.links.url(alert.mention["id"], alert.department, now) if self.links else None
        notice = self._waited(alert, now) if alert.kind == "escalation" else ""
        return replace(alert, answered_url=url, notice=notice)

    def _waited(self, alert: Pending, now: datetime) -> str:
        """ "Unanswered for 3h 10m, SLA 4h", counted in the department's business hours."""
        department = self.departments.get(alert.department) or Department(alert.department)
        m = alert.mention
        start = min(m["published_at"], m.get("first_seen_at") or m["published_at"])
        text = f"Unanswered for {span(department.hours.between(start, now).total_seconds())}"
        if department.sla is not None:
            text += f", SLA {span(department.sla.total_seconds())}"
        return text + (" (business hours)" if department.hours.week is not None else "")

    async def _send(self, alerts: Sequence[Pending], record: bool = True) -> int:
        """Send one message; failures are recorded at once, success too unless the caller
        records a whole round of successes in one commit."""
        alerts = [self.prepare(a) for a in alerts]
        first = alerts[0]
        log = self.log.bind(sink=first.sink, department=first.department, alerts=len(alerts),
                            delivery_id=first.delivery_id if len(alerts) == 1 else None)
        ids = [a.id for a in alerts]
        sink = self.sinks.get(first.sink)
        try:
            if sink is None:
                raise DeliveryError(f'no sink named "{first.sink}" in the config any more', permanent=True)
            async with asyncio.timeout(self.timeouts.get(first.sink, 20.0) + 5):
                await sink.send(alerts)
        except asyncio.CancelledError:
            with self.engine.begin() as conn:
                routing_store.release(conn, ids)
            raise
        except (DeliveryError, TimeoutError) as exc:
            error = str(exc) or f"sink {first.sink}: timed out"
            self._failed(alerts, error, exc if isinstance(exc, DeliveryError) else DeliveryError(error), log)
            return 0
        except Exception as exc:  # a bug in one sink must not stop the others
            log.exception("alert.sink_crashed")
            self._failed(alerts, f"sink {first.sink}: {type(exc).__name__}: {exc}", DeliveryError(str(exc)), log)
            return 0
        if record:
            now = self.clock()
            with self.engine.begin() as conn:
                routing_store.mark_sent(conn, ids, now)
            metrics.sent(first.sink, [a.created_at for a in alerts], now)
        log.info("alert.sent", priority=first.priority)
        return len(alerts)

    def _failed(self, alerts: Sequence[Pending], error: str, exc: DeliveryError, log) -> None:
        now = self.clock()
        attempts = min(a.attempts for a in alerts) + 1
        delay = jittered(exponential(self.policy.backoff, attempts, self.policy.max_backoff), 0.1, self.rng)
        delay = honour_retry_after(delay, exc.retry_after, MAX_RETRY_AFTER)
        max_attempts = attempts if exc.permanent else self.policy.max_attempts
        with self.engine.begin() as conn:
            routing_store.mark_failed(conn, [a.id for a in alerts], now, error, now + delay, max_attempts)
        metrics.failed(alerts[0].sink, len(alerts), dead=attempts >= max_attempts)
        if attempts >= max_attempts:
            log.warning("alert.dead", error=error, attempts=attempts)
        else:
            log.info("alert.failed", error=error, attempts=attempts, retry_in_s=int(delay.total_seconds()))


def _version() -> str:
    from listener import __version__

    return __version__
