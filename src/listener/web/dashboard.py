"""The dashboard: the report's figures per department for a period beside a baseline, and its charts.

The numbers come from ``listener.reports.figures`` — the code `listener report` runs — so the page,
the API and the command always agree. Members see their departments' rows; the organisation-wide
charts are shown to admins and analysts, who see everything anyway.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from listener.reports import charts, figures, human
from listener.reports.html import KEY_FIGURES, data_uri
from listener.reports.periods import resolve
from listener.web.context import Site


def periods(ctx: Site, period: str, baseline: str | None):
    """The period and baseline asked for, read as `listener report` reads them; 400 with the reason."""
    config, now = ctx.config, ctx.clock()
    named = {b.name: (b.start, b.end) for b in config.baselines}
    try:
        asked = resolve(period, now, config.report.timezone)
    except ValueError as exc:
        raise HTTPException(400, f"period: {exc}") from None
    try:
        against = resolve(baseline, now, config.report.timezone, named) if baseline else None
    except ValueError as exc:
        raise HTTPException(400, f"baseline: {exc}") from None
    return asked, against


def card(name: str, row) -> dict:
    moved = getattr(row.change, name) if row.change else None
    return {"label": human.LABELS[name], "value": human.shown(name, row.figures),
            "before": human.shown(name, row.baseline) if row.baseline else None,
            "change": human.change(name, moved), "verdict": human.verdict(name, moved)}


def _data(ctx: Site, request: Request) -> dict:
    who = ctx.gate.require_person(request)
    params = request.query_params
    period_text = params.get("period") or "last-week"
    baseline_text = params.get("baseline") or (ctx.config.baselines[0].name if ctx.config.baselines else "")
    asked, against = periods(ctx, period_text, baseline_text or None)
    with ctx.engine.connect() as conn:
        overview = figures.overview(conn, asked, now=ctx.clock(), by="department", baseline=against)
    rows = [r for r in overview.report.rows if who.sees_all or r.group in who.departments]
    images = []
    if who.sees_all:
        images = [{"src": data_uri(c), "title": c.title, "alt": c.alt, "width": c.width, "height": c.height}
                  for c in charts.charts(overview, charts.strictest_sla_hours(ctx.config))]
    return {
        "who": who, "heading": human.heading(overview.report), "period": period_text, "baseline": baseline_text,
        "baselines": [b.name for b in ctx.config.baselines],
        "departments": [{"name": r.group or "(none)", "cards": [card(n, r) for n in KEY_FIGURES],
                         "all": [card(n, r) for n in figures.FIGURES]} for r in rows],
        "charts": images,
        "note": figures.PRUNED_NOTE if overview.report.pruned else None,
    }


async def page(ctx: Site, request: Request) -> Response:
    from listener.web.pages import render

    return render(ctx, request, "dashboard.html", **await run_in_threadpool(_data, ctx, request))
