"""SLA escalation: exactly one alert per unanswered (mention, department), none for what came before."""

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import FakeClock, write_config
from sqlalchemy import select

from listener.alerts.worker import Deliverer
from listener.config import Source, load_config
from listener.connector import NoOptions
from listener.domain import Author, Item
from listener.escalation import Escalator
from listener.pipeline import SourceRef, process
from listener.responses import OwnAccounts, record_response
from listener.routing import Router
from listener.store import routing as routing_store
from listener.store import sources as source_store
from listener.store.tables import departments, mention_routes, meta, outbox

STHLM = ZoneInfo("Europe/Stockholm")
MONDAY_8 = FakeClock().now.replace(hour=7)  # 2026-11-23 08:00 in Stockholm


def config_text(hook: str) -> str:
    return f"""
[routing]
default_department = "cs"

[[departments]]
name = "cs"
sla = "4h"
hours = "mon-fri 08:00-12:00,13:00-17:00"
timezone = "Europe/Stockholm"
escalate_after = "75%"
escalation_sinks = ["lead"]

[[departments]]
name = "press"

[[routes]]
name = "all"
department = ["cs", "press"]

[[sinks]]
name = "lead"
type = "webhook"
url = "{hook}"
"""


@pytest.fixture
def world(tmp_path, db_url, engine, server):
    hook = server.add("/lead", body=b"ok", content_type="text/plain", etag=False)
    config = load_config(write_config(tmp_path, config_text(hook), db_url))
    router = Router.from_config(config)
    clock = FakeClock(MONDAY_8)
    with engine.begin() as conn:
        source_store.sync(conn, [Source("toots", "rss", "http://x", timedelta(minutes=15), True, NoOptions())], clock())
        routing_store.sync_departments(conn, router)
        source_id = source_store.all_states(conn)[0].id

    def arrive(n: int, published_hour: int):
        item = Item(f"t{n}", f"https://example.social/{n}", "", "Var är min beställning?",
                    clock().replace(hour=published_hour - 1, minute=0), Author("Åsa", "asa"), "mastodon")
        process(engine, SourceRef(source_id, "toots"), [item], clock(), router, OwnAccounts())

    return config, clock, arrive, server


def escalations(engine):
    with engine.connect() as conn:
        return conn.execute(
            select(outbox.c.mention_id, outbox.c.sink, departments.c.name)
            .join(departments, departments.c.id == outbox.c.department_id).where(outbox.c.kind == "escalation")
        ).all()


def test_an_unanswered_mention_is_escalated_exactly_once(world, engine):
    config, clock, arrive, server = world
    Escalator(config, engine, clock).started()
    clock.advance(hours=1, minutes=5)
    arrive(1, published_hour=9)  # 09:00; 3h of open time (75% of 4h) runs out at 12:00
    with engine.connect() as conn:
        escalate_at = conn.execute(select(mention_routes.c.escalate_at).where(mention_routes.c.escalate_at.is_not(None))).scalar_one()
    assert escalate_at.astimezone(STHLM).hour == 12
    first, second = Escalator(config, engine, clock), Escalator(config, engine, clock)  # two daemons, one database
    clock.now = escalate_at - timedelta(minutes=1)
    assert first.run() == 0
    clock.now = escalate_at + timedelta(minutes=30)
    assert first.run() + second.run() == 1
    assert first.run() == 0 and second.run() == 0
    assert [(sink, dept) for _, sink, dept in escalations(engine)] == [("lead", "cs")]  # press has no SLA

    async def deliver():
        deliverer = Deliverer(config, engine, clock)
        try:
            return await deliverer.deliver_due()
        finally:
            await deliverer.aclose()

    assert asyncio.run(deliver()) == 1
    (request,) = server.received("/lead")
    body = request.json()
    assert body["kind"] == "escalation"
    assert body["escalation"] == "Unanswered for 3h, SLA 4h (business hours)"  # 12:00-12:30 is lunch


def test_a_response_before_the_escalation_time_prevents_it(world, engine):
    config, clock, arrive, _ = world
    Escalator(config, engine, clock).started()
    clock.advance(hours=1, minutes=5)
    arrive(1, published_hour=9)
    clock.advance(hours=2)
    with engine.begin() as conn:
        mention_id = conn.execute(select(mention_routes.c.mention_id)).scalars().first()
        record_response(conn, config, mention_id, at=clock(), by="Sara", via="cli", now=clock())
    clock.advance(hours=4)
    assert Escalator(config, engine, clock).run() == 0
    assert escalations(engine) == []


def test_mentions_published_before_the_first_start_are_never_escalated(world, engine):
    config, clock, arrive, _ = world
    clock.advance(hours=2)  # 10:00: the daemon starts for the first time now
    Escalator(config, engine, clock).started()
    arrive(1, published_hour=9)  # found now, written an hour before
    arrive(2, published_hour=10)
    clock.advance(days=1)
    escalator = Escalator(config, engine, clock)
    escalator.started()  # a restart does not move the first start
    assert escalator.run() == 1
    with engine.connect() as conn:
        assert conn.execute(select(meta.c.value).where(meta.c.key == "first_started_at")).scalar_one() == \
            MONDAY_8.replace(hour=9).isoformat()
    assert len(escalations(engine)) == 1
