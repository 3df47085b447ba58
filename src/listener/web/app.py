"""The web application: every route in one list, and what the handlers share.

Handlers reach the config, the store and the clock through ``request.app.state.web`` (a
``WebContext``), so a test builds the same app over its own database and clock.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from listener.clock import Clock, utcnow
from listener.config import Config
from listener.logs import get_logger
from listener.secrets import secret
from listener.text import describe
from listener.web import links
from listener.web.templates import page


@dataclass(frozen=True, slots=True)
class WebContext:
    config: Config
    engine: Engine
    clock: Clock = utcnow

    @property
    def secret(self) -> str | None:
        """The key that signs links; read when used, so a rotated credential takes effect."""
        return secret(self.config.web.secret_env)


def routes() -> list[BaseRoute]:
    return [
        Route("/answered/{token}", links.confirm, methods=["GET"]),
        Route("/answered/{token}", links.record, methods=["POST"]),
    ]


async def failed(request: Request, exc: Exception) -> Response:
    """A handler that failed (the database away, a bug): one structured log line, naming the route
    but not the path, which may hold a link's token; a short page; the daemon carries on."""
    route = request.scope.get("route")
    get_logger().error("web.failed", method=request.method, route=getattr(route, "path", None), error=describe(exc))
    return page("answered.html", 500, problem=True, heading="Something went wrong",
                message="The error was logged. Try again in a minute.")


def build_app(config: Config, engine: Engine, clock: Clock = utcnow) -> Starlette:
    app = Starlette(routes=routes(), exception_handlers={Exception: failed})
    app.state.web = WebContext(config, engine, clock)
    return app
