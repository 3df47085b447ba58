"""The web app: every route in one list, the middleware around it, and how errors are shown.

``create_app`` is what `listener run` serves and what the tests drive with Starlette's TestClient.
"""

from __future__ import annotations

import functools
from pathlib import Path

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from urllib.parse import quote

from listener.clock import Clock, utcnow
from listener.config import Config, WebConfig
from listener.logs import get_logger
from listener.web import api, pages
from listener.web.auth import Gate, LoginLimiter, LoginRequired, SecurityHeaders
from listener.web.context import WebContext
from listener.web.render import environment

STATIC = Path(__file__).parent / "static"


def create_app(config: Config, engine: Engine, secret: str, clock: Clock = utcnow) -> Starlette:
    web = config.web or WebConfig()
    ctx = WebContext(config=config, engine=engine, gate=Gate(web, engine, clock), templates=environment(),
                     clock=clock, limiter=LoginLimiter(clock), log=get_logger(component="web"))

    def bind(handler):
        return functools.partial(handler, ctx)

    routes = [
        Route("/", bind(pages.inbox)),
        Route("/inbox/rows", bind(pages.inbox_rows)),
        Route("/mentions/{mention_id:int}", bind(pages.mention)),
        Route("/mentions/{mention_id:int}/{action:str}", bind(pages.act), methods=["POST"]),
        Route("/login", bind(pages.login_page)),
        Route("/login", bind(pages.login), methods=["POST"]),
        Route("/logout", bind(pages.logout), methods=["POST"]),
        Route("/out", bind(pages.leave)),
        Route("/api/v1/mentions", bind(api.mentions_list)),
        Route("/api/v1/mentions/{mention_id:int}/responses", bind(api.respond), methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]

    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=headers)
        return pages.render(ctx, request, "error.html", status=exc.status_code, who=None,
                            status_code=exc.status_code, message=exc.detail)

    middleware = [
        Middleware(SecurityHeaders),
        Middleware(SessionMiddleware, secret_key=secret, session_cookie="listener_session",
                   max_age=int(web.session.total_seconds()), same_site="lax",
                   https_only=web.public_url.startswith("https://")),
    ]
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={LoginRequired: login_required, HTTPException: http_error})
