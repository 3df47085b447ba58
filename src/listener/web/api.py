"""The JSON API for integrations: bearer tokens (`listener tokens add`), the same rights as people.

``GET /api/v1/mentions`` pages newest first by id (``cursor`` is the last id seen), with the
fields of `listener mentions --format json` plus ``departments``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import exists, select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from listener.classify.language import normalise
from listener.store import inbox as inbox_store
from listener.store.mentions import COLUMNS
from listener.store.tables import departments, mention_routes, mentions, sources
from listener.web import actions
from listener.web.context import Site

MAX_LIMIT = 500


def _iso(value):
    return value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else value


def _mentions(ctx: Site, request: Request) -> dict:
    who = ctx.gate.token(request)
    p = request.query_params
    try:
        limit = min(int(p.get("limit", 50)), MAX_LIMIT)
        cursor = int(p["cursor"]) if p.get("cursor") else None
        since = datetime.fromisoformat(p["since"]) if p.get("since") else None
    except ValueError:
        raise HTTPException(400, "limit and cursor are whole numbers; since is an ISO date or time") from None
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    q = select(*COLUMNS).join(sources, sources.c.id == mentions.c.source_id)
    wanted = {p["department"]} if p.get("department") else None
    if not who.sees_all:
        wanted = (wanted or set(who.departments)) & who.departments
    if wanted is not None:
        q = q.where(exists().where(mention_routes.c.mention_id == mentions.c.id,
                                   mention_routes.c.department_id == departments.c.id,
                                   departments.c.name.in_(wanted)))
    for key, column in (("label", mentions.c.label), ("source", sources.c.name), ("platform", mentions.c.platform)):
        if p.get(key):
            q = q.where(column == p[key])
    if p.get("lang"):
        q = q.where(mentions.c.lang == normalise(p["lang"]))
    if since is not None:
        q = q.where(mentions.c.published_at >= since)
    if p.get("search"):
        pattern = "%" + p["search"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(mentions.c.text.ilike(pattern, escape="\\") | mentions.c.title.ilike(pattern, escape="\\"))
    if cursor is not None:
        q = q.where(mentions.c.id < cursor)
    with ctx.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q.order_by(mentions.c.id.desc()).limit(max(limit, 1)))]
        routed: dict[int, list[str]] = {}
        if rows:
            for mid, name in conn.execute(
                select(mention_routes.c.mention_id, departments.c.name)
                .join(departments, departments.c.id == mention_routes.c.department_id)
                .where(mention_routes.c.mention_id.in_([r["id"] for r in rows]))):
                routed.setdefault(mid, []).append(name)
    for row in rows:
        row.update({k: _iso(v) for k, v in row.items()})
        row["departments"] = sorted(routed.get(row["id"], []))
    following = rows[-1]["id"] if len(rows) == limit and rows else None
    return {"mentions": rows, "next_cursor": following}


async def mentions_list(ctx: Site, request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(_mentions, ctx, request))


def _respond(ctx: Site, request: Request, mention_id: int, body: dict) -> dict:
    who = ctx.gate.token(request)
    url, note = str(body.get("url") or ""), str(body.get("note") or "")
    if url and not url.lower().startswith(("http://", "https://")):
        raise HTTPException(400, "url: the http(s) address of the reply")
    try:
        at = datetime.fromisoformat(body["at"]) if body.get("at") else ctx.clock()
    except (TypeError, ValueError):
        raise HTTPException(400, "at: an ISO 8601 time such as 2026-11-23T14:05:00Z") from None
    if at.tzinfo is None:
        raise HTTPException(400, "at: give the time zone, e.g. 2026-11-23T14:05:00Z")
    with ctx.engine.begin() as conn:
        if not conn.execute(select(mentions.c.id).where(mentions.c.id == mention_id)).first():
            raise HTTPException(404, f"no mention with id {mention_id}")
        if not who.may_act(inbox_store.mention_departments(conn, mention_id)):
            raise HTTPException(403, "this token may not record responses for this mention")
        by = str(body.get("by") or who.name)[:200]
        actions.record_answer(conn, ctx.config, mention_id, at=at, by=by, url=url, note=note[:5000])
    return {"mention_id": mention_id, "responded_at": _iso(at), "by": by, "via": "web", "url": url, "note": note}


async def respond(ctx: Site, request: Request) -> Response:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise HTTPException(400, "the body must be JSON: {\"at\", \"by\", \"url\", \"note\"}, all optional") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    result = await run_in_threadpool(_respond, ctx, request, request.path_params["mention_id"], body)
    return JSONResponse(result, status_code=201)


def _report(ctx: Site, request: Request) -> dict:
    """`listener report --format json`, for the period, baseline and grouping asked (members: their
    departments' rows, by department only)."""
    from listener.reports import figures
    from listener.web.dashboard import periods

    who = ctx.gate.token(request)
    p = request.query_params
    by = p.get("by") or None
    if not who.sees_all:
        if by not in (None, "department"):
            raise HTTPException(403, "a member token reads its departments' figures only: by=department")
        by = "department"
    if by is not None and by not in figures.GROUPINGS:
        raise HTTPException(400, f"by: one of {', '.join(figures.GROUPINGS)}")
    asked, against = periods(ctx, p.get("period") or "last-week", p.get("baseline") or None)
    with ctx.engine.connect() as conn:
        result = figures.build(conn, asked, now=ctx.clock(), by=by, baseline=against).as_json()
    if not who.sees_all:
        result["rows"] = [row for row in result["rows"] if row["group"] in who.departments]
    return result


async def report(ctx: Site, request: Request) -> Response:
    return JSONResponse(await run_in_threadpool(_report, ctx, request))
