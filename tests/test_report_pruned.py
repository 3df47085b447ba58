"""Reports over days that retention pruned: counts, shares, SLA and means from ``daily_figures`` equal
what the mentions gave before, worked out by hand; medians and percentiles from ``daily_histograms``
are within a bucket (9 %) of the exact ones and marked approximate. On SQLite and PostgreSQL, the
clock fixed at reporting.NOW."""

import csv
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime

import numpy as np
import pytest
from reporting import BASELINE_JANUARY, NOW, WEEK_47, M, R, at, insert, run

from listener.reports.figures import APPROXIMATE, FIGURES, PRUNED_NOTE, Figures, compute
from listener.reports.periods import Period
from listener.reports.pruned import UNKNOWN_CAMPAIGN, first_day
from listener.store import histogram, retention
from listener.store.engine import make_engine, upgrade

JANUARY = Period("before", date(2026, 1, 1), date(2026, 1, 31))
YEAR = Period("2026", date(2026, 1, 1), date(2026, 12, 31))
W47 = Period("2026-W47", date(2026, 11, 16), date(2026, 11, 22))
FEBRUARY = datetime(2026, 2, 1, tzinfo=UTC)

BASELINE = BASELINE_JANUARY + [
    M(at(7, month=1), "neutral", question=True, lag_s=40, routes=[R("cs", 3600, 1800, 7200), R("comms", 600, 600)],
      source="forum", lang="en", campaigns=("jul",)),
    M(at(8, month=1), "praise", own=True, routes=[R("comms", 60, 60)]),
]
"""Three January mentions that count: a criticism answered in 2 h (SLA 4 h: met), a praise
unanswered past its 1 h deadline (missed), and a neutral question routed to cs (1 h, met) and
comms (10 min, no deadline); and one own mention, never counted."""

JANUARY_TOTAL = Figures(
    mentions=3, praise=1, criticism=1, neutral=1, praise_share=1 / 3, criticism_share=1 / 3, neutral_share=1 / 3,
    questions=1, answered=2, answered_share=2 / 3,
    first_response_mean_s=3800.0,           # routes 7200, 3600, 600
    business_first_response_mean_s=3200.0,  # 7200, 1800, 600
    sla_met_share=2 / 3, pruned=3,
)


def close(before: Figures, after: Figures) -> None:
    """Each approximate figure within a bucket's width of the exact one."""
    for name in APPROXIMATE:
        exact, estimate = getattr(before, name), getattr(after, name)
        assert abs(estimate - exact) <= histogram.ACCURACY * exact, name


def _pruned(engine):
    assert retention.prune(engine, FEBRUARY) == 4


def test_a_pruned_baseline_keeps_its_counts_shares_sla_and_means(engine):
    insert(engine, WEEK_47 + BASELINE)
    with engine.connect() as conn:
        before = compute(conn, JANUARY, now=NOW)[None]
    assert before.first_response_median_s == 3600.0 and before.pruned == 0
    _pruned(engine)
    with engine.connect() as conn:
        after = compute(conn, JANUARY, now=NOW)[None]
    assert replace(after, **dict.fromkeys(APPROXIMATE)) == JANUARY_TOTAL
    assert all(getattr(before, n) == pytest.approx(getattr(after, n)) for n in FIGURES if n not in APPROXIMATE)
    close(before, after)


def test_by_department_a_pruned_baseline_counts_each_route(engine):
    insert(engine, WEEK_47 + BASELINE)
    _pruned(engine)
    with engine.connect() as conn:
        figures = compute(conn, JANUARY, now=NOW, by="department")
    assert list(figures) == ["comms", "cs"]
    cs, comms = figures["cs"], figures["comms"]
    assert (cs.mentions, cs.praise, cs.criticism, cs.neutral, cs.questions, cs.answered) == (3, 1, 1, 1, 1, 2)
    assert cs.first_response_mean_s == 5400.0 and cs.business_first_response_mean_s == 4500.0  # 7200, 3600 / 7200, 1800
    assert cs.sla_met_share == pytest.approx(2 / 3) and cs.pruned == 3
    assert abs(cs.first_response_median_s - 5400) <= histogram.ACCURACY * 5400  # halfway between 3600 and 7200
    assert (comms.mentions, comms.answered, comms.first_response_mean_s, comms.sla_met_share) == (1, 1, 600.0, None)


@pytest.mark.parametrize("by, expected", [
    ("source", {"blog": 2, "forum": 1}), ("lang", {"en": 1, "sv": 2}), ("platform", {"rss": 3}),
    ("label", {"criticism": 1, "neutral": 1, "praise": 1}), ("campaign", {UNKNOWN_CAMPAIGN: 3}),
    ("week", {"2026-W01": None, "2026-W02": 3, "2026-W03": None, "2026-W04": None, "2026-W05": None}),
])
def test_other_groupings_count_each_pruned_mention_once_in_its_group(engine, by, expected):
    insert(engine, BASELINE)
    _pruned(engine)
    with engine.connect() as conn:
        figures = compute(conn, JANUARY, now=NOW, by=by)
    assert {g: f.mentions for g, f in figures.items()} == expected


