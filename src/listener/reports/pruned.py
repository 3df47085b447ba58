"""What retention left of pruned mentions (``daily_figures``), summed per report group for a period.

A UTC day counts in a period when its midnight falls in it, so consecutive periods share no day; in
a zone other than UTC a period's first and last few hours of pruned mentions go to the neighbouring
period. The rows hold counts and sums, so counts, shares, SLA and mean response times stay exact;
medians and percentiles come from ``daily_histograms`` and are approximate (histogram.py). Campaign tags are not kept: by campaign, pruned mentions form one group of
their own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import Connection, case, func, select

from listener.reports.periods import Period
from listener.store import histogram
from listener.store.tables import daily_figures, daily_histograms

UNKNOWN_CAMPAIGN = "(pruned: campaign not kept)"

SUMMED = ("mentions", "praise", "criticism", "neutral", "questions", "answered", "met", "missed",
          "response_sum", "response_count", "business_sum", "business_count")


def first_day(moment: datetime) -> date:
    """The first UTC day whose midnight is at or after ``moment``."""
    utc = moment.astimezone(UTC)
    return utc.date() if utc.time() == time(0) else utc.date() + timedelta(days=1)


def pruned(conn: Connection, period: Period, by: str | None) -> dict[str | None, dict]:
    """{group: sums of SUMMED} (questions, met and missed None where a row pruned before migration
    0010 does not know them; "spread" True when every row has its histograms). Groups are names, as
    the report shows them; by department, mentions routed nowhere are left out, as the report by
    department leaves them out."""
    d = daily_figures.c
    per_department = by == "department"
    weight = {"mentions": d.mentions, "questions": d.questions, "answered": d.answered} if per_department else \
        {"mentions": d.distinct_mentions, "questions": d.distinct_questions, "answered": d.distinct_answered}
    columns = [
        func.sum(weight["mentions"]).label("mentions"),
        *(func.sum(case((d.label == label, weight["mentions"]), else_=0)).label(label)
          for label in ("praise", "criticism", "neutral")),
        func.sum(weight["questions"]).label("questions"),
        func.sum(weight["answered"]).label("answered"),
        func.sum(d.sla_met).label("met"), func.sum(d.sla_missed).label("missed"),
        func.sum(d.response_s_sum).label("response_sum"), func.sum(d.response_s_count).label("response_count"),
        func.sum(d.business_response_s_sum).label("business_sum"),
        func.sum(d.business_response_s_count).label("business_count"),
        func.count().label("rows"), func.count(d.questions).label("known"),
    ]
    out: dict = defaultdict(lambda: dict.fromkeys(SUMMED, 0) | {"spread": True})
    for row in conn.execute(_select(daily_figures, period, by, columns)):
        m = row._mapping
        if not m["rows"] or not m["mentions"]:
            continue
        total = out[_key(m, by, period)]
        total["spread"] = total["spread"] and m["known"] == m["rows"]
        for name in SUMMED:
            if total[name] is None or (name in ("questions", "met", "missed") and m["known"] < m["rows"]):
                total[name] = None
            else:
                total[name] += m[name] or 0
    return dict(out)


def histograms(conn: Connection, period: Period, by: str | None) -> dict[str | None, dict[str, np.ndarray]]:
    """{group: {figure: merged histogram}} of the period's pruned days, grouped as ``pruned``. Detection
    lag is "detection_lag_s": per route by department, per mention otherwise."""
    h = daily_histograms.c
    lag = "detection_lag_s" if by == "department" else "mention_detection_lag_s"
    figures = {"response_s": "response_s", "business_response_s": "business_response_s", lag: "detection_lag_s"}
    q = _select(daily_histograms, period, by, [h.figure, h.bucket, func.sum(h.count).label("n")])
    q = q.where(h.figure.in_(figures)).group_by(h.figure, h.bucket)
    out: dict = defaultdict(lambda: {name: np.zeros(histogram.SIZE, dtype=int) for name in figures.values()})
    for row in conn.execute(q):
        m = row._mapping
        out[_key(m, by, period)][figures[m["figure"]]][m["bucket"]] += m["n"]
    return dict(out)


def _column(table, by: str | None):
    return {"department": table.department, "source": table.source, "platform": table.platform,
            "lang": table.lang, "label": table.label, "week": table.day}.get(by)


def _select(table, period: Period, by: str | None, columns: list):
    """One read of the period's days, grouped as the report groups."""
    group = _column(table.c, by)
    q = select(*([group.label("g")] if group is not None else []), *columns).where(
        table.c.day >= first_day(period.start), table.c.day < first_day(period.end))
    if by == "department":
        q = q.where(table.c.department != "")
    return q.group_by(group) if group is not None else q


def _key(m, by: str | None, period: Period) -> str | None:
    if by is None or by == "campaign":
        return UNKNOWN_CAMPAIGN if by == "campaign" else None
    return _group(m["g"], by, period)


def _group(value, by: str, period: Period) -> str | None:
    if by == "week":
        midnight = datetime.combine(value, time(0), tzinfo=UTC)
        return next(w.name for w in period.weeks() if w.start <= midnight < w.end)
    return value or None  # "" is an unknown language or label
