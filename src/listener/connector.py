"""The connector contract: how a platform's responses become Items.

A connector never writes to the store and never sleeps. It gets a PollContext (the shared HTTP
client, a logger bound to the source, the clock) and the cursor it returned last time, and returns
the new items and the next cursor. Rate limits and retries belong to http.py and the scheduler.
Third parties add kinds through the ``listener.connectors`` entry-point group.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol, TypeVar

import structlog
from pydantic import BaseModel, ConfigDict

from listener.cpu import INLINE, CpuPool
from listener.domain import Item
from listener.http import Fetched, HttpClient, Validators

ENTRY_POINT_GROUP = "listener.connectors"
T = TypeVar("T")


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(slots=True)
class PollContext:
    """What a connector may touch during one poll of one source.

    ``validators`` holds the ETag/Last-Modified stored for the source's URL; ``fetch`` sends them and
    keeps the new ones, which the scheduler writes back to the source row after the poll.
    """

    source: str
    url: str
    options: BaseModel
    http: HttpClient
    log: Any
    now: Callable[[], datetime]
    validators: Validators = field(default_factory=Validators)
    cpu: CpuPool = INLINE

    async def fetch(self, url: str | None = None) -> Fetched:
        """GET ``url`` (the source's own URL by default), conditionally when it is the source's URL."""
        target = url or self.url
        if target != self.url:
            return await self.http.get(target)
        fetched = await self.http.get(target, validators=self.validators)
        self.validators = fetched.validators
        return fetched

    async def offload(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a pure, CPU-bound function (a parser) in the daemon's worker processes, so a big
        response never stalls the other polls. ``fn`` must be importable by name; its arguments
        and result plain data."""
        return await self.cpu.run(fn, *args)


@dataclass(frozen=True, slots=True)
class PollResult:
    items: list[Item]
    cursor: Any = None
    not_modified: bool = False


class Connector(Protocol):
    kind: ClassVar[str]
    description: ClassVar[str]
    example: ClassVar[str]
    needs_url: ClassVar[bool]
    Options: ClassVar[type[BaseModel]]

    async def poll(self, ctx: PollContext, cursor: Any) -> PollResult: ...


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
