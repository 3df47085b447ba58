"""Fault (b): the PostgreSQL server stops for 30 s while `listener run` works. The daemon stays up,
logs the outage once and its end, by itself stores what was published meanwhile and sends every
alert, and its /readyz answers 503 while the store does not answer and 200 again after."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest
from alerting import COMPLAINT, PRAISE, QUESTION, ROUTING, feed
from conftest import ANY_PORT, write_config
from privatepg import PrivatePostgres, binaries
from processes import wait_until
from sqlalchemy import func, select

from listener.store.engine import make_engine
from listener.store.tables import mentions, outbox

OUTAGE = 30
SOURCES = 3


@pytest.fixture
def postgres():
    bin_dir = binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    server = PrivatePostgres(bin_dir).init()
    yield server
    server.destroy()


@pytest.fixture(autouse=True)
def hook_secret(monkeypatch):
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")


def test_the_daemon_rides_out_a_stopped_postgresql_and_loses_nothing(tmp_path, server, daemons, postgres):
    hook = server.add("/hook", body=b"ok", content_type="text/plain", etag=False)
    body = ROUTING.split("[[sources]]")[0].format(hook=hook, concurrency=2)
    body = body.replace("[alerts]\n", '[alerts]\ntick = "1s"\n')
    body += '\n[scheduler]\ntick = "1s"\n\n[logging]\nformat = "json"\n'
    for s in range(SOURCES):
        url = server.add(f"/feed/{s}", body=feed(f"{COMPLAINT} ({s})", f"{PRAISE} ({s})"))
        body += f'\n[[sources]]\nname = "s{s}"\nconnector = "rss"\nurl = "{url}"\nlang = "sv"\ninterval = "30s"\n'
    daemon = daemons(write_config(tmp_path, ANY_PORT + body, postgres.url), "daemon")
    engine = make_engine(postgres.url)

    def settled(expected: int) -> bool:
        try:
            return _settled(expected)
        except Exception:  # the daemon has not created the schema yet
            return False

    def _settled(expected: int) -> bool:
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(mentions)).scalar_one()
            waiting = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.state != "sent")).scalar_one()
        return stored == expected and waiting == 0

    wait_until(lambda: settled(2 * SOURCES), 60, 0.5, "the first polls")
    (started,) = [e for e in daemon.events() if e["event"] == "daemon.started"]
    readyz = f"http://{started['web']}/readyz"
    assert httpx.get(readyz, timeout=10).status_code == 200
    engine.dispose()
    postgres.stop()
    stopped = time.monotonic()
    for s in range(SOURCES):  # published while the store is away
        server.add(f"/feed/{s}", body=feed(f"{COMPLAINT} ({s})", f"{PRAISE} ({s})", f"{QUESTION} ({s})"))
    answers = []
    while time.monotonic() - stopped < OUTAGE:
        assert daemon.running, "the daemon died with the database"
        answers.append(httpx.get(readyz, timeout=10))
        time.sleep(1)
    not_ready = [a for a in answers if a.status_code == 503]
    assert len(not_ready) >= len(answers) - 2, [a.status_code for a in answers]  # the first may still see the pool
    assert not_ready[-1].json()["store"].startswith("unreachable: ") and not_ready[-1].json()["ready"] is False
    postgres.start()
    restarted = time.monotonic()
    wait_until(lambda: settled(3 * SOURCES), 90, 0.5, "recovery")
    recovered_in = time.monotonic() - restarted
    wait_until(lambda: httpx.get(readyz, timeout=10).status_code == 200, 30, 0.5, "/readyz 200 again")
    assert daemon.running
    assert daemon.stop() == 0
    names = [e["event"] for e in daemon.events()]
    assert names.count("store.unavailable") == 1 and names.count("store.recovered") == 1
    failures = sum(n in ("poll.crashed", "alert.worker_failed", "poll.failed") for n in names)
    with engine.connect() as conn:
        ids = set(conn.execute(select(outbox.c.delivery_id)).scalars())
    received = Counter(r.headers["x-listener-delivery"] for r in server.received("/hook"))
    assert set(received) == ids
    engine.dispose()
    print(f"\nfault (b): PostgreSQL down {OUTAGE} s; daemon up throughout, {failures} failed polls/rounds logged; "
          f"/readyz 503 {len(not_ready)} of {len(answers)} times asked during the outage, 200 after; "
          f"everything published meanwhile stored and {len(ids)} alerts sent {recovered_in:.0f} s after it came back")
