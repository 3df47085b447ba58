"""The daemon's recorder: polls that brought nothing new are written several to a transaction, on
SQLite and PostgreSQL alike; while the database is away the queue waits and keeps the leases."""

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from listener.config import Source
from listener.connector import NoOptions
from listener.recorder import Recorder
from listener.store import sources as source_store
from listener.store.engine import make_engine
from listener.store.tables import sources

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def claimed(engine, *names):
    with engine.begin() as conn:
        source_store.sync(conn, [Source(n, "rss", f"http://x/{n}", timedelta(minutes=15), True, NoOptions())
                                 for n in names], NOW)
        return source_store.claim_due(conn, NOW, 10, timedelta(minutes=5), owner="me")


def ended(state, etag):
    return source_store.success(state, now=NOW, next_poll_at=NOW + timedelta(minutes=15), etag=etag,
                                last_modified=None, cursor={"seen": etag}, silent=False)


def test_queued_polls_are_written_together_after_a_moment(engine):
    a, b = claimed(engine, "a", "b")

    async def go():
        recorder = Recorder(engine, every=0.1)
        recorder.add(ended(a, '"a1"'))
        recorder.add(ended(b, '"b1"'))
        recorder.add(ended(a, '"a2"'))  # a later poll of the same source replaces the queued one
        with engine.connect() as conn:
            before = {s.name: s for s in source_store.all_states(conn)}
        pending = sorted(recorder.pending())
        await asyncio.sleep(0.3)
        return before, pending, recorder.pending()

    before, pending, after = asyncio.run(go())
    assert before["a"].last_success_at is None and pending == sorted([a.id, b.id]) and after == []
    with engine.connect() as conn:
        states = {s.name: s for s in source_store.all_states(conn)}
    assert (states["a"].etag, states["a"].cursor, states["b"].etag) == ('"a2"', {"seen": '"a2"'}, '"b1"')
    assert all(s.last_success_at == NOW and s.next_poll_at == NOW + timedelta(minutes=15) for s in states.values())
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT lease_until, lease_owner FROM sources").all()
    assert rows == [(None, None), (None, None)]


def test_a_full_queue_is_written_at_once(engine):
    states = claimed(engine, *(f"s{n}" for n in range(5)))

    async def go():
        recorder = Recorder(engine, every=60, limit=5)
        for state in states:
            recorder.add(ended(state, '"x"'))
        return recorder.pending()

    assert asyncio.run(go()) == []
    with engine.connect() as conn:
        assert all(s.etag == '"x"' for s in source_store.all_states(conn))


def test_the_queue_waits_while_the_database_is_away(tmp_path, engine):
    (a,) = claimed(engine, "a")
    away = make_engine(f"sqlite:///{tmp_path / 'no such folder' / 'db.sqlite'}")

    async def go():
        recorder = Recorder(away, every=0.05)
        recorder.add(ended(a, '"a1"'))
        await asyncio.sleep(0.2)
        kept = recorder.pending()
        recorder.engine = engine  # the database is back
        await asyncio.sleep(1.5)
        return kept, recorder.pending()

    kept, after = asyncio.run(go())
    assert kept == [a.id] and after == []
    with engine.connect() as conn:
        assert source_store.get_state(conn, "a").etag == '"a1"'


def test_the_daemon_polls_nothing_while_polls_wait_to_be_recorded(tmp_path, server):
    """After an outage longer than a lease, the queued polls are written before any source is
    claimed again: a new poll of the same source would otherwise be overwritten by the old one."""
    from processes import blog_config

    from listener.alerts.worker import Deliverer
    from listener.config import load_config
    from listener.http import HttpClient
    from listener.scheduler import Daemon, Poller
    from listener.store.engine import upgrade

    db = tmp_path / "listener.db"
    config = load_config(blog_config(tmp_path, server, db_url=f"sqlite:///{db}"))
    engine = make_engine(f"sqlite:///{db}")
    upgrade(engine)
    with engine.begin() as conn:
        source_store.sync(conn, config.sources, NOW)
        (blog,) = source_store.claim_due(conn, NOW, 10, timedelta(minutes=5), owner="me")
    away = make_engine(f"sqlite:///{tmp_path / 'no such folder' / 'db.sqlite'}")

    async def go():
        daemon = Daemon(Poller(config, engine, HttpClient(config.http)), Deliverer(config, engine))
        daemon.recorder.engine = away
        daemon.recorder.add(ended(blog, '"queued"'))
        daemon.recorder.flush()
        with engine.begin() as conn:  # the lease ran out during the outage
            source_store.release(conn, [blog.id])
        await daemon.tick()
        waiting = (daemon.recorder.pending(), list(daemon.in_flight))
        daemon.recorder.engine = engine  # the database is back
        await daemon.tick()
        back = (daemon.recorder.pending(), list(daemon.in_flight))
        for task in list(daemon.in_flight.values()):
            task.cancel()
        await asyncio.gather(*daemon.in_flight.values(), return_exceptions=True)
        return waiting, back

    waiting, back = asyncio.run(go())
    assert waiting == ([blog.id], [])
    assert back[0] == []
    with engine.connect() as conn:
        assert source_store.get_state(conn, "blog").etag == '"queued"'


def test_a_late_write_leaves_a_source_another_instance_has_leased_since(engine):
    a, b = claimed(engine, "a", "b")
    with engine.begin() as conn:  # after a long outage another instance took "b" and polls it
        conn.execute(sources.update().where(sources.c.id == b.id).values(lease_owner="other"))

    async def go():
        recorder = Recorder(engine, every=60, owner="me")
        recorder.add(ended(a, '"a1"'))
        recorder.add(ended(b, '"b-old"'))
        return recorder.flush()

    assert asyncio.run(go())
    with engine.connect() as conn:
        assert source_store.get_state(conn, "a").etag == '"a1"'
        kept = conn.execute(select(sources.c.etag, sources.c.lease_owner).where(sources.c.id == b.id)).one()
    assert kept.lease_owner == "other" and kept.etag != '"b-old"'
