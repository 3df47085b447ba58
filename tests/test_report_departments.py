"""The report by department reads the mention facts copied onto each route (migration 0008): the copies
follow every change to a mention, and the percentiles cut in the database equal numpy's, on SQLite
(both of its methods) and PostgreSQL."""

import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from alembic import command
from reporting import NOW, WEEK_47, M, R, insert
from sqlalchemy import delete, select, update

from listener.domain import Label
from listener.reports.departments import STEP_SHARE, _Period
from listener.reports.figures import compute
from listener.reports.periods import Period
from listener.store import labels as label_store
from listener.store import mentions as mention_store
from listener.store import responses as response_store
from listener.store.engine import alembic_config, upgrade
from listener.store.labels import LabelledText
from listener.store.tables import departments, mention_routes, mentions

W47 = Period("2026-W47", date(2026, 11, 16), date(2026, 11, 22))
FACTS = ("published_at", "own", "label", "question", "detection_lag_s")


def _copies_match(engine) -> int:
    """Asserts every route's facts equal its mention's; returns the number of routes."""
    with engine.connect() as conn:
        rows = conn.execute(select(*(mention_routes.c[f] for f in FACTS), *(mentions.c[f] for f in FACTS))
                            .join(mentions, mentions.c.id == mention_routes.c.mention_id)).all()
    for row in rows:
        assert tuple(row[:5]) == tuple(row[5:])
    return len(rows)


def _cs(engine):
    with engine.connect() as conn:
        return compute(conn, W47, now=NOW, by="department")["cs"]


def test_routes_carry_their_mentions_facts_through_every_change(engine):
    ids = insert(engine, WEEK_47)
    assert _copies_match(engine) == 8
    at = NOW
    with engine.begin() as conn:
        label_store.add_label(conn, ids[0], Label.PRAISE, by="Anna", via="web", at=at)
        label_store.import_labels(conn, [LabelledText("x", "sv", "neutral", ids[1])], by="Import", at=at)
        mention_store.set_classification(conn, [{"id": ids[2], "lang": "en", "label": "criticism", "score": -0.5,
                                                 "question": True}])
        conn.execute(update(mentions).where(mentions.c.id == ids[3])  # an analyst's correction in SQL
                     .values(published_at=datetime(2026, 11, 15, tzinfo=UTC), own=True))
    assert _copies_match(engine) == 8
    with engine.connect() as conn:
        copied = dict(conn.execute(select(mention_routes.c.mention_id, mention_routes.c.label)
                                   .where(mention_routes.c.mention_id.in_(ids[:3]))).all())
    assert copied == {ids[0]: "praise", ids[1]: "neutral", ids[2]: "criticism"}

    with engine.begin() as conn:
        conn.execute(delete(mentions).where(mentions.c.id == ids[0]))  # retention and forget delete mentions
    assert _copies_match(engine) == 7


def test_the_pipeline_writes_routes_with_their_mentions_facts(engine):
    from listener.config import Source
    from listener.connector import NoOptions
    from listener.domain import Author, Item
    from listener.pipeline import SourceRef, process
    from listener.store import sources as source_store

    seen = datetime(2026, 11, 16, 12, tzinfo=UTC)
    with engine.begin() as conn:
        source_store.sync(conn, [Source("a", "rss", "http://x/feed", timedelta(minutes=15), True, NoOptions())], seen)
        (state,) = source_store.all_states(conn)
    items = [Item(external_id=f"i{n}", url=f"http://x/{n}", title="t", text=text, author=Author("A", "@a"),
                  published_at=seen - timedelta(hours=n))
             for n, text in enumerate(("Tack, fantastiskt bra service!", "Värsta leveransen, helt oacceptabelt?"))]
    process(engine, SourceRef(state.id, "a"), items, seen)
    assert _copies_match(engine) == 2


