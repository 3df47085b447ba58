"""/healthz, /readyz and /metrics, scraped from a real `listener run`."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
from conftest import write_config
from processes import DAEMON, wait_until
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, text

from listener.alerts.worker import Deliverer
from listener.config import load_config
from listener.http import HttpClient
from listener.scheduler import Daemon, Poller
from listener.store.engine import make_engine
from listener.web.app import build_app


def samples(body: str) -> dict[tuple, float]:
    """(name, sorted labels) → value, as Prometheus would read the page."""
    out = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def total(found: dict[tuple, float], name: str, **labels) -> float:
    return sum(v for (n, ls), v in found.items() if n == name and set(labels.items()) <= set(ls))


def test_a_running_daemon_serves_health_readiness_and_metrics(tmp_path, server, daemons):
    feed = server.add_fixture("/blog", "wordpress/wp_posts_feed_foolcontrol_v6.6.2.rss.xml")
    down = server.add("/down", status=500, content_type="text/plain", body=b"down")
    for path, status in (("/hook", 204), ("/busy", 503), ("/gone", 404)):
        server.add(path, status=status, content_type="text/plain")
    config = write_config(tmp_path, DAEMON + f"""
[alerts]
backoff = "1h"

[[departments]]
name = "communications"
sinks = ["hook", "busy", "gone"]

[[sinks]]
name = "hook"
type = "webhook"
url = "{server.url('/hook')}"

[[sinks]]
name = "busy"
type = "webhook"
url = "{server.url('/busy')}"

[[sinks]]
name = "gone"
type = "webhook"
url = "{server.url('/gone')}"

[[sources]]
name = "blog"
connector = "rss"
url = "{feed}"
interval = "1h"

[[sources]]
name = "down"
connector = "rss"
url = "{down}"
interval = "1h"
""")
    daemon = daemons(config)
    base = daemon.web_url()
    daemon.wait_for("poll.done", source="blog")
    daemon.wait_for("poll.failed", source="down")
    wait_until(lambda: len(server.received("/hook")) == 10 and len(server.received("/busy")) == 10
               and len(server.received("/gone")) == 10)

    assert httpx.get(f"{base}/healthz").text == "ok\n"

    ready = wait_until(lambda: (r := httpx.get(f"{base}/readyz")).status_code == 200 and r)
    body = ready.json()
    assert body["ready"] is True and body["store"] == "ok" and body["scheduler"]["ticking"] is True
    states = {s["name"]: (s["state"], s["failures"]) for s in body["sources"]}
    assert states == {"blog": ("ok", 0), "down": ("failing", 1)}

    page = wait_until(lambda: (r := httpx.get(f"{base}/metrics")) and "listener_alerts_total" in r.text and r)
    assert page.headers["content-type"].startswith("text/plain; version=")
    found = samples(page.text)
    assert total(found, "listener_polls_total", source="blog", outcome="ok") == 1
    assert total(found, "listener_polls_total", source="down", outcome="failed") == 1
    assert total(found, "listener_poll_duration_seconds_count", source="blog") == 1
    assert total(found, "listener_items_fetched_total", source="blog") == 10
    assert total(found, "listener_mentions_total") == 10
    assert total(found, "listener_mentions_total", lang="en") >= 1
    assert total(found, "listener_alerts_total", sink="hook", outcome="sent") == 10
    assert total(found, "listener_alerts_total", sink="busy", outcome="retried") == 10
    assert total(found, "listener_alerts_total", sink="gone", outcome="dead") == 10
    assert total(found, "listener_alert_delivery_seconds_count", sink="hook") == 10
    # read from the database at each scrape
    assert found[("listener_store_up", ())] == 1
    assert found[("listener_outbox_depth", ())] == 10  # the busy sink's, waiting an hour
    assert found[("listener_outbox_dead", ())] == 10
    assert found[("listener_outbox_oldest_age_seconds", ())] > 0
    assert total(found, "listener_sources", state="failing") == 1
    assert total(found, "listener_sources", state="ok") == 1

    engine = create_engine(f"sqlite:///{tmp_path / 'listener.db'}")
    with engine.begin() as conn:
        conn.execute(text("update mention_routes set due_at = '2020-01-01 00:00:00.000000' "
                          "where mention_id in (select mention_id from mention_routes limit 3)"))
        conn.execute(text("update mention_routes set first_response_at = '2020-01-01 00:00:00.000000' "
                          "where mention_id = (select min(mention_id) from mention_routes where due_at is not null)"))
    engine.dispose()
    found = samples(httpx.get(f"{base}/metrics").text)
    assert found[("listener_mentions_unanswered_past_sla", (("department", "communications"),))] == 2
    assert daemon.stop() == 0


def test_readyz_is_503_while_the_store_does_not_answer(tmp_path, server):
    config = load_config(write_config(tmp_path, f"""