def test_a_period_of_stored_and_pruned_days_sums_both(engine):
    insert(engine, WEEK_47 + BASELINE)
    with engine.connect() as conn:
        before = compute(conn, YEAR, now=NOW)[None]
    _pruned(engine)
    with engine.connect() as conn:
        after = compute(conn, YEAR, now=NOW)[None]
    # Stored: W47's five and W46's one; their routes 3600, 18000, 18000, 600 (business 1800, 7200, 18000, 600).
    assert (after.mentions, after.answered, after.questions, after.pruned) == (9, 5, 3, 3)
    assert after.first_response_mean_s == pytest.approx((3800 * 3 + 40200) / 7)
    assert after.business_first_response_mean_s == pytest.approx((3200 * 3 + 27600) / 7)
    assert after.sla_met_share == pytest.approx((2 + 1) / (3 + 3))
    assert all(getattr(before, n) == pytest.approx(getattr(after, n)) for n in FIGURES if n not in APPROXIMATE)
    close(before, after)
    with engine.connect() as conn:  # a period of stored days only is as before, percentiles and all
        assert compute(conn, W47, now=NOW)[None].first_response_median_s == 10800.0


def test_a_utc_day_belongs_to_the_period_its_midnight_falls_in():
    stockholm = Period("jan", date(2026, 1, 1), date(2026, 1, 31), "Europe/Stockholm")
    assert first_day(stockholm.start) == date(2026, 1, 1) and first_day(stockholm.end) == date(2026, 2, 1)
    assert first_day(datetime(2026, 1, 1, tzinfo=UTC)) == date(2026, 1, 1)


def test_a_day_pruned_before_migration_0010_shows_questions_and_sla_as_unavailable(engine):
    key = (date(2026, 1, 5), "blog", "rss", "sv", "praise", "cs")
    with engine.begin() as conn:
        retention.add_figures(conn, {key: retention.Figures(mentions=2, answered=1, response_s_sum=60.0,
                                                            response_s_count=1, distinct_mentions=2,
                                                            distinct_answered=1)})
        conn.execute(retention.daily_figures.update().values(questions=None, sla_met=None, sla_missed=None))
    with engine.connect() as conn:
        figures = compute(conn, JANUARY, now=NOW)[None]
    assert (figures.mentions, figures.answered, figures.first_response_mean_s) == (2, 1, 60.0)
    assert figures.questions is None and figures.sla_met_share is None
    assert all(getattr(figures, n) is None for n in APPROXIMATE)  # no histograms before 0010


def test_every_format_marks_figures_that_count_pruned_days(report_store, tmp_path):
    engine, config = report_store
    insert(engine, WEEK_47 + BASELINE)
    _pruned(engine)
    common = ("report", "--period", "2026-W47", "--baseline", "before-social")
    out = json.loads(run(config, *common, "--format", "json"))
    assert out["note"] == PRUNED_NOTE
    (row,) = out["rows"]
    assert row["pruned"] == 0 and row["baseline"]["pruned"] == 3 and row["baseline"]["mentions"] == 3
    assert abs(row["baseline"]["first_response_median_s"] - 3600) <= histogram.ACCURACY * 3600
    assert row["baseline"]["first_response_mean_s"] == 3800.0 and row["change"]["first_response_mean_s"] == 10050 - 3800
    (line,) = csv.DictReader(io.StringIO(run(config, *common, "--format", "csv")))
    assert line["baseline_pruned"] == "3" and line["note"] == PRUNED_NOTE and line["baseline_first_response_median_s"] != ""
    table = run(config, *common)
    assert f"* {PRUNED_NOTE}" in table
    median = next(x for x in table.splitlines() if x.strip().startswith("First response, median "))
    assert "≈ 1 h" in median and median.count("≈") == 1  # the baseline's; the period has no pruned days
    assert next(x for x in table.splitlines() if "of which pruned" in x).split()[-2:] == ["0", "3"]
    page = tmp_path / "r.html"
    run(config, *common, "--format", "html", "-o", str(page))
    html = page.read_text(encoding="utf-8")
    assert "of which pruned *" in html and "≈ 1 h" in html and PRUNED_NOTE.replace("[", "[") in html.replace("&#x27;", "'")
    stored_only = run(config, "report", "--period", "2026-W47", "--baseline", "2026-W46")
    assert "pruned" not in stored_only


@pytest.mark.parametrize("q", [0.5, 0.9])
def test_percentiles_from_buckets_are_within_a_bucket_of_the_exact_ones(q):
    values = np.random.default_rng(7).lognormal(8, 2, size=(50, 101))
    for sample in [*values, np.array([0.2, 0.5, 7200.0]), np.array([600.0])]:
        exact = np.percentile(sample, q * 100)
        estimate = histogram.percentile(histogram.counts(sample), q)
        assert abs(estimate - exact) <= max(histogram.ACCURACY * exact, 1.0)
    assert histogram.percentile(histogram.counts(np.array([np.nan])), q) is None


def test_migration_0010_keeps_rows_pruned_before_it_as_far_as_they_go(db_url):
    engine = make_engine(db_url)
    upgrade(engine, "0009")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO daily_figures (day, source, platform, lang, label, department, mentions, answered, "
            "response_s_sum, response_s_count, business_response_s_sum, business_response_s_count) "
            "VALUES ('2026-01-05', 'blog', 'rss', 'sv', 'praise', 'cs', 2, 1, 60.0, 1, 30.0, 1)")
    upgrade(engine)
    with engine.connect() as conn:
        figures = compute(conn, JANUARY, now=NOW)[None]
    engine.dispose()
    assert (figures.mentions, figures.praise, figures.answered, figures.first_response_mean_s) == (2, 2, 1, 60.0)
    assert figures.questions is None and figures.sla_met_share is None and figures.first_response_median_s is None