def test_a_label_reclassification_and_response_move_the_report_by_department(engine):
    ids = insert(engine, WEEK_47)
    before = _cs(engine)
    assert (before.praise, before.criticism, before.neutral, before.questions) == (1, 2, 1, 2)
    with engine.begin() as conn:
        label_store.add_label(conn, ids[0], Label.PRAISE, by="Anna", via="cli", at=NOW)
    relabelled = _cs(engine)
    assert (relabelled.praise, relabelled.criticism) == (2, 1)

    with engine.begin() as conn:  # reclassify: the model's label shows where no person has labelled
        mention_store.set_classification(conn, [
            {"id": ids[0], "lang": "sv", "label": "neutral", "score": 0.0, "question": False},
            {"id": ids[1], "lang": "sv", "label": "neutral", "score": 0.0, "question": False},
        ])
    reclassified = _cs(engine)
    assert (reclassified.praise, reclassified.criticism, reclassified.neutral, reclassified.questions) == (2, 0, 2, 1)

    with engine.begin() as conn:  # the praise of 18 Nov answered after 2 hours, as `listener respond` records it
        response_store.fill_routes(conn, ids[2], datetime(2026, 11, 18, 12, tzinfo=UTC),
                                   lambda department, start, end: end - start)
    answered = _cs(engine)
    assert (answered.answered, answered.first_response_median_s) == (3, 7200.0)  # 3600, 7200, 18000


def _random_mentions(seed: int) -> list[M]:
    rng = random.Random(seed)
    start = datetime(2026, 9, 1, tzinfo=UTC)
    items = []
    for _ in range(300):
        routes = [R(d, rng.choice([None, rng.uniform(0, 90000)]), rng.choice([None, rng.uniform(0, 30000)]),
                    rng.choice([None, 4 * 3600]))
                  for d in rng.sample(["cs", "comms", "press"], rng.randint(1, 2))]
        items.append(M(start + timedelta(seconds=rng.uniform(0, 60 * 86400)), rng.choice(["praise", "neutral"]),
                       lag_s=round(rng.expovariate(1 / 300), 3), own=rng.random() < 0.05, routes=routes))
    return items


@pytest.mark.parametrize("first, last, steps", [
    (date(2026, 9, 1), date(2026, 10, 30), True),     # all of it: SQLite steps along the indexes
    (date(2026, 9, 10), date(2026, 9, 16), False),    # a week of two months: SQLite reads the week's routes
])
def test_percentiles_by_department_equal_numpys(engine, first, last, steps):
    items = _random_mentions(7)
    insert(engine, items)
    period = Period("p", first, last)
    with engine.connect() as conn:
        figures = compute(conn, period, now=NOW, by="department")
        if engine.dialect.name == "sqlite":
            cs = conn.execute(select(departments.c.id).where(departments.c.name == "cs")).scalar_one()
            assert (_Period(conn, cs, period.start, period.end).share() >= STEP_SHARE) is steps
    for department in ("cs", "comms", "press"):
        routes = [(m, r) for m in items for r in m.routes
                  if r.department == department and not m.own and period.start <= m.published_at < period.end]

        def cut(values, q):
            values = [v for v in values if v is not None]
            return round(float(np.percentile(values, q * 100)), 3) if values else None

        got = figures[department]
        assert got.mentions == len(routes)
        assert got.first_response_median_s == pytest.approx(cut([r.response_s for _, r in routes], 0.5), abs=1e-3)
        assert got.first_response_p90_s == pytest.approx(cut([r.response_s for _, r in routes], 0.9), abs=1e-3)
        assert got.business_first_response_median_s == pytest.approx(cut([r.business_s for _, r in routes], 0.5),
                                                                      abs=1e-3)
        assert got.detection_lag_median_s == pytest.approx(cut([m.lag_s for m, _ in routes], 0.5), abs=1e-3)


def test_a_percentile_whose_routes_were_pruned_after_counting_is_unknown_not_an_error(engine):
    """Retention may delete routes between the statement that counts them and the one that steps
    along the index (SQLite reads each statement at its latest commit)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("stepping along an index is SQLite's way; PostgreSQL uses percentile_cont")
    insert(engine, _random_mentions(7))
    period = Period("p", date(2026, 9, 1), date(2026, 10, 30))
    with engine.begin() as conn:
        cs = conn.execute(select(departments.c.id).where(departments.c.name == "cs")).scalar_one()
        counted = conn.execute(select(mention_routes.c.mention_id).where(
            mention_routes.c.department_id == cs, mention_routes.c.response_s.is_not(None))).all()
        conn.execute(delete(mention_routes).where(mention_routes.c.department_id == cs))
        step = _Period(conn, cs, period.start, period.end).step
        assert step("response_s", len(counted), 0.5) is None and step("response_s", len(counted), 0.9) is None


def test_the_migration_copies_the_facts_of_routes_stored_before_it(engine):
    command.downgrade(alembic_config(engine), "0007")
    insert(engine, WEEK_47)
    upgrade(engine)
    assert _copies_match(engine) == 8
    assert _cs(engine).criticism == 2
