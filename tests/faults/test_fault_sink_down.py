"""Fault (e): the only sink is down for ten minutes, with the clock injected. Alerts keep being
written and retried; afterwards every one is delivered, highest priority first, oldest first
within a priority."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alerting import (
    COMPLAINT,
    PRAISE,
    QUESTION,
    ROUTING,
    deliver,
    feed,
    poll_and_deliver,
)
from conftest import write_config
from sqlalchemy import select

from listener.config import load_config
from listener.store.engine import make_engine, upgrade
from listener.store.tables import outbox

PRIORITY = {"high": 0, "normal": 1, "low": 2}


@pytest.fixture(autouse=True)
def hook_secret(monkeypatch):
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")


def test_alerts_written_while_the_sink_is_down_all_go_out_in_order_afterwards(tmp_path, server, clock):
    first = (f"{PRAISE} (1)", f"{QUESTION} (1)", f"{COMPLAINT} (1)")
    feed_url = server.add("/comments", body=feed(*first))
    hook = server.add("/hook", body=b"ok", content_type="text/plain", etag=False, status=503)
    body = ROUTING.format(hook=hook, feed=feed_url, concurrency=1)
    body = body.replace("max_attempts = 3", "max_attempts = 50").replace('backoff = "10s"', 'backoff = "20s"')
    config = load_config(write_config(tmp_path, body))
    engine = make_engine(config.database_url)
    upgrade(engine)
    down_at = clock()
    poll_and_deliver(config, engine, clock)
    second = False
    while clock() - down_at < timedelta(minutes=10):
        clock.advance(seconds=20)
        if not second and clock() - down_at >= timedelta(minutes=4):
            server.add("/comments", body=feed(*first, f"{COMPLAINT} (2)", f"{QUESTION} (2)", f"{PRAISE} (2)"))
            clock.advance(minutes=16)  # the source's next poll
            down_at += timedelta(minutes=16)
            poll_and_deliver(config, engine, clock)
            second = True
        else:
            assert deliver(config, engine, clock) == 0
    failed = len(server.received("/hook"))
    with engine.connect() as conn:
        rows = {r.delivery_id: r for r in conn.execute(select(outbox))}
    assert rows and all(r.state == "pending" and r.attempts >= 5 for r in rows.values())

    server.routes["/hook"].status = 200
    clock.advance(minutes=2)  # the longest backoff: every alert is due again
    assert deliver(config, engine, clock) == len(rows)
    delivered = [r.headers["x-listener-delivery"] for r in server.received("/hook")[failed:]]
    assert sorted(delivered) == sorted(rows), "every alert exactly once after the outage"
    order = [(PRIORITY[rows[d].priority], rows[d].created_at, rows[d].id) for d in delivered]
    assert order == sorted(order), "not highest priority first, oldest first"
    assert {rows[d].priority for d in delivered[:2]} == {"high"}
    with engine.connect() as conn:
        assert {r.state for r in conn.execute(select(outbox.c.state))} == {"sent"}
    print(f"\nfault (e): {len(rows)} alerts, {failed} failed attempts in 10 minutes down, "
          f"all delivered in one round afterwards, high priority first")
