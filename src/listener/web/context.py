"""What the inbox's handlers share: config, store, who-is-asking, templates, clock."""

from __future__ import annotations

from dataclasses import dataclass

from jinja2 import Environment
from sqlalchemy import Engine

from listener.clock import Clock
from listener.config import Config
from listener.store.models import Current
from listener.web.auth import Gate, LoginLimiter


@dataclass(frozen=True)
class Site:
    config: Config
    engine: Engine
    gate: Gate
    templates: Environment
    clock: Clock
    limiter: LoginLimiter
    log: object
    models: Current
    """The installation's newest learned model, for explaining labels."""
