"""The pages people use: sign-in, a department's inbox, one mention with its actions.

Every handler first asks the Gate who is asking, then checks that this person may read (or act
on) the mention's departments: members their own, analysts everything read-only, admins all.
Database work runs in Starlette's thread pool, off the daemon's event loop.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from listener.classify.explain import explain
from listener.classify.explain import render as render_explanation
from listener.classify.language import normalise
from listener.domain import Label
from listener.routing import Router
from listener.store import inbox as inbox_store
from listener.store import routing as routing_store
from listener.store import users as user_store
from listener.web import actions
from listener.web.auth import checked_form, csrf_token
from listener.web.context import Site

FILTERS = ("label", "lang", "source", "platform", "campaign", "query", "assignee", "since", "until", "q")
MAX_NOTE = 5000


def render(ctx: Site, request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
    values.setdefault("flash", request.session.pop("flash", None))
    html = ctx.templates.get_template(name).render(request=request, csrf=csrf_token(request), **values)
    return HTMLResponse(html, status_code=status)


def _day(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(datetime.strptime(value, "%Y-%m-%d").date(), time.min, tzinfo=UTC)
    except ValueError:
        raise HTTPException(400, f"{name}: write the date as 2026-11-23") from None


def inbox_filter(params, department_id: int, limit: int = 50) -> inbox_store.InboxFilter:
    until = _day(params.get("until"), "until")
    label = params.get("label") or None
    if label and label not in Label.__members__.values():
        raise HTTPException(400, "label: use praise, criticism or neutral")
    return inbox_store.InboxFilter(
        department_id=department_id, label=label, lang=normalise(params.get("lang") or None),
        source=params.get("source") or None, platform=params.get("platform") or None,
        campaign=params.get("campaign") or None, query=params.get("query") or None,
        assignee=params.get("assignee") or None, since=_day(params.get("since"), "since"),
        until=until + timedelta(days=1) if until else None, search=(params.get("q") or "").strip() or None, limit=limit,
    )


def cursor_from(params) -> inbox_store.Cursor | None:
    text = params.get("cursor")
    if not text:
        return None
    try:
        return inbox_store.Cursor.decode(text)
    except ValueError:
        raise HTTPException(400, "cursor: not one this server wrote; start again from the first page") from None


def _visible_departments(ctx: Site, who: user_store.Principal) -> dict[str, int]:
    with ctx.engine.connect() as conn:
        known = inbox_store.department_names(conn)
    return known if who.sees_all else {n: i for n, i in known.items() if n in who.departments}


def _inbox_data(ctx: Site, request: Request) -> dict:
    who = ctx.gate.require_person(request)
    params = request.query_params
    visible = _visible_departments(ctx, who)
    name = params.get("department") or (next(iter(visible)) if visible else None)
    if name is None:
        return {"who": who, "departments": [], "department": None, "rows": [], "next_url": None, "filters": {},
                "users": [], "now": ctx.clock(), "newest": 0}
    if name not in visible:
        raise HTTPException(403, "you do not work for this department")
    f = inbox_filter(params, visible[name])
    with ctx.engine.connect() as conn:
        rows, following = inbox_store.page(conn, f, cursor_from(params))
        newest = inbox_store.newest_id(conn, visible[name])
        names = user_store.names(conn)
    kept = {k: params.get(k, "") for k in FILTERS if params.get(k)}
    next_url = "/?" + urlencode({"department": name, **kept, "cursor": following.encode()}) if following else None
    return {"who": who, "departments": list(visible), "department": name, "rows": rows, "next_url": next_url,
            "filters": kept, "users": names, "now": ctx.clock(), "newest": newest,
            "first_page": not params.get("cursor"),
            "rows_url": "/inbox/rows?" + urlencode({"department": name, **kept})}


async def inbox(ctx: Site, request: Request) -> Response:
    return render(ctx, request, "inbox.html", **await run_in_threadpool(_inbox_data, ctx, request))


async def inbox_rows(ctx: Site, request: Request) -> Response:
    """The first page's list alone: the inbox's script fetches it to show new mentions without a reload."""
    return render(ctx, request, "rows.html", **await run_in_threadpool(_inbox_data, ctx, request))


def _mention_data(ctx: Site, request: Request, mention_id: int) -> dict:
    who = ctx.gate.require_person(request)
    with ctx.engine.connect() as conn:
        page = inbox_store.detail(conn, mention_id)
        if page is None:
            raise HTTPException(404, f"no mention with id {mention_id}")
        departments = {r.department for r in page.routes}
        if not who.may_read(departments):
            raise HTTPException(403, "this mention belongs to another department")
        stored = routing_store.load_mentions(conn, ids=[mention_id])
        names = user_store.names(conn)
    m = page.mention
    return {"who": who, "page": page, "m": m, "may_act": who.may_act(departments), "users": names,
            "now": ctx.clock(), "why_routed": Router.from_config(ctx.config).explain_stored(stored[0]),
            "why_label": render_explanation(explain(m.text or m.title, m.lang, model=ctx.models.get()))}


async def mention(ctx: Site, request: Request) -> Response:
    data = await run_in_threadpool(_mention_data, ctx, request, request.path_params["mention_id"])
    return render(ctx, request, "mention.html", **data)


def _act(ctx: Site, request: Request, mention_id: int, action: str, form) -> str:
    """Carry out one action for the person asking; returns the line to show them afterwards."""
    who = ctx.gate.require_person(request)
    now = ctx.clock()
    with ctx.engine.begin() as conn:
        departments = inbox_store.mention_departments(conn, mention_id)
        if not inbox_store.detail(conn, mention_id):
            raise HTTPException(404, f"no mention with id {mention_id}")
        if not who.may_act(departments):
            raise HTTPException(403, "you may not change this mention")
        if action == "answered":
            url = str(form.get("url", "")).strip()
            if url and not url.lower().startswith(("http://", "https://")):
                raise HTTPException(400, "reply URL: give the http(s) address of the reply, or leave it empty")
            actions.record_answer(conn, ctx.config, mention_id, at=now, by=who.name, url=url,
                                  note=str(form.get("note", ""))[:MAX_NOTE])
            return "Marked answered."
        if action == "assign":
            name = str(form.get("user", ""))
            user_id = user_store.user_id(conn, name) if name else None
            if name and user_id is None:
                raise HTTPException(400, f'no user named "{name}"')
            inbox_store.assign(conn, mention_id, user_id, who.name, now)
            return f"Assigned to {name}." if name else "Unassigned."
        if action == "label":
            label = str(form.get("label", ""))
            if label not in Label.__members__.values():
                raise HTTPException(400, "label: use praise, criticism or neutral")
            actions.relabel(conn, mention_id, label, by=who.name, at=now)
            return f"Labelled {label}."
        if action == "note":
            text = str(form.get("text", "")).strip()
            if not text:
                raise HTTPException(400, "note: write something first")
            inbox_store.add_note(conn, mention_id, who.name, text[:MAX_NOTE], now)
            return "Note added."
        if action == "reopen":
            inbox_store.reopen(conn, mention_id, who.name, now)
            return "Reopened."
    raise HTTPException(404, f"no action {action}")


async def act(ctx: Site, request: Request) -> Response:
    form = await checked_form(request)
    mention_id = request.path_params["mention_id"]
    message = await run_in_threadpool(_act, ctx, request, mention_id, request.path_params["action"], form)
    request.session["flash"] = message
    return RedirectResponse(f"/mentions/{mention_id}", status_code=303)


async def login_page(ctx: Site, request: Request) -> Response:
    if await run_in_threadpool(ctx.gate.person, request):
        return RedirectResponse("/", status_code=303)
    return render(ctx, request, "login.html", next=_safe_next(request.query_params.get("next")), error=None)


def _safe_next(value: str | None) -> str:
    """Only a path on this site: never ``//evil.example`` or ``https://…``."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return "/"


