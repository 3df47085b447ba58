"""The Prometheus metrics of one `listener run` process, and the registry that /metrics serves.

Counters and histograms count what this process did (with several instances, each serves its own;
Prometheus sums them). Gauges about shared work (the outbox, failing and silent sources, mentions
past their SLA) are read from the database at each scrape, so every instance reports the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine

from listener.clock import Clock, utcnow
from listener.domain import Mention
from listener.logs import get_logger
from listener.store import health as health_store
from listener.text import describe

REGISTRY = CollectorRegistry()

POLLS = Counter("listener_polls", "Polls by source and outcome: ok, not_modified or failed.",
                ["source", "outcome"], registry=REGISTRY)
POLL_SECONDS = Histogram("listener_poll_duration_seconds", "Time from request to stored batch, per source.",
                         ["source"], registry=REGISTRY, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))
ITEMS = Counter("listener_items_fetched", "Items the connectors returned, new or already stored.",
                ["source"], registry=REGISTRY)
MENTIONS = Counter("listener_mentions", "New mentions stored, by label and language.",
                   ["label", "lang"], registry=REGISTRY)
ALERTS = Counter("listener_alerts", "Alert sends by sink and outcome: sent, retried (failed, tried again "
                 "later) or dead (failed for good).", ["sink", "outcome"], registry=REGISTRY)
DELIVERY_SECONDS = Histogram("listener_alert_delivery_seconds", "Time from an alert's commit to its delivery.",
                             ["sink"], registry=REGISTRY,
                             buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15, 60, 300, 900, 3600))

CONTENT_TYPE = CONTENT_TYPE_LATEST


def polled(source: str, outcome: str, seconds: float, items: int = 0) -> None:
    POLLS.labels(source, outcome).inc()
    POLL_SECONDS.labels(source).observe(seconds)
    if items:
        ITEMS.labels(source).inc(items)


def stored(mentions: Iterable[Mention]) -> None:
    for mention in mentions:
        MENTIONS.labels(mention.label.value if mention.label else "none", mention.lang or "unknown").inc()


def sent(sink: str, created: Iterable[datetime | None], now: datetime) -> None:
    created = list(created)
    ALERTS.labels(sink, "sent").inc(len(created))
    for at in created:
        if at is not None:
            DELIVERY_SECONDS.labels(sink).observe(max((now - at).total_seconds(), 0.0))


def failed(sink: str, count: int, dead: bool) -> None:
    ALERTS.labels(sink, "dead" if dead else "retried").inc(count)


class StoreCollector:
    """Gauges read from the database at scrape time; ``listener_store_up`` is 0 when it cannot be read."""

    def __init__(self, engine: Engine, clock: Clock = utcnow):
        self.engine = engine
        self.clock = clock

    def collect(self):
        up = GaugeMetricFamily("listener_store_up", "1 if the database answered this scrape.")
        try:
            now = self.clock()
            with self.engine.connect() as conn:
                outbox = health_store.outbox_figures(conn, now)
                summaries = health_store.source_summaries(conn)
                late = health_store.unanswered_past_sla(conn, now)
        except Exception as exc:  # a scrape must answer even when the database is away
            get_logger().warning("metrics.store_unreachable", error=describe(exc))
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield GaugeMetricFamily("listener_outbox_depth", "Alerts waiting to be sent (immediate and digest).",
                                value=outbox.pending)
        yield GaugeMetricFamily("listener_outbox_oldest_age_seconds",
                                "Age of the oldest immediate alert still waiting; 0 when none.",
                                value=outbox.oldest_pending_s)
        yield GaugeMetricFamily("listener_outbox_dead", "Alerts that failed for good (`listener alerts --dead`).",
                                value=outbox.dead)
        states = GaugeMetricFamily("listener_sources", "Configured sources by state: ok, new, failing, silent, "
                                   "disabled.", labels=["state"])
        for state in ("ok", "new", "failing", "silent", "disabled"):
            states.add_metric([state], sum(1 for s in summaries if s.state == state))
        yield states
        past = GaugeMetricFamily("listener_mentions_unanswered_past_sla",
                                 "Routed mentions past their SLA deadline with no response, per department.",
                                 labels=["department"])
        for department, count in sorted(late.items()):
            past.add_metric([department], count)
        yield past


class _Page:
    """This process's counters followed by the database's gauges, as one scrape."""

    def __init__(self, engine: Engine, clock: Clock):
        self.parts = (REGISTRY, StoreCollector(engine, clock))

    def collect(self):
        for part in self.parts:
            yield from part.collect()


def exposition(engine: Engine, clock: Clock = utcnow) -> bytes:
    """The page /metrics serves, in Prometheus' text format."""
    return generate_latest(_Page(engine, clock))
