"""The report by department, from the routes alone: each route carries its mention's facts (migration
0008), so a department's period is one range of ``ix_mention_routes_period`` and no route is joined
to its mention.

PostgreSQL cuts the percentiles with ``percentile_cont``. SQLite has no percentile function, so for
each department the cheaper of two exact methods is used: over a long period, step along the index
that holds a figure in order (``ORDER BY response_s LIMIT 2 OFFSET k``, from whichever end is
nearer), so no route crosses into Python; over a short one, where stepping would pass mostly routes
outside the period, read the period's three figures from the covering index into numpy. Both
interpolate linearly between the two values around rank (n - 1)·q, as percentile_cont and numpy do.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

import numpy as np
from sqlalchemy import Connection, and_, bindparam, func, or_, select, text

from listener.store.tables import UtcDateTime, departments, mention_routes

PERCENTILES = {"response_s": (0.5, 0.9), "business_response_s": (0.5,), "detection_lag_s": (0.5,)}

STEP_SHARE = 0.35
"""Step along the indexes when the period holds at least this share of a department's stored routes.

Stepping to the three medians and the 90th percentile (from the top) passes 0.5 + 0.5 + 0.5 + 0.1 =
1.6 times the department's routes, at about 110 ns a step; reading the period's three figures into
numpy costs about 500 ns a route (bench/report.py, a million mentions): stepping wins from
1.6 × 110 / 500 ≈ 0.35 on."""


@dataclass(frozen=True, slots=True)
class DepartmentFigures:
    counts: dict
    sla: tuple[int, int]
    percentiles: dict[str, dict[float, float]]


def department_figures(conn: Connection, start: datetime, end: datetime, now: datetime) -> dict[int, DepartmentFigures]:
    """{department id: its counts, SLA (met, missed) and percentiles} for routes published in [start, end)."""
    r = mention_routes.c
    in_period = and_(r.own.is_(False), r.published_at >= start, r.published_at < end)
    counted = [
        func.count().label("mentions"),
        *(func.count().filter(r.label == label).label(label) for label in ("praise", "criticism", "neutral")),
        func.count().filter(r.question.is_(True)).label("questions"),
        func.count(r.first_response_at).label("answered"),
        func.count().filter(r.first_response_at <= r.due_at).label("met"),
        func.count().filter(or_(r.first_response_at > r.due_at,
                                and_(r.first_response_at.is_(None), r.due_at <= now))).label("missed"),
    ]
    summed = [func.sum(r.response_s).label("response_sum"), func.sum(r.business_response_s).label("business_sum")]
    if conn.dialect.name == "postgresql":
        cut = [func.percentile_cont(q).within_group(r[name]).label(f"{name}@{q}")
               for name, qs in PERCENTILES.items() for q in qs]
        counts = [func.count(r.response_s).label("response_count"),
                  func.count(r.business_response_s).label("business_count")]
        rows = conn.execute(select(r.department_id, *counted, *summed, *counts, *cut)
                            .where(in_period).group_by(r.department_id))
        return {row.department_id: _figures(row._mapping, {name: {q: row._mapping[f"{name}@{q}"] for q in qs}
                                                             for name, qs in PERCENTILES.items()}, row._mapping)
                for row in rows}
    sizes = [func.count(r[name]).label(f"n_{name}") for name in PERCENTILES]
    out = {}
    for department_id in conn.execute(select(departments.c.id)).scalars():
        period = _Period(conn, department_id, start, end)
        steps = period.share() >= STEP_SHARE
        # One department per statement: SQLite then reads a single range of ix_mention_routes_period.
        row = conn.execute(select(*counted, *((*sizes, *summed) if steps else ()))
                           .where(r.department_id == department_id, in_period)).one()._mapping
        if not row["mentions"]:
            continue
        if steps:
            cut = {name: {q: period.step(name, n, q) for q in qs} for name, qs in PERCENTILES.items()
                   if (n := row[f"n_{name}"])}
            sums = {**row, "response_count": row["n_response_s"], "business_count": row["n_business_response_s"]}
        else:
            cut, sums = period.read()
        out[department_id] = _figures(row, cut, sums)
    return out


def _figures(row, cut: dict[str, dict[float, float | None]], sums) -> DepartmentFigures:
    """``sums``: the response times' sums and counts, for the means (SQL's where it aggregates anyway,
    numpy's where the values are read)."""
    counts = {k: row[k] for k in ("mentions", "praise", "criticism", "neutral", "questions", "answered")}
    counts |= {"response_sum": sums["response_sum"] or 0.0, "response_count": sums["response_count"],
               "business_sum": sums["business_sum"] or 0.0, "business_count": sums["business_count"]}
    rounded = {name: {q: round(float(v), 3) for q, v in values.items() if v is not None}  # to the millisecond
               for name, values in cut.items()}
    return DepartmentFigures(counts, (row["met"], row["missed"]), rounded)


