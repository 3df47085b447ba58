"""Report figures against sums worked out by hand from tests/reporting.py, on SQLite and PostgreSQL."""

from datetime import date

import pytest
from reporting import BASELINE_JANUARY, NOW, WEEK_47, insert

from listener.reports.figures import Figures, build, change, compute
from listener.reports.periods import Period, parse_period

W47 = Period("2026-W47", date(2026, 11, 16), date(2026, 11, 22))
JANUARY = Period("before", date(2026, 1, 1), date(2026, 1, 31))


def test_figures_of_a_week_leave_own_mentions_and_other_weeks_out(engine):
    insert(engine, WEEK_47)
    with engine.connect() as conn:
        figures = compute(conn, W47, now=NOW)
    assert figures == {None: Figures(
        mentions=5, praise=2, criticism=2, neutral=1, praise_share=0.4, criticism_share=0.4, neutral_share=0.2,
        questions=2, answered=3, answered_share=0.6,
        first_response_median_s=10800.0,   # routes 600, 3600, 18000, 18000: halfway between 3600 and 18000
        first_response_p90_s=18000.0,
        business_first_response_median_s=4500.0,  # 600, 1800, 7200, 18000
        first_response_mean_s=10050.0, business_first_response_mean_s=6900.0,
        sla_met_share=pytest.approx(1 / 3),      # met 1, missed 2 (late, unanswered past due), 1 open not counted
        detection_lag_median_s=pytest.approx(60.0),
    )}


def test_figures_by_department(engine):
    insert(engine, WEEK_47)
    with engine.connect() as conn:
        figures = compute(conn, W47, now=NOW, by="department")
    assert list(figures) == ["comms", "cs"]
    assert figures["cs"] == Figures(
        mentions=4, praise=1, criticism=2, neutral=1, praise_share=0.25, criticism_share=0.5, neutral_share=0.25,
        questions=2, answered=2, answered_share=0.5, first_response_median_s=10800.0,
        first_response_p90_s=pytest.approx(16560.0), business_first_response_median_s=4500.0,
        first_response_mean_s=10800.0, business_first_response_mean_s=4500.0,
        sla_met_share=pytest.approx(1 / 3), detection_lag_median_s=pytest.approx(90.0),
    )
    assert figures["comms"] == Figures(
        mentions=2, praise=1, criticism=1, neutral=0, praise_share=0.5, criticism_share=0.5, neutral_share=0.0,
        questions=0, answered=2, answered_share=1.0, first_response_median_s=9300.0,
        first_response_p90_s=pytest.approx(16260.0), business_first_response_median_s=9300.0,
        first_response_mean_s=9300.0, business_first_response_mean_s=9300.0,
        sla_met_share=None, detection_lag_median_s=pytest.approx(75.0),
    )


def test_figures_by_week_list_every_week_of_the_period_even_empty_ones(engine):
    insert(engine, WEEK_47)
    with engine.connect() as conn:
        figures = compute(conn, parse_period("2026-11", date(2026, 11, 25)), now=NOW, by="week")
    assert list(figures) == ["2026-W44", "2026-W45", "2026-W46", "2026-W47", "2026-W48", "2026-W49"]
    assert figures["2026-W44"] == Figures()
    assert figures["2026-W46"].mentions == 1 and figures["2026-W46"].answered == 0
    assert figures["2026-W46"].first_response_median_s is None
    assert figures["2026-W47"].mentions == 5


@pytest.mark.parametrize("by, expected", [
    ("source", {"blog": 4, "forum": 1}), ("platform", {"mastodon": 1, "rss": 4}), ("lang", {"en": 1, "sv": 4}),
    ("label", {"criticism": 2, "neutral": 1, "praise": 2}), ("campaign", {"jul": 2, None: 3}),
])
def test_other_groupings_count_each_mention_in_its_group(engine, by, expected):
    insert(engine, WEEK_47)
    with engine.connect() as conn:
        figures = compute(conn, W47, now=NOW, by=by)
    assert {g: f.mentions for g, f in figures.items()} == expected


def test_an_empty_period_has_no_figures_not_zeros(engine):
    insert(engine, WEEK_47)
    with engine.connect() as conn:
        figures = compute(conn, parse_period("2025-W01", date(2026, 11, 25)), now=NOW)
    assert figures == {None: Figures()}


def test_baseline_beside_the_period_with_the_change(engine):
    insert(engine, WEEK_47 + BASELINE_JANUARY)
    with engine.connect() as conn:
        report = build(conn, W47, now=NOW, baseline=JANUARY)
    (row,) = report.rows
    assert row.baseline == Figures(
        mentions=2, praise=1, criticism=1, neutral=0, praise_share=0.5, criticism_share=0.5, neutral_share=0.0,
        questions=0, answered=1, answered_share=0.5, first_response_median_s=7200.0, first_response_p90_s=7200.0,
        business_first_response_median_s=7200.0, first_response_mean_s=7200.0,
        business_first_response_mean_s=7200.0, sla_met_share=0.5, detection_lag_median_s=300.0,
    )
    assert row.change.mentions == pytest.approx((5 / 7) / (2 / 31) - 1)
    assert row.change.neutral is None  # no baseline rate to compare with
    assert row.change.answered_share == pytest.approx(0.1)
    assert row.change.first_response_median_s == pytest.approx(3600.0)
    assert row.change.sla_met_share == pytest.approx(1 / 3 - 0.5)


def test_a_baseline_without_data_gives_nulls_beside_the_figures(engine):
    insert(engine, WEEK_47)
    with engine.connect() as conn:
        report = build(conn, W47, now=NOW, baseline=Period("2020-01", date(2020, 1, 1), date(2020, 1, 31)))
    (row,) = report.rows
    assert row.figures.mentions == 5
    assert row.baseline == Figures() and row.change == Figures()


def test_grouped_by_week_each_week_is_set_against_the_whole_baseline(engine):
    insert(engine, WEEK_47 + BASELINE_JANUARY)
    with engine.connect() as conn:
        report = build(conn, parse_period("2026-11-09..2026-11-22", date(2026, 11, 25)), now=NOW, by="week", baseline=JANUARY)
    assert [r.group for r in report.rows] == ["2026-W46", "2026-W47"]
    assert all(r.baseline.mentions == 2 for r in report.rows)


def test_change_compares_daily_rates_for_counts_and_differences_otherwise():
    assert change("mentions", 14, 30, 7, 30) == pytest.approx(1.0)
    assert change("answered_share", 0.7, 0.5, 7, 30) == pytest.approx(0.2)
    assert change("first_response_median_s", 1800, 3600, 7, 90) == -1800
    assert change("mentions", 3, 0, 7, 30) is None
    assert change("mentions", None, 3, 7, 30) is None and change("sla_met_share", 0.5, None, 7, 30) is None
