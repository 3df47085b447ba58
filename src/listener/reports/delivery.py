"""Scheduled reports: each [[reports]] table's page, mailed through its e-mail sinks on its cron.

Building the page (SQL, then matplotlib) is CPU and blocking I/O, so it runs in a worker thread
and the daemon's loop keeps polling and alerting meanwhile. A report that cannot be sent is logged
(``report.failed``) and the next one comes on schedule; reports are not queued like alerts.
"""

from __future__ import annotations

import asyncio
from email.message import EmailMessage

from sqlalchemy import Engine

from listener.alerts.email import EmailSink
from listener.alerts.sink import DeliveryError
from listener.clock import Clock, utcnow
from listener.config import Config, ReportConfig
from listener.logs import get_logger
from listener.reports.periods import resolve


class ReportMailer:
    def __init__(self, config: Config, engine: Engine, clock: Clock = utcnow):
        self.config = config
        self.engine = engine
        self.clock = clock
        self.log = get_logger()
        self.sinks = {s.name: s for s in config.sinks}

    async def send(self, name: str) -> int:
        """Build and mail the report called ``name``; returns how many sinks took it."""
        report = next(r for r in self.config.reports if r.name == name)
        messages = await asyncio.to_thread(self.messages, report)
        sent = 0
        for sink, msg in messages:
            try:
                await EmailSink(self.sinks[sink]).send_message(msg)
            except DeliveryError as exc:
                self.log.error("report.failed", report=name, sink=sink, error=str(exc))
                continue
            sent += 1
            self.log.info("report.sent", report=name, sink=sink)
        return sent

    def messages(self, report: ReportConfig) -> list[tuple[str, EmailMessage]]:
        """One message per sink (each has its own sender and recipients), from one set of figures."""
        from listener.reports import charts, figures, html

        now = self.clock()
        zone = self.config.report.timezone
        named = {b.name: (b.start, b.end) for b in self.config.baselines}
        period = resolve(report.period, now, zone)
        baseline = resolve(report.baseline, now, zone, named) if report.baseline else None
        with self.engine.connect() as conn:
            overview = figures.overview(conn, period, now=now, by=report.by, baseline=baseline)
        images = charts.charts(overview, charts.strictest_sla_hours(self.config))
        return [(name, html.message(overview, images, self.sinks[name].from_, self.sinks[name].to,
                                    title=f"listener report {report.name}"))
                for name in report.sinks]
