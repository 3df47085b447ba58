"""The connector contract: how a platform's responses become Items.

A connector never writes to the store and never sleeps. It gets a PollContext (the shared HTTP
client, a logger bound to the source, the clock) and the cursor it returned last time, and returns
the new items and the next cursor. Rate limits and retries belong to http.py and the scheduler.

A streaming connector (Jetstream, a push API) has ``stream`` instead: an async iterator that yields
``Streamed`` steps from a long-lived connection. The daemon supervises it (reconnects with backoff)
and stores each step's cursor in the same transaction as the items before it, so a restart resumes
with no gap and no duplicate. Whether a source streams may depend on its options (``streams``).
Third parties add kinds through the ``listener.connectors`` entry-point group (registry.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from listener.cpu import INLINE, CpuPool
from listener.domain import Item
from listener.http import Fetched, HttpClient, Validators, host_of

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

    hosts: set[str] = field(default_factory=set)
    """Every host this poll asked, so the scheduler can keep the next poll behind their rate limits."""

    async def fetch(self, url: str | None = None) -> Fetched:
        """GET ``url`` (the source's own URL by default), conditionally when it is the source's URL."""
        target = url or self.url
        self.hosts.add(host_of(target))
        if target != self.url:
            return await self.http.get(target)
        fetched = await self.http.get(target, validators=self.validators)
        self.validators = fetched.validators
        return fetched

    async def get(self, url: str, **kwargs: Any) -> Fetched:
        """GET an API address; keyword arguments as for ``HttpClient.get`` (params, headers,
        secret_params, credential)."""
        self.hosts.add(host_of(url))
        return await self.http.get(url, **kwargs)

    async def request(self, method: str, url: str, **kwargs: Any) -> Fetched:
        self.hosts.add(host_of(url))
        return await self.http.request(method, url, **kwargs)

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
    """``default_url`` (optional) is the public address used when a source gives no ``url``."""

    kind: ClassVar[str]
    description: ClassVar[str]
    example: ClassVar[str]
    needs_url: ClassVar[bool]
    Options: ClassVar[type[BaseModel]]

    async def poll(self, ctx: PollContext, cursor: Any) -> PollResult: ...


@dataclass(frozen=True, slots=True)
class Streamed:
    """One step of a stream: the items since the previous step, and the cursor that resumes after them.

    A streaming connector yields a first step (with no items) once it is connected, so the daemon
    knows the connection is up before anything arrives, then a step per event or group of events.
    """

    items: tuple[Item, ...] = ()
    cursor: Any = None


class StreamingConnector(Protocol):
    kind: ClassVar[str]
    description: ClassVar[str]
    example: ClassVar[str]
    needs_url: ClassVar[bool]
    Options: ClassVar[type[BaseModel]]

    @classmethod
    def streams(cls, options: BaseModel) -> bool: ...

    def stream(self, ctx: PollContext, cursor: Any) -> AsyncIterator[Streamed]:
        """Connect, resuming from ``cursor`` (None: from now), and yield steps until the connection ends.

        Ending or raising both mean "disconnected"; the daemon calls it again with the last cursor it
        stored. Rewinding a little for safety is the connector's business (it knows the cursor's unit);
        items seen twice are dropped by external id.
        """
        ...


def is_streaming(connector: type, options: BaseModel) -> bool:
    """Whether a source of this kind, with these options, streams rather than polls."""
    streams = getattr(connector, "streams", None)
    return bool(streams(options)) if callable(streams) else False