async def login(ctx: Site, request: Request) -> Response:
    form = await checked_form(request)
    name, password = str(form.get("username", "")).strip(), str(form.get("password", ""))
    address = request.client.host if request.client else "?"
    target = _safe_next(str(form.get("next", "")))
    if ctx.limiter.blocked(name, address):
        ctx.log.warning("web.login_limited", user=name[:200], address=address)
        return render(ctx, request, "login.html", status=429, next=target,
                      error="Too many failed sign-ins. Wait 15 minutes and try again.")

    def check():
        with ctx.engine.connect() as conn:
            return user_store.authenticate(conn, name, password)

    who = await run_in_threadpool(check)
    if who is None:
        ctx.limiter.failed(name, address)
        ctx.log.info("web.login_failed", user=name[:200], address=address)
        return render(ctx, request, "login.html", status=401, next=target, error="Wrong user name or password.")
    request.session.clear()
    request.session["user"] = who.name
    ctx.log.info("web.login", user=who.name)
    return RedirectResponse(target, status_code=303)


async def logout(ctx: Site, request: Request) -> Response:
    await checked_form(request)
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def leave(ctx: Site, request: Request) -> Response:
    """The warning between the inbox and a link that is not http(s): shown as text, never followed."""
    who = await run_in_threadpool(ctx.gate.require_person, request)
    return render(ctx, request, "out.html", who=who, url=request.query_params.get("url", ""))