[[sources]]
name = "blog"
connector = "rss"
url = "{server.url('/blog')}"
""", "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2"))
    engine = make_engine(config.database_url)

    async def ask():
        http = HttpClient(config.http)
        daemon = Daemon(Poller(config, engine, http), Deliverer(config, engine))
        daemon.last_tick = time.monotonic()
        app = build_app(config, engine)
        app.state.daemon = daemon
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://listener") as client:
                return (await client.get("/readyz"), await client.get("/healthz"), await client.get("/metrics"))
        finally:
            await http.aclose()
            await daemon.deliverer.aclose()

    ready, alive, scraped = asyncio.run(ask())
    assert ready.status_code == 503
    body = ready.json()
    assert body["ready"] is False and body["store"].startswith("unreachable: ")
    assert body["scheduler"]["ticking"] is True and body["sources"] == []
    assert alive.status_code == 200
    assert "listener_store_up 0.0" in scraped.text


def test_readyz_is_503_without_a_running_scheduler(tmp_path):
    config = load_config(write_config(tmp_path, ""))
    app = build_app(config, make_engine(config.database_url))

    async def ask():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://listener") as client:
            return await client.get("/readyz")

    response = asyncio.run(ask())
    assert response.status_code == 503 and response.json() == {"ready": False, "scheduler": "not running"}


def test_store_figures_agree_on_sqlite_and_postgresql(engine, clock):
    from listener.store import health as health_store
    from listener.store.tables import (
        departments,
        mention_routes,
        mentions,
        outbox,
        sources,
    )

    now = clock()
    hour = timedelta(hours=1)
    with engine.begin() as conn:
        ids = [conn.execute(sources.insert().values(
            name=name, connector="rss", url="", enabled=enabled, in_config=True, interval_s=900,
            next_poll_at=now, created_at=now, failures=failures, polls_with_new=0, silent=silent,
            last_success_at=now if ok else None)).inserted_primary_key[0]
            for name, enabled, failures, silent, ok in (
                ("a", True, 0, False, True), ("b", True, 2, False, True), ("c", True, 0, True, True),
                ("d", False, 0, False, False), ("e", True, 0, False, False))]
        dept = conn.execute(departments.insert().values(name="cs", in_config=True)).inserted_primary_key[0]
        for i, (due, answered) in enumerate(((now - hour, None), (now - hour, now), (now + hour, None))):
            mid = conn.execute(mentions.insert().values(
                source_id=ids[0], external_id=str(i), platform="rss", published_at=now, first_seen_at=now,
                content_hash=str(i))).inserted_primary_key[0]
            conn.execute(mention_routes.insert().values(mention_id=mid, department_id=dept, priority="normal",
                                                        rule="r", due_at=due, first_response_at=answered))
            for state, digest, age in (("pending", False, 2 * hour), ("pending", True, 5 * hour), ("dead", False, hour)):
                conn.execute(outbox.insert().values(
                    delivery_id=f"{i}{state}{digest}", mention_id=mid, department_id=dept, sink="s",
                    priority="normal", rule="r", digest=digest, state=state, attempts=0,
                    next_attempt_at=now, created_at=now - age - timedelta(minutes=i)))
    with engine.connect() as conn:
        figures = health_store.outbox_figures(conn, now)
        summaries = {s.name: s.state for s in health_store.source_summaries(conn)}
        late = health_store.unanswered_past_sla(conn, now)
    assert (figures.pending, figures.dead) == (6, 3)
    assert figures.oldest_pending_s == (2 * hour + timedelta(minutes=2)).total_seconds()  # digests wait on purpose
    assert summaries == {"a": "ok", "b": "failing", "c": "silent", "d": "disabled", "e": "new"}
    assert late == {"cs": 1}
