"""The web application: every route in one list, the middleware around it, and how errors are shown.

Health, metrics and the answered links' handlers reach the config, the store and the clock through
``request.app.state.web`` (a ``WebContext``); the inbox's pages, actions and API are handed
``request.app.state.site`` (a ``Site``). Both are replaced whole when the daemon reloads its
config, so a request sees one config from start to end. A test builds the same app over its own
database and clock.
"""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from listener.clock import Clock, utcnow
from listener.config import Config
from listener.logs import get_logger
from listener.secrets import secret
from listener.store.models import Current
from listener.text import describe
from listener.web import api, dashboard, health, links, pages
from listener.web.auth import Gate, LoginLimiter, LoginRequired, SecurityHeaders
from listener.web.context import Site
from listener.web.render import environment
from listener.web.templates import page

STATIC = Path(__file__).parent / "static"
MIN_SECRET = 16


@dataclass(frozen=True, slots=True)
class WebContext:
    config: Config
    engine: Engine
    clock: Clock = utcnow

    @property
    def secret(self) -> str | None:
        """The key that signs links; read when used, so a rotated credential takes effect."""
        return secret(self.config.web.secret_env)


def session_key(config: Config) -> str:
    """The `[web] secret_env` secret; without one (the daemon says so at start, for the answered
    links), a random key for this process, so sessions work but end at a restart."""
    value = secret(config.web.secret_env)
    return value if value and len(value) >= MIN_SECRET else random_secrets.token_urlsafe(32)


async def failed(request: Request, exc: Exception) -> Response:
    """A handler that failed (the database away, a bug): one structured log line, naming the route
    but not the path, which may hold a link's token; a short page; the daemon carries on."""
    route = request.scope.get("route")
    get_logger().error("web.failed", method=request.method, route=getattr(route, "path", None), error=describe(exc))
    return page("answered.html", 500, problem=True, heading="Something went wrong",
                message="The error was logged. Try again in a minute.")


def build_app(config: Config, engine: Engine, clock: Clock = utcnow) -> Starlette:
    log = get_logger(component="web")
    site = Site(config=config, engine=engine, gate=Gate(config.web, engine, clock), templates=environment(),
                clock=clock, limiter=LoginLimiter(clock), log=log, models=Current(engine))

    def bind(handler):
        async def endpoint(request: Request) -> Response:
            return await handler(request.app.state.site, request)

        return endpoint

    routes = [
        Route("/healthz", health.healthz),
        Route("/readyz", health.readyz),
        Route("/metrics", health.metrics_page),
        Route("/", bind(pages.inbox)),
        Route("/inbox/rows", bind(pages.inbox_rows)),
        Route("/mentions/{mention_id:int}", bind(pages.mention)),
        Route("/mentions/{mention_id:int}/{action:str}", bind(pages.act), methods=["POST"]),
        Route("/dashboard", bind(dashboard.page)),
        Route("/login", bind(pages.login_page)),
        Route("/login", bind(pages.login), methods=["POST"]),
        Route("/logout", bind(pages.logout), methods=["POST"]),
        Route("/out", bind(pages.leave)),
        Route("/answered/{token}", links.confirm, methods=["GET"]),
        Route("/answered/{token}", links.record, methods=["POST"]),
        Route("/api/v1/mentions", bind(api.mentions_list)),
        Route("/api/v1/mentions/{mention_id:int}/responses", bind(api.respond), methods=["POST"]),
        Route("/api/v1/report", bind(api.report)),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=headers)
        return pages.render(request.app.state.site, request, "error.html", status=exc.status_code, who=None,
                            status_code=exc.status_code, message=exc.detail)

    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=session_key(config), session_cookie="listener_session",
                   max_age=int(config.web.session.total_seconds()), same_site="lax",
                   https_only=config.web.public_url.startswith("https://")),
    ]
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={LoginRequired: login_required, HTTPException: http_error,
                                        Exception: failed})
    app.state.web = WebContext(config, engine, clock)
    app.state.site = site
    return app


def reconfigure(app: Starlette, config: Config) -> None:
    """Take a config reloaded by the daemon (SIGHUP): departments, routes, SLAs, business hours,
    baselines and [web] settings apply from the next request. Sign-in attempts counted so far and
    the learned model stay; the session cookie's key and lifetime are fixed until a restart."""
    app.state.web = replace(app.state.web, config=config)
    site = app.state.site
    app.state.site = replace(site, config=config, gate=Gate(config.web, site.engine, site.clock))
