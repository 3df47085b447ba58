"""Several `listener run` processes on one PostgreSQL share the work; a restarted one takes back
what it held when it died. Real processes, a real PostgreSQL, a real HTTP server."""

from __future__ import annotations

import time
from collections import Counter

import pytest
from alerting import COMPLAINT, PRAISE, QUESTION, ROUTING, feed
from conftest import ANY_PORT, write_config
from processes import wait_until
from sqlalchemy import func, select

from listener.store.engine import make_engine
from listener.store.tables import mentions, outbox

SOURCES = 24

SOURCE = """
[[sources]]
name = "blogg-{n}"
connector = "rss"
url = "{url}"
lang = "sv"
interval = "1h"
"""


@pytest.fixture(autouse=True)
def hook_secret(monkeypatch):
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")


def shared_config(tmp_path, server, db_url, name: str, sources: int) -> object:
    """One config file per instance (the instance id is derived from its path), same content."""
    hook = server.add("/hook", body=b"ok", content_type="text/plain", etag=False)
    routing = ROUTING.split("[[sources]]")[0].format(hook=hook, concurrency=4)
    routing = routing.replace('lease = "1s"', 'lease = "2m"')  # the default: no send outlasts it here
    body = routing + '\n[scheduler]\ntick = "1s"\nconcurrency = 3\n\n[logging]\nformat = "json"\n'
    for n in range(sources):
        url = server.add(f"/feed/{n}", body=feed(f"{COMPLAINT} ({n})", f"{PRAISE} ({n})", f"{QUESTION} ({n})"))
        body += SOURCE.format(n=n, url=url)
    folder = tmp_path / name
    folder.mkdir()
    return write_config(folder, ANY_PORT + body, db_url)


@pytest.mark.postgres
def test_three_instances_share_sources_and_alerts_without_doing_anything_twice(tmp_path, pg_url, server, daemons):
    configs = [shared_config(tmp_path, server, pg_url, f"i{k}", SOURCES) for k in range(3)]
    started = [daemons(config, f"i{k}") for k, config in enumerate(configs)]
    engine = make_engine(pg_url)

    def count(table, *where) -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

    def all_sent() -> bool:
        try:
            return count(mentions) == 3 * SOURCES and count(outbox) > 0 and count(outbox, outbox.c.state != "sent") == 0
        except Exception:  # the schema is being created
            return False

    wait_until(all_sent, 120, 0.5, "every mention stored and every alert sent")
    for d in started:  # each one runs (none exited, e.g. on a port in use), not just the quickest
        d.started()
    assert [d.stop() for d in started] == [0, 0, 0]
    fetches = Counter(r.path for r in server.requests if r.path.startswith("/feed/"))
    assert fetches == {f"/feed/{n}": 1 for n in range(SOURCES)}, "a source was polled twice"
    deliveries = Counter(r.headers["x-listener-delivery"] for r in server.received("/hook"))
    assert len(deliveries) == count(outbox) and max(deliveries.values()) == 1, "an alert was sent twice"
    pollers = [sum(e["event"] == "poll.done" for e in d.events()) for d in started]
    senders = [sum(e["event"] == "alert.sent" for e in d.events()) for d in started]
    assert sum(pollers) == SOURCES and sum(1 for p in pollers if p) >= 2, pollers
    assert sum(senders) == count(outbox), senders
    engine.dispose()


def test_a_restarted_instance_takes_back_its_own_leases_at_once(tmp_path, server, daemons):
    """The hanging source's lease lasts minutes; an instance with another id waits for it to run
    out, but the killed instance, restarted, polls it again at once."""
    server.add("/hang", mode="hang")
    good = server.add("/good", body=feed(PRAISE))
    body = f"""
[scheduler]
tick = "1s"

[http]
timeout = "30s"

[logging]
format = "json"

[[sources]]
name = "stuck"
connector = "rss"
url = "{server.url('/hang')}"

[[sources]]
name = "good"
connector = "rss"
url = "{good}"
"""
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    config_a = write_config(tmp_path / "a", ANY_PORT + body, db)
    config_b = write_config(tmp_path / "b", ANY_PORT + body, db)
    first = daemons(config_a, "a1")
    wait_until(lambda: server.received("/hang"), 60, what="the first poll of the hanging source")
    first.kill()

    other = daemons(config_b, "b")
    other.started()
    time.sleep(5)  # five of its ticks
    assert len(server.received("/hang")) == 1, "another instance took a lease that had not run out"
    assert other.stop() == 0

    again = daemons(config_a, "a2")
    wait_until(lambda: len(server.received("/hang")) == 2, 60, what="the restarted instance's poll of its source")
    taken = again.events("leases.taken_back")
    assert taken and taken[0]["sources"] >= 1
    again.kill()
