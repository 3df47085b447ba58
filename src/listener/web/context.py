"""What every handler of the web app shares: config, store, who-is-asking, templates, clock."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from sqlalchemy import Engine

from listener.clock import Clock
from listener.config import Config
from listener.web.auth import Gate, LoginLimiter


@dataclass(frozen=True)
class WebContext:
    config: Config
    engine: Engine
    gate: Gate
    templates: Environment
    clock: Clock
    limiter: LoginLimiter
    log: object
