"""The report's figures: one set of SQL aggregates for the CLI, the e-mail, the web page and the API.

Volume, labels, questions, answers and detection lag are counted per mention; response times and
SLA attainment per route (mention × department), because a mention routed to two departments is
measured against each one's business hours and SLA. Own mentions (the organisation speaking) are
left out of everything. Percentiles are computed in SQL with window functions, the same statement on
SQLite and PostgreSQL, and interpolated linearly (as PostgreSQL's percentile_cont and numpy do).

A figure without data is None, never 0: a period with no mentions has no volume figure at all,
and an SLA share needs at least one route that was due.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from sqlalchemy import Connection, and_, case, func, literal, or_, select

from listener.reports.periods import Period
from listener.store.tables import departments, mention_routes, mention_tags, mentions, sources

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
    sla_met_share: float | None = None
    detection_lag_median_s: float | None = None


FIGURES = tuple(f.name for f in fields(Figures))
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

    def as_json(self) -> dict:
        """The shape `listener report --format json` prints and the API serves."""
        baseline = None
        if self.baseline is not None:
            baseline = {"name": self.baseline.name, "start": self.baseline.first.isoformat(),
                        "end": self.baseline.last.isoformat()}
        return {
            "period": {"start": self.period.first.isoformat(), "end": self.period.last.isoformat()},
            "baseline": baseline,
            "rows": [
                {"group": row.group, **asdict(row.figures),
                 "baseline": asdict(row.baseline) if row.baseline else None,
                 "change": asdict(row.change) if row.change else None}
                for row in self.rows
            ],
        }


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


def percentile(lo: float, hi: float | None, position: float) -> float:
    """Linear interpolation between the values at ranks floor(position) and the next one."""
    if hi is None:
        return lo
    return lo + (hi - lo) * (position - int(position))


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
    counts = q.counts()
    sla = q.sla()
    response = q.percentiles(mention_routes.c.response_s, (0.5, 0.9), per_route=True)
    business = q.percentiles(mention_routes.c.business_response_s, (0.5,), per_route=True)
    lag = q.percentiles(q.detection_lag(), (0.5,), per_route=False)
    groups = set(counts) | ({None} if by is None else set())
    if by == "week":
        groups |= {week.name for week in period.weeks()}  # an empty week is a gap worth seeing
    out = {}
    for group in _ordered(groups):
        c = counts.get(group)
        n = c["mentions"] if c else 0
        if not n:
            out[group] = Figures()
            continue
        met, missed = sla.get(group, (0, 0))
        medians = response.get(group, {})
        out[group] = Figures(
            mentions=n,
            praise=c["praise"], criticism=c["criticism"], neutral=c["neutral"],
            praise_share=c["praise"] / n, criticism_share=c["criticism"] / n, neutral_share=c["neutral"] / n,
            questions=c["questions"],
            answered=c["answered"], answered_share=c["answered"] / n,
            first_response_median_s=medians.get(0.5), first_response_p90_s=medians.get(0.9),
            business_first_response_median_s=business.get(group, {}).get(0.5),
            sla_met_share=met / (met + missed) if met + missed else None,
            detection_lag_median_s=lag.get(group, {}).get(0.5),
        )
    return out


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
        if self.by == "department":
            return departments.c.name
        if self.by == "source":
            return sources.c.name
        if self.by == "campaign":
            return mention_tags.c.name
        if self.by == "week":
            weeks = self.period.weeks()
            return case(*((m.published_at < w.end, literal(w.name)) for w in weeks[:-1]), else_=literal(weeks[-1].name))
        return {"platform": m.platform, "lang": m.lang, "label": m.label}[self.by]

    def _from(self, per_route: bool):
        """mentions, joined to what the grouping (and route-level figures) need."""
        joined = mentions
        if per_route or self.by == "department":
            joined = joined.join(mention_routes, mention_routes.c.mention_id == mentions.c.id)
        if self.by == "department":
            joined = joined.join(departments, departments.c.id == mention_routes.c.department_id)
        elif self.by == "source":
            joined = joined.join(sources, sources.c.id == mentions.c.source_id)
        elif self.by == "campaign":
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

    def counts(self) -> dict:
        m = mentions.c
        if self.by == "department":
            answered = mention_routes.c.first_response_at.isnot(None)
        else:
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

    def sla(self) -> dict:
        r = mention_routes.c
        met = and_(r.first_response_at.isnot(None), r.first_response_at <= r.due_at)
        missed = or_(r.first_response_at > r.due_at, and_(r.first_response_at.is_(None), r.due_at <= self.now))
        q = self._select(
            True,
            func.coalesce(func.sum(case((met, 1), else_=0)), 0).label("met"),
            func.coalesce(func.sum(case((missed, 1), else_=0)), 0).label("missed"),
        ).where(r.due_at.isnot(None))
        return {g: (row["met"], row["missed"]) for g, row in self._rows(q).items()}

    def detection_lag(self):
        m = mentions.c
        if self.conn.dialect.name == "sqlite":
            seconds = (func.julianday(m.first_seen_at) - func.julianday(m.published_at)) * 86400.0
        else:
            seconds = func.extract("epoch", m.first_seen_at - m.published_at)
        return case((seconds < 0, 0.0), else_=seconds)

    def percentiles(self, value, quantiles: tuple[float, ...], per_route: bool) -> dict:
        """{group: {q: value}}: ranks picked with row_number() in SQL, interpolated here."""
        group = self._group()
        partition = [group] if group is not None else []
        inner = (
            select(*([group.label("g")] if group is not None else []), value.label("x"),
                   (func.row_number().over(partition_by=partition, order_by=value) - 1).label("i"),
                   func.count().over(partition_by=partition).label("n"))
            .select_from(self._from(per_route))
            .where(self._in_period(), value.isnot(None))
            .subquery()
        )
        wanted = [inner.c.i == (inner.c.n - 1) * round(q * 100) // 100 + k for q in quantiles for k in (0, 1)]
        cols = [inner.c.g] if group is not None else []
        rows = self.conn.execute(select(*cols, inner.c.x, inner.c.i, inner.c.n).where(or_(*wanted))).all()
        ranked: dict = defaultdict(dict)
        for row in rows:
            ranked[row.g if group is not None else None][row.i] = (float(row.x), row.n)
        out: dict = {}
        for g, values in ranked.items():
            n = next(iter(values.values()))[1]
            out[g] = {}
            for q in quantiles:
                position = (n - 1) * q
                lo = values[int(position)][0]
                hi = values.get(int(position) + 1, (None,))[0]
                out[g][q] = round(percentile(lo, hi, position), 3)  # SQLite's julianday() is a float
        return out
