"""The store, on SQLite and on PostgreSQL alike."""

from datetime import UTC, datetime, timedelta

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select

from listener.config import Source
from listener.connector import NoOptions
from listener.domain import Author, Item
from listener.pipeline import SourceRef, dedupe, normalise, process
from listener.store import mentions as mention_store
from listener.store import sources as source_store
from listener.store.engine import alembic_config, current_revision, upgrade
from listener.store.tables import mentions

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def src(name, url="http://x/feed", connector="rss", enabled=True):
    return Source(name, connector, url, timedelta(minutes=15), enabled, NoOptions())


def add_sources(engine, *names):
    with engine.begin() as conn:
        source_store.sync(conn, [src(n) for n in names], NOW)
        return {s.name: s for s in source_store.all_states(conn)}


def item(n, text="A long enough text to be recognised when copied elsewhere.", **kw):
    return Item(external_id=f"id-{n}", url=f"http://x/{n}", title=f"title {n}", text=text,
                published_at=kw.pop("published_at", NOW - timedelta(hours=n)), author=Author("Åsa", "@asa"), **kw)


def test_migrations_create_the_schema_and_are_idempotent(engine):
    assert {"sources", "mentions", "alembic_version"} <= set(inspect(engine).get_table_names())
    upgrade(engine)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert current_revision(engine) == head


def test_each_mention_is_stored_once_per_source_and_external_id(engine):
    states = add_sources(engine, "a")
    first = process(engine, SourceRef(states["a"].id, "a"), [item(1), item(2), item(1)], NOW)
    assert (first.seen, first.new) == (3, 2)
    again = process(engine, SourceRef(states["a"].id, "a"), [item(1), item(2), item(3)], NOW + timedelta(minutes=15))
    assert again.new == 1
    with engine.connect() as conn:
        assert mention_store.count(conn) == 3


def test_times_round_trip_as_utc(engine):
    states = add_sources(engine, "a")
    stockholm = datetime(2026, 11, 23, 9, 30, tzinfo=UTC) + timedelta(hours=0)
    process(engine, SourceRef(states["a"].id, "a"), [item(1, published_at=stockholm)], NOW)
    with engine.connect() as conn:
        (row,) = mention_store.query(conn, mention_store.MentionFilter())
    assert row["published_at"] == stockholm and row["published_at"].tzinfo == UTC
    assert row["first_seen_at"] == NOW
    assert row["author"] == "Åsa"


def test_same_text_through_two_sources_is_recognised(engine):
    states = add_sources(engine, "a", "b")
    process(engine, SourceRef(states["a"].id, "a"), [item(1), item(2, text="short")], NOW)
    process(engine, SourceRef(states["b"].id, "b"), [item(7, text="A long  enough text to be recognised when copied elsewhere."),
                                         item(8, text="short")], NOW)
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(mentions))}
    assert rows["id-7"].duplicate_of == rows["id-1"].id
    assert rows["id-1"].duplicate_of is None
    assert rows["id-8"].duplicate_of is None  # too short to call it a copy


def test_query_filters(engine):
    states = add_sources(engine, "a", "b")
    process(engine, SourceRef(states["a"].id, "a"), [item(1, text="Leveransen kom ikke frem, og ingen svarer"), item(50, text="100% nöjd_kund")], NOW)
    process(engine, SourceRef(states["b"].id, "b"), [item(2, text="Tack för hjälpen")], NOW)
    with engine.connect() as conn:
        def ids(**kw):
            return [r["title"] for r in mention_store.query(conn, mention_store.MentionFilter(**kw))]

        assert ids() == ["title 1", "title 2", "title 50"]
        assert ids(source="b") == ["title 2"]
        assert ids(since=NOW - timedelta(hours=3)) == ["title 1", "title 2"]
        assert ids(search="LEVERANSEN") == ["title 1"]
        assert ids(search="100%") == ["title 50"]
        assert ids(search="0%") == ["title 50"]
        assert ids(search="_k") == ["title 50"]
        assert ids(search="%") == ["title 50"]
        assert ids(limit=1) == ["title 1"]
        assert ids(lang="sv") == ["title 2", "title 50"]
        assert ids(lang="sv", label="praise") == ["title 2", "title 50"]
        assert ids(label="criticism") == []


def test_sync_keeps_history_and_resets_validators_on_a_new_url(engine):
    add_sources(engine, "a", "b")
    with engine.begin() as conn:
        a = source_store.get_state(conn, "a")
        source_store.record_success(conn, a, now=NOW, next_poll_at=NOW + timedelta(minutes=15), etag='"e1"',
                                    last_modified=None, cursor={"k": 1}, new=2, silent=False)
        source_store.sync(conn, [src("a", url="http://y/feed"), src("c", enabled=False)], NOW)
        states = {s.name: s for s in source_store.all_states(conn)}
    assert states["a"].url == "http://y/feed" and states["a"].etag is None and states["a"].cursor is None
    assert states["a"].last_success_at == NOW
    assert states["b"].in_config is False
    assert states["c"].enabled is False


def test_claim_due_leases_sources(engine):
    add_sources(engine, "a", "b")
    lease = timedelta(minutes=2)
    with engine.begin() as conn:
        assert {s.name for s in source_store.claim_due(conn, NOW, 10, lease)} == {"a", "b"}
    with engine.begin() as conn:
        assert source_store.claim_due(conn, NOW, 10, lease) == []  # leased
        assert {s.name for s in source_store.claim_due(conn, NOW + timedelta(minutes=3), 1, lease)} <= {"a", "b"}


def test_normalise_clamps_the_future_and_fills_missing_times():
    later = NOW + timedelta(days=3)
    out = normalise([item(1, published_at=later), item(2, published_at=None)], "a", NOW)
    assert [m.published_at for m in out] == [NOW, NOW]
    assert out[0].label is None and out[0].lang is None  # classify is a later stage
    assert len(dedupe(out + out)) == 2


def test_a_repoll_classifies_only_what_is_new(engine, monkeypatch):
    from listener import pipeline

    states = add_sources(engine, "a")
    classified = []
    real = pipeline.classify_batch
    monkeypatch.setattr(pipeline, "classify_batch", lambda texts, model=None: classified.append(len(texts)) or real(texts, model))
    process(engine, SourceRef(states["a"].id, "a"), [item(1), item(2)], NOW)
    process(engine, SourceRef(states["a"].id, "a"), [item(1), item(2), item(3)], NOW)
    assert classified == [2, 1]
