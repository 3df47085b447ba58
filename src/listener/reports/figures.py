"""The report's figures: one set of SQL aggregates for the CLI, the e-mail, the web page and the API.

Volume, labels, questions, answers and detection lag are counted per mention; response times and
SLA attainment per route (mention × department), because a mention routed to two departments is
measured against each one's business hours and SLA. Own mentions (the organisation speaking) are
left out of everything. Percentiles interpolate linearly between ranks (as PostgreSQL's
percentile_cont and numpy do). By department, the usual report, everything is read from the routes
and cut inside the database (departments.py); the other groupings join routes to mentions and cut
percentiles with numpy from the matching rows. Days that retention pruned are added from
``daily_figures`` (pruned.py): exactly for counts, shares, SLA and means; medians and percentiles
of a group with pruned days come from one histogram of its stored values and the pruned buckets,
within 9 % (store/histogram.py), and every format says so.

A figure without data is None, never 0: a period with no mentions has no volume figure at all,
and an SLA share needs at least one route that was due.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import Connection, and_, case, func, literal, or_, select

from listener.reports.departments import department_figures
from listener.reports.periods import Period
from listener.reports.pruned import SUMMED, histograms, pruned
from listener.store import histogram
from listener.store.tables import (
    departments,
    mention_routes,
    mention_tags,
    mentions,
    sources,
)

GROUPINGS = ("department", "source", "platform", "lang", "campaign", "label", "week")


@dataclass(frozen=True, slots=True)
class Figures:
    mentions: int | None = None
    praise: int | None = None
    criticism: int | None = None
    neutral: int | None = None
    praise_share: float | None = None
    criticism_share: float | None = None
    neutral_share: float | None = None
    questions: int | None = None
    answered: int | None = None
    answered_share: float | None = None
    first_response_median_s: float | None = None
    first_response_p90_s: float | None = None
    business_first_response_median_s: float | None = None
    first_response_mean_s: float | None = None
    business_first_response_mean_s: float | None = None
    sla_met_share: float | None = None
    detection_lag_median_s: float | None = None
    pruned: int = 0
    """How many of ``mentions`` were pruned by retention and counted from ``daily_figures``: where
    not 0, the figures in APPROXIMATE are approximate (store/histogram.py), or None for days
    pruned before migration 0010."""


FIGURES = tuple(f.name for f in fields(Figures) if f.name != "pruned")
APPROXIMATE = ("first_response_median_s", "first_response_p90_s", "business_first_response_median_s",
               "detection_lag_median_s")
PRUNED_NOTE = ("Includes mentions pruned by retention ([store] keep), counted from daily figures: "
               f"where they count, medians and 90th percentiles are approximate (within {histogram.ACCURACY:.0%}); "
               "counts, shares, SLA and means are exact.")
COUNTS = frozenset({"mentions", "praise", "criticism", "neutral", "questions", "answered"})
SHARES = frozenset(name for name in FIGURES if name.endswith("_share"))


@dataclass(frozen=True, slots=True)
class Row:
    group: str | None
    figures: Figures
    baseline: Figures | None
    change: Figures | None


@dataclass(frozen=True, slots=True)
class Report:
    period: Period
    baseline: Period | None
    by: str | None
    generated_at: datetime
    rows: tuple[Row, ...]

    @property
    def pruned(self) -> bool:
        """Whether any figure counts pruned mentions (then PRUNED_NOTE goes with every format)."""
        return any(row.figures.pruned or (row.baseline and row.baseline.pruned) for row in self.rows)

    def as_json(self) -> dict:
        """The shape `listener report --format json` prints and the API serves."""
        baseline = None
        if self.baseline is not None:
            baseline = {"name": self.baseline.name, "start": self.baseline.first.isoformat(),
                        "end": self.baseline.last.isoformat()}
        return {
            "period": {"start": self.period.first.isoformat(), "end": self.period.last.isoformat()},
            "baseline": baseline,
            "note": PRUNED_NOTE if self.pruned else None,
            "rows": [
                {"group": row.group, **asdict(row.figures),
                 "baseline": asdict(row.baseline) if row.baseline else None,
                 "change": asdict(row.change) if row.change else None}
                for row in self.rows
            ],
        }


@dataclass(frozen=True, slots=True)
class Overview:
    """What the HTML page shows: the report as asked for, its totals, a run of weeks for the trends and
    the departments side by side."""

    report: Report
    total: Report
    weeks: dict[str, Figures]
    departments: Report


def overview(conn: Connection, period: Period, *, now: datetime, by: str | None = None,
             baseline: Period | None = None, trend_weeks: int = 8) -> Overview:
    """The report plus its context: the ``trend_weeks`` ISO weeks up to the period's end (more if the
    period is longer), and every department over the period."""
    first = min(period.first, period.last - timedelta(days=period.last.weekday() + 7 * (trend_weeks - 1)))
    trend = Period("trend", first, period.last, period.zone)
    reports = {key: build(conn, period, now=now, by=key, baseline=baseline) for key in {None, "department", by}}
    return Overview(reports[by], reports[None], compute(conn, trend, now=now, by="week"), reports["department"])


def change(name: str, value: float | None, base: float | None, days: int, base_days: int) -> float | None:
    """How a figure moved against the baseline.

    Counts compare daily rates, so a week is fairly set against a three-month baseline
    (0.25 = a quarter more per day); shares and times are differences (0.05 = five points more;
    -600 = answered ten minutes faster). None when either side has no data, or the baseline's
    count is zero (no rate to compare with)."""
    if value is None or base is None:
        return None
    if name in COUNTS:
        if base == 0:
            return None
        return (value / days) / (base / base_days) - 1
    return value - base


def build(conn: Connection, period: Period, *, now: datetime, by: str | None = None,
          baseline: Period | None = None) -> Report:
    """The report for ``period`` grouped ``by`` one of GROUPINGS, beside ``baseline`` if given."""
    if by is not None and by not in GROUPINGS:
        raise ValueError(f'cannot group by "{by}"; use one of {", ".join(GROUPINGS)}')
    current = compute(conn, period, now=now, by=by)
    if baseline is None:
        rows = [Row(group, figures, None, None) for group, figures in current.items()]
        return Report(period, None, by, now, tuple(rows))
    if by == "week":
        overall = compute(conn, baseline, now=now, by=None).get(None, Figures())
        base = {group: overall for group in current}
    else:
        base = compute(conn, baseline, now=now, by=by)
    groups = _ordered(set(current) | set(base))
    rows = []
    for group in groups:
        figures, before = current.get(group, Figures()), base.get(group, Figures())
        moved = Figures(**{name: change(name, getattr(figures, name), getattr(before, name), period.days, baseline.days)
                           for name in FIGURES})
        rows.append(Row(group, figures, before, moved))
    return Report(period, baseline, by, now, tuple(rows))


def compute(conn: Connection, period: Period, *, now: datetime, by: str | None = None) -> dict[str | None, Figures]:
    """Figures per group for one period; without ``by``, one entry under None (even when empty)."""
    q = _Queries(conn, period, now, by)
    if by == "department":
        per_department = department_figures(conn, period.start, period.end, now)
        counts = {g: f.counts for g, f in per_department.items()}
        sums = counts
        sla = {g: f.sla for g, f in per_department.items()}
        response, business, lag = ({g: f.percentiles.get(name, {}) for g, f in per_department.items()}
                                   for name in ("response_s", "business_response_s", "detection_lag_s"))
    else:
        counts = q.counts()
        sla, response, business, sums = q.routes()
        lag = q.detection_lags()
    names = q.names()
    if names:
        counts, sums, sla, response, business, lag = ({names.get(g, g): v for g, v in d.items()}
                                                      for d in (counts, sums, sla, response, business, lag))
    old = pruned(conn, period, by)
    if old:
        response, business, lag = _approximate(conn, q, names, (response, business, lag))
    groups = set(counts) | set(old) | ({None} if by is None else set())
    if by == "week":
        groups |= {week.name for week in period.weeks()}  # an empty week is a gap worth seeing
    out = {}
    for group in _ordered(groups):
        met, missed = sla.get(group, (0, 0))
        c = _total(counts.get(group), sums.get(group), met, missed, old.get(group))
        n = c["mentions"]
        if not n:
            out[group] = Figures()
            continue
        medians = response.get(group, {})
        figures = Figures(
            mentions=n,
            praise=c["praise"], criticism=c["criticism"], neutral=c["neutral"],
            praise_share=c["praise"] / n, criticism_share=c["criticism"] / n, neutral_share=c["neutral"] / n,
            questions=c["questions"],
            answered=c["answered"], answered_share=c["answered"] / n,
            first_response_median_s=medians.get(0.5), first_response_p90_s=medians.get(0.9),
            business_first_response_median_s=business.get(group, {}).get(0.5),
            first_response_mean_s=_mean(c["response_sum"], c["response_count"]),
            business_first_response_mean_s=_mean(c["business_sum"], c["business_count"]),
            sla_met_share=(c["met"] / (c["met"] + c["missed"]) if c["met"] is not None and c["met"] + c["missed"]
                           else None),
            detection_lag_median_s=lag.get(group, {}).get(0.5),
            pruned=old[group]["mentions"] if group in old else 0,
        )
        if figures.pruned and not old[group]["spread"]:  # pruned before there were histograms
            figures = replace(figures, **dict.fromkeys(APPROXIMATE))
        out[group] = figures
    return out


def _approximate(conn: Connection, q: _Queries, names: dict, exact: tuple[dict, dict, dict]) -> tuple:
    """The percentiles of groups with pruned days, from one histogram of their stored values and the
    pruned ones' buckets; the other groups' stay exact. Read only when the period has pruned days."""
    spread = histograms(conn, q.period, q.by)
    stored = q.stored_values()
    if names:
        stored = {names.get(g, g): v for g, v in stored.items()}
    out = tuple(dict(d) for d in exact)
    for group, pruned_spread in spread.items():
        for d, (name, qs) in zip(out, (("response_s", (0.5, 0.9)), ("business_response_s", (0.5,)),
                                      ("detection_lag_s", (0.5,))), strict=True):
            merged = pruned_spread[name] + histogram.counts(stored.get(group, {}).get(name, np.empty(0)))
            d[group] = {quantile: value for quantile in qs if (value := histogram.percentile(merged, quantile)) is not None}
    return out


def _total(counts, sums, met: int, missed: int, old: dict | None) -> dict:
    """The stored mentions' counts and response sums plus the pruned ones' (None stays unknown)."""
    total = dict.fromkeys(SUMMED, 0)
    total |= {k: counts[k] for k in ("mentions", "praise", "criticism", "neutral", "questions", "answered")} if counts else {}
    total |= {k: sums[k] for k in ("response_sum", "response_count", "business_sum", "business_count")} if sums else {}
    total |= {"met": met, "missed": missed}
    for name in SUMMED if old else ():
        value = old[name]
        total[name] = None if value is None or total[name] is None else total[name] + value
    return total


def _mean(total: float, n: int) -> float | None:
    return round(total / n, 3) if n else None


def _ordered(groups: Iterable[str | None]) -> list[str | None]:
    return sorted(groups, key=lambda g: (g is None, g or ""))


class _Queries:
    """The statements of one period and grouping; each returns plain values keyed by group."""

    def __init__(self, conn: Connection, period: Period, now: datetime, by: str | None):
        self.conn, self.period, self.now, self.by = conn, period, now, by

    def _in_period(self):
        return and_(mentions.c.published_at >= self.period.start, mentions.c.published_at < self.period.end,
                    mentions.c.own.is_(False))

    def _group(self):
        m = mentions.c
        if self.by is None:
            return None
        if self.by == "source":
            return mentions.c.source_id
        if self.by == "campaign":
            return mention_tags.c.name
        if self.by == "week":  # the week's index, named afterwards
            weeks = self.period.weeks()
            if len(weeks) == 1:
                return literal(0)
            return case(*((m.published_at < w.end, literal(i)) for i, w in enumerate(weeks[:-1])),
                        else_=literal(len(weeks) - 1))
        return {"platform": m.platform, "lang": m.lang, "label": m.label}[self.by]

    def _from(self, per_route: bool):
        """mentions, joined to what the grouping (and route-level figures) need."""
        joined = mentions
        if per_route:
            joined = joined.join(mention_routes, mention_routes.c.mention_id == mentions.c.id)
        if self.by == "campaign":
            joined = joined.outerjoin(mention_tags, and_(mention_tags.c.mention_id == mentions.c.id,
                                                         mention_tags.c.kind == "campaign"))
        return joined

    def _select(self, per_route: bool, *columns):
        group = self._group()
        cols = [group.label("g")] if group is not None else []
        q = select(*cols, *columns).select_from(self._from(per_route)).where(self._in_period())
        return q.group_by(group) if group is not None else q

    def _rows(self, q) -> dict:
        return {(row._mapping["g"] if self.by else None): row._mapping for row in self.conn.execute(q)}

    def names(self) -> dict:
        """Group id → name for the groupings stored as ids."""
        if self.by == "week":
            return dict(enumerate(w.name for w in self.period.weeks()))
        table = {"department": departments, "source": sources}.get(self.by)
        if table is None:
            return {}
        return dict(self.conn.execute(select(table.c.id, table.c.name)).all())

    def counts(self) -> dict:
        m = mentions.c
        answered = (select(mention_routes.c.mention_id)
                    .where(mention_routes.c.mention_id == m.id, mention_routes.c.first_response_at.isnot(None))
                    .exists())
        q = self._select(
            False,
            func.count().label("mentions"),
            *(func.coalesce(func.sum(case((m.label == label, 1), else_=0)), 0).label(label)
              for label in ("praise", "criticism", "neutral")),
            func.coalesce(func.sum(case((m.question.is_(True), 1), else_=0)), 0).label("questions"),
            func.coalesce(func.sum(case((answered, 1), else_=0)), 0).label("answered"),
        )
        return {g: row for g, row in self._rows(q).items() if row["mentions"]}

    def _verdict(self):
        """1 answered by the deadline, 0 late or overdue, null without a deadline or not yet due."""
        r = mention_routes.c
        return case((r.due_at.is_(None), None),
                    (and_(r.first_response_at.isnot(None), r.first_response_at <= r.due_at), 1),
                    (or_(r.first_response_at > r.due_at, r.due_at <= self.now), 0), else_=None)

    def routes(self) -> tuple[dict, dict, dict, dict]:
        """SLA (met, missed), wall-clock and business response percentiles and sums per group, from one pass
        over the period's routes that have a response or a deadline."""
        r = mention_routes.c
        rows = self._values(True, r.response_s, r.business_response_s, self._verdict(),
                            where=or_(r.response_s.isnot(None), r.due_at.isnot(None)))
        sla, response, business, sums = {}, {}, {}, {}
        for g, (wall, hours, met) in rows.items():
            sla[g], response[g], business[g] = _route_figures(wall, hours, met)
            sums[g] = {"response_sum": float(np.nansum(wall)), "response_count": int(np.sum(~np.isnan(wall))),
                       "business_sum": float(np.nansum(hours)), "business_count": int(np.sum(~np.isnan(hours)))}
        return sla, response, business, sums

    def stored_values(self) -> dict[str | int | None, dict[str, np.ndarray]]:
        """{group: {figure: values}} of the period's stored mentions, for merging with pruned buckets:
        response times per route, detection lag per route by department and per mention otherwise."""
        r = mention_routes.c
        if self.by == "department":
            result = self.conn.execute(select(r.department_id, r.response_s, r.business_response_s, r.detection_lag_s)
                                       .where(r.own.is_(False), r.published_at >= self.period.start,
                                              r.published_at < self.period.end))
            table = np.array(result.cursor.fetchall(), dtype=float).reshape(-1, 4)
            result.close()
            keys = table[:, 0].astype(int)
            return {int(key): dict(zip(("response_s", "business_response_s", "detection_lag_s"), table[keys == key, 1:].T,
                                       strict=True)) for key in np.unique(keys)}
        routes = self._values(True, r.response_s, r.business_response_s)
        lags = self._values(False, mentions.c.detection_lag_s)
        return {g: {"response_s": routes[g][0] if g in routes else np.empty(0),
                    "business_response_s": routes[g][1] if g in routes else np.empty(0),
                    "detection_lag_s": lags[g][0]}
                for g in set(routes) | set(lags)}

    def detection_lags(self) -> dict:
        return {g: _percentiles(x, (0.5,)) for g, (x,) in self._values(False, mentions.c.detection_lag_s).items()}

    def _values(self, per_route: bool, *columns, where=None) -> dict:
        """{group: one float array per column (NaN for null)}: the matching rows, fetched in one pass.

        SQLite has no percentile function; a few floats per row is the least it can hand over. The
        rows are read from the DBAPI cursor straight into numpy (no Row objects), which measured
        several times faster than sorting in SQL with window functions."""
        group = self._group()
        cols = [group.label("g")] if group is not None else []
        q = select(*cols, *columns).select_from(self._from(per_route)).where(self._in_period())
        if where is not None:
            q = q.where(where)
        result = self.conn.execute(q)
        rows = result.cursor.fetchall()
        result.close()
        if not rows:
            return {}
        if group is None:
            return {None: np.array(rows, dtype=float).T}
        if self.by in ("source", "week"):  # integer keys: one conversion in C
            table = np.array(rows, dtype=float)
            keys = table[:, 0].astype(int)
            return {int(key): table[keys == key, 1:].T for key in np.unique(keys)}
        positions: dict = defaultdict(list)
        for i, row in enumerate(rows):
            positions[row[0]].append(i)
        data = np.array([row[1:] for row in rows], dtype=float)
        return {key: data[where].T for key, where in positions.items()}


def _route_figures(wall: np.ndarray, hours: np.ndarray, met: np.ndarray) -> tuple:
    return ((int(np.sum(met == 1)), int(np.sum(met == 0))), _percentiles(wall, (0.5, 0.9)),
            _percentiles(hours, (0.5,)))


def _percentiles(values: np.ndarray, quantiles: tuple[float, ...]) -> dict[float, float]:
    """Linear interpolation between ranks, as PostgreSQL's percentile_cont; nulls (NaN) left out."""
    values = values[~np.isnan(values)]
    if not values.size:
        return {}
    cut = np.percentile(values, [q * 100 for q in quantiles])
    return {q: round(float(v), 3) for q, v in zip(quantiles, cut, strict=True)}  # to the millisecond
