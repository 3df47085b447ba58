"""Which connector kinds are installed: first-party ones and third parties' alike, by entry point.

The registry lives beside the implementations rather than in connector.py, which they import: the
config asks it only for option schemas, and the scheduler for the classes to poll with. Imports run
one way: config → registry → (connectors →) connector → http.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import entry_points

import structlog
from pydantic import BaseModel

from listener.connector import Connector

ENTRY_POINT_GROUP = "listener.connectors"


@dataclass(frozen=True, slots=True)
class OptionSchema:
    """What the config needs to know to check a [[sources]] table of one kind."""

    kind: str
    options: type[BaseModel]
    needs_url: bool
    default_url: str = ""


@functools.cache
def registry() -> dict[str, type[Connector]]:
    """Every installed connector kind, first-party ones included, by entry point."""
    found: dict[str, type[Connector]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a broken third-party plugin must not take the daemon down
            structlog.get_logger().error("connector.load_failed", kind=ep.name, error=str(exc))
    return found


def option_schemas() -> dict[str, OptionSchema]:
    return {
        kind: OptionSchema(kind, connector.Options, connector.needs_url, getattr(connector, "default_url", ""))
        for kind, connector in registry().items()
    }
