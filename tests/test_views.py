"""The analysts' views, on SQLite and PostgreSQL: the same columns, the same facts."""

from alembic import command
from reporting import WEEK_47, M, R, at, insert
from sqlalchemy import inspect, text

from listener.store.engine import alembic_config, upgrade

FACTS = ["mention_id", "source", "platform", "lang", "label", "question", "own", "author_name", "author_handle", "url",
         "published_at", "first_seen_at", "detection_lag_s", "departments", "first_response_at", "response_s",
         "business_response_s", "first_alert_at", "alert_lag_s"]
TIMES = ["mention_id", "department", "source", "platform", "lang", "label", "question", "own", "priority", "rule",
         "published_at", "first_response_at", "response_s", "business_response_s", "due_at", "sla_met", "escalated_at"]


def test_mention_facts_has_one_row_per_mention_with_its_departments_and_lags(engine):
    WEEK_47[1].alert_lag_s = 45
    try:
        ids = insert(engine, WEEK_47)
    finally:
        WEEK_47[1].alert_lag_s = None
    with engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM mention_facts ORDER BY mention_id"))
        assert list(result.keys()) == FACTS
        rows = [r._mapping for r in result]
    assert [r["mention_id"] for r in rows] == ids
    second = rows[1]
    assert second["departments"] == "comms, cs"
    assert second["source"] == "forum" and second["response_s"] == 18000
    assert round(second["detection_lag_s"], 3) == 120 and round(second["alert_lag_s"], 3) == 45
    assert rows[0]["departments"] == "cs" and rows[0]["alert_lag_s"] is None
    assert bool(rows[5]["own"]) is True


def test_response_times_has_one_row_per_mention_and_department_with_the_sla_verdict(engine):
    ids = insert(engine, WEEK_47[:3] + [M(at(20), routes=[R("cs", due_after_s=100 * 365 * 86400)])])
    with engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM response_times ORDER BY mention_id, department"))
        assert list(result.keys()) == TIMES
        rows = [(r.mention_id, r.department, r.response_s, r.sla_met) for r in result]
    assert rows == [
        (ids[0], "cs", 3600, 1),         # answered within its SLA
        (ids[1], "comms", 18000, None),  # comms has no SLA
        (ids[1], "cs", 18000, 0),        # late
        (ids[2], "cs", None, 0),         # unanswered and past due
        (ids[3], "cs", None, None),      # open, due in a hundred years: no verdict yet
    ]


def test_the_views_migration_goes_down_and_up_again(engine):
    command.downgrade(alembic_config(engine), "0004")
    assert "mention_facts" not in inspect(engine).get_view_names()
    upgrade(engine)
    assert {"mention_facts", "response_times"} <= set(inspect(engine).get_view_names())


def test_the_pipeline_stores_each_mentions_detection_lag_and_the_migration_fills_old_ones(engine):
    from datetime import timedelta

    from sqlalchemy import update

    from listener.config import Source
    from listener.connector import NoOptions
    from listener.domain import Author, Item
    from listener.pipeline import SourceRef, process
    from listener.store import sources as source_store
    from listener.store.tables import mentions

    seen = at(16, 12)
    with engine.begin() as conn:
        source_store.sync(conn, [Source("a", "rss", "http://x/feed", timedelta(minutes=15), True, NoOptions())], seen)
        (state,) = source_store.all_states(conn)
    items = [Item(external_id=f"i{n}", url=f"http://x/{n}", title="t", text="Hej hej", author=Author("A", "@a"),
                  published_at=published) for n, published in enumerate((at(16, 11), at(16, 13)))]
    process(engine, SourceRef(state.id, "a"), items, seen)
    query = text("SELECT detection_lag_s FROM mentions ORDER BY id")
    with engine.connect() as conn:
        assert [r[0] for r in conn.execute(query)] == [3600.0, 0.0]  # a publication time ahead of ours counts as 0
    with engine.begin() as conn:
        conn.execute(update(mentions).values(detection_lag_s=None))
    command.downgrade(alembic_config(engine), "0004")
    upgrade(engine)
    with engine.connect() as conn:
        assert [round(r[0], 3) for r in conn.execute(query)] == [3600.0, 0.0]
