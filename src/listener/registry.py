"""Which connector kinds are installed: first-party ones and third parties' alike, by entry point.

The registry lives beside the implementations rather than in connector.py, which they import: the
config asks it only for option schemas, and the scheduler for the classes to poll with. Imports run
one way: config → registry → (connectors →) connector → http.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib.metadata import entry_points

from pydantic import BaseModel

from listener.connector import Connector
from listener.text import describe

ENTRY_POINT_GROUP = "listener.connectors"


@dataclass(frozen=True, slots=True)
class OptionSchema:
    """What the config needs to know to check a [[sources]] table of one kind."""

    kind: str
    options: type[BaseModel]
    needs_url: bool
    default_url: str = ""


def registry() -> dict[str, type[Connector]]:
    """Every installed connector kind that loads and keeps the contract, by entry point."""
    return _load()[0]


def broken() -> dict[str, str]:
    """Installed kinds that fail to import or break the contract, with the reason, one line each."""
    return _load()[1]


@functools.cache
def _load() -> tuple[dict[str, type[Connector]], dict[str, str]]:
    """A broken third-party connector must not take the daemon down: it is set aside by name,
    and the sources that use it are skipped (config.py) while everything else runs."""
    found: dict[str, type[Connector]] = {}
    failed: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            connector = ep.load()
        except Exception as exc:  # whatever a plugin's import raises
            failed[ep.name] = f"cannot import {ep.value}: {describe(exc, 200)}"
            continue
        problem = contract_problem(connector)
        if problem:
            failed[ep.name] = f"{ep.value}: {problem}"
        else:
            found[ep.name] = connector
    return found, failed


def contract_problem(connector: object) -> str | None:
    """What keeps a loaded class from being used as a connector, or None."""
    if not isinstance(connector, type):
        return "not a class"
    missing = [a for a in ("kind", "description", "example", "needs_url", "Options") if not hasattr(connector, a)]
    if missing:
        return "lacks " + ", ".join(missing)
    options = connector.Options
    if not (isinstance(options, type) and issubclass(options, BaseModel)):
        return "Options is not a pydantic model"
    try:
        options.model_json_schema()
    except Exception as exc:  # a schema pydantic cannot describe cannot check a config either
        return f"Options schema is broken: {describe(exc, 200)}"
    if not (callable(getattr(connector, "poll", None)) or callable(getattr(connector, "stream", None))):
        return "has neither poll nor stream"
    return None


def option_schemas() -> dict[str, OptionSchema]:
    return {
        kind: OptionSchema(kind, connector.Options, connector.needs_url, getattr(connector, "default_url", ""))
        for kind, connector in registry().items()
    }