def _between(low: float, high: float, fraction: float) -> float:
    return low + (high - low) * fraction


class _Period:
    """SQLite's statements over one department's routes in one period. They name their index: the
    planner, guessing how much of the table a period holds, would otherwise sort where it should step."""

    def __init__(self, conn: Connection, department_id: int, start: datetime, end: datetime):
        self.conn, self.params = conn, {"department": department_id, "start": start, "end": end}
        self.types = (bindparam("start", type_=UtcDateTime()), bindparam("end", type_=UtcDateTime()))

    def _text(self, sql: str):
        return text(sql).bindparams(*self.types)

    def share(self) -> float:
        """How much of the department's stored routes the period holds, judged by time: stepping to a
        rank passes the routes outside the period too."""
        r = mention_routes.c
        mine = and_(r.department_id == self.params["department"], r.own.is_(False))
        first, last = self.conn.execute(select(  # apart, so that each is one step along ix_mention_routes_period
            select(func.min(r.published_at)).where(mine).scalar_subquery(),
            select(func.max(r.published_at)).where(mine).scalar_subquery())).one()
        if first is None:
            return 0.0
        span = (last - first).total_seconds()
        if span <= 0:
            return 1.0
        covered = (min(self.params["end"], last) - max(self.params["start"], first)).total_seconds()
        return min(max(covered, 0.0) / span, 1.0)

    def step(self, name: str, n: int, q: float) -> float | None:
        """The q-th percentile (q < 1) of ``name`` among the period's n values: the values at ranks k and
        k + 1, read off its index. Past the middle they are counted from the top, at n - 2 - k. None if
        the rows went away since they were counted (retention pruning between the two statements)."""
        rank = (n - 1) * q
        k = math.floor(rank)
        descending = k > (n - 1) / 2
        offset = n - 2 - k if descending else k
        values = [v for (v,) in self.conn.execute(self._text(
            f"SELECT {name} FROM mention_routes INDEXED BY ix_mention_routes_{name} "
            f"WHERE department_id = :department AND own = 0 AND {name} IS NOT NULL "
            f"AND published_at >= :start AND published_at < :end "
            f"ORDER BY {name} {'DESC' if descending else 'ASC'} LIMIT 2 OFFSET :offset"),
            {**self.params, "offset": offset})]
        if not values:
            return None
        if descending:
            values.reverse()
        return _between(values[0], values[-1], rank - k)

    def read(self) -> tuple[dict[str, dict[float, float]], dict[str, float]]:
        """The percentiles, and the response times' sums and counts."""
        result = self.conn.execute(self._text(
            "SELECT response_s, business_response_s, detection_lag_s FROM mention_routes "
            "INDEXED BY ix_mention_routes_period WHERE department_id = :department AND own = 0 "
            "AND published_at >= :start AND published_at < :end"), self.params)
        # Flattened before numpy sees it: one object array is cheaper than a float array of tuples.
        table = np.fromiter(chain.from_iterable(result.cursor), dtype=object).astype(float).reshape(-1, len(PERCENTILES))
        result.close()
        out, sums = {}, {}
        for column, (name, qs) in zip(table.T, PERCENTILES.items(), strict=True):
            values = column[~np.isnan(column)]
            if values.size:
                out[name] = {q: _cut(values, q) for q in qs}
            sums[name] = (float(values.sum()), int(values.size))
        (response_sum, response_count), (business_sum, business_count) = sums["response_s"], sums["business_response_s"]
        return out, {"response_sum": response_sum, "response_count": response_count,
                     "business_sum": business_sum, "business_count": business_count}


def _cut(values: np.ndarray, q: float) -> float:
    """The q-th percentile: the two values around rank (n - 1)·q, put in place without a full sort."""
    rank = (values.size - 1) * q
    k = math.floor(rank)
    around = np.partition(values, [k, min(k + 1, values.size - 1)])
    return _between(float(around[k]), float(around[min(k + 1, values.size - 1)]), rank - k)
