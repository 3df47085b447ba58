"""Leases and once-only job runs, on SQLite and PostgreSQL, with the clock injected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from test_store import add_sources

from listener.store import leases
from listener.store import sources as source_store

LEASE = timedelta(minutes=2)


def claim(engine, clock, owner):
    with engine.begin() as conn:
        return [s.name for s in source_store.claim_due(conn, clock(), 10, LEASE, owner=owner)]


def test_a_dead_instances_sources_are_taken_over_when_the_lease_runs_out(engine, clock):
    add_sources(engine, "a", "b")
    assert sorted(claim(engine, clock, "one")) == ["a", "b"]
    assert claim(engine, clock, "two") == []
    clock.advance(minutes=1)
    assert claim(engine, clock, "two") == []
    clock.advance(minutes=1, seconds=1)
    assert sorted(claim(engine, clock, "two")) == ["a", "b"]


def test_a_restarted_instance_takes_its_own_leases_back(engine, clock):
    add_sources(engine, "a", "b")
    claim(engine, clock, "one")
    with engine.begin() as conn:
        assert leases.take_back(conn, "someone-else") == (0, 0)
        assert leases.take_back(conn, "one") == (2, 0)
    assert sorted(claim(engine, clock, "one")) == ["a", "b"]


def test_a_job_runs_once_per_slot(engine, clock):
    runs = []
    for owner in ("one", "two", "one"):
        with leases.run_once(engine, "digest:sales", "2026-11-23T08:00", owner, clock) as mine:
            if mine:
                runs.append(owner)
    assert runs == ["one"]
    with leases.run_once(engine, "digest:sales", "2026-11-24T08:00", "two", clock) as mine:
        assert mine


def test_a_failed_run_gives_its_slot_back(engine, clock):
    with pytest.raises(RuntimeError), leases.run_once(engine, "retention", "2026-11-23", "one", clock) as mine:
        assert mine
        raise RuntimeError("disk on fire")
    with leases.run_once(engine, "retention", "2026-11-23", "two", clock) as mine:
        assert mine


def test_a_run_whose_instance_died_is_taken_over_after_its_lease(engine, clock):
    held = leases.run_once(engine, "retention", "2026-11-23", "one", clock, lease=timedelta(minutes=10))
    assert held.__enter__() is True  # and the process dies: never finished
    with leases.run_once(engine, "retention", "2026-11-23", "two", clock) as mine:
        assert not mine
    clock.advance(minutes=11)
    with leases.run_once(engine, "retention", "2026-11-23", "two", clock) as mine:
        assert mine
    with leases.run_once(engine, "retention", "2026-11-23", "three", clock) as mine:
        assert not mine


def test_the_instance_id_is_stable_and_differs_per_config(tmp_path, monkeypatch):
    monkeypatch.delenv(leases.ENV_VAR, raising=False)
    a, b = tmp_path / "a.toml", tmp_path / "b.toml"
    assert leases.instance_id(a) == leases.instance_id(a) != leases.instance_id(b)
    monkeypatch.setenv(leases.ENV_VAR, "web-2")
    assert leases.instance_id(a) == "web-2"


def test_a_digest_goes_out_once_per_scheduled_minute_across_instances(tmp_path, db_url, server, clock, monkeypatch):
    import asyncio

    from alerting import PRAISE, feed, poll_and_deliver, setup
    from test_alerts import DIGEST, hook_requests

    from listener.alerts.worker import Deliverer
    from listener.config import load_config
    from listener.http import HttpClient
    from listener.scheduler import Daemon, Poller

    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")
    path, config, engine = setup(tmp_path, db_url, server, texts=(PRAISE,))
    path.write_text(path.read_text().replace("[[sources]]", DIGEST.format(priority="normal") + "\n[[sources]]", 1))
    config = load_config(path)

    def digest(owner: str) -> None:
        async def go():
            async with HttpClient(config.http) as http:
                deliverer = Deliverer(config, engine, clock, owner=owner)
                try:
                    await Daemon(Poller(config, engine, http, clock, owner=owner), deliverer).digest("press")
                finally:
                    await deliverer.aclose()

        asyncio.run(go())

    poll_and_deliver(config, engine, clock)
    digest("one")
    assert len(hook_requests(server)) == 1
    server.add("/comments", body=feed(PRAISE, PRAISE + " Igen!"))
    clock.advance(seconds=20)
    poll_and_deliver(config, engine, clock)  # a new digest alert, pending
    digest("two")  # the same scheduled minute, already run by another instance
    assert len(hook_requests(server)) == 1
    clock.advance(minutes=1)
    digest("two")
    assert len(hook_requests(server)) == 2
