"""SLA escalation: one alert per (mention, department) left unanswered past its escalation time.

``mention_routes.escalate_at`` was set, in the department's business hours, when the mention was
stored; this job only compares it with the clock. Each route is escalated at most once, even with
several daemons on one database, because the marking UPDATE succeeds for only one of them. Mentions
published before the daemon first started are never escalated, so an upgrade or a first import
of old mentions does not set off a storm.
"""

from __future__ import annotations

from sqlalchemy import Engine

from listener.clock import Clock, utcnow
from listener.config import Config
from listener.logs import get_logger
from listener.routing import Router
from listener.store import responses as store


class Escalator:
    def __init__(self, config: Config, engine: Engine, clock: Clock = utcnow):
        self.engine = engine
        self.clock = clock
        self.departments = Router.from_config(config).departments
        self.log = get_logger()

    def started(self) -> None:
        """Record the daemon's first start, if this is it."""
        with self.engine.begin() as conn:
            store.first_started_at(conn, self.clock())

    def run(self) -> int:
        """Queue the escalations now due; returns how many were raised."""
        now = self.clock()
        raised = 0
        with self.engine.begin() as conn:
            since = store.first_started_at(conn, now)
            for item in store.overdue(conn, now, since):
                department = self.departments.get(item.department)
                sinks = department.escalation_sinks if department else ()
                if store.escalate(conn, item, sinks, now):
                    raised += 1
                    self.log.info("escalation.raised", mention=item.mention_id, department=item.department,
                                  sinks=len(sinks))
        return raised
