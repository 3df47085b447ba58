"""The web application: every route in one list, and what the handlers share.

Handlers reach the config, the store and the clock through ``request.app.state.web`` (a
``WebContext``), so a test builds the same app over its own database and clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route

from listener.clock import Clock, utcnow
from listener.config import Config
from listener.secrets import secret
from listener.web import health, links


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
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/readyz", health.readyz, methods=["GET"]),
        Route("/metrics", health.metrics_page, methods=["GET"]),
        Route("/answered/{token}", links.confirm, methods=["GET"]),
        Route("/answered/{token}", links.record, methods=["POST"]),
    ]


def build_app(config: Config, engine: Engine, clock: Clock = utcnow) -> Starlette:
    app = Starlette(routes=routes())
    app.state.web = WebContext(config, engine, clock)
    return app


def reconfigure(app: Starlette, config: Config) -> None:
    """Take a config reloaded by the daemon (SIGHUP)."""
    app.state.web = replace(app.state.web, config=config)
