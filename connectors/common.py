"""What the JSON-API connectors share: times, ids in order, credentials, the paging budget.

Not a connector itself (it registers no kind); every function is pure except ``credential``,
which reads the environment.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from listener.connector import PollContext
from listener.http import RATE_WAIT, AuthError, Fetched, FetchError, host_of
from listener.secrets import secret

MAX_PAGES = 10
"""Pages one poll may read from one endpoint; the rest waits for the next poll (the cursor holds)."""


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 string (with Z or an offset, or naive meaning UTC) or epoch seconds, in UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def id_key(value: str) -> tuple[int, str]:
    """Order numeric ids (Mastodon's snowflakes) as numbers, without trusting them to be digits."""
    return (len(value), value)


def newest(ids: list[str], current: str | None) -> str | None:
    return max([*ids, *([current] if current else [])], key=id_key, default=None)


def credential(variable: str | None, kind: str) -> str:
    """The secret named by an option such as ``token_env``; missing is an authentication problem
    that says which variable to set (never what it holds)."""
    value = secret(variable)
    if not value:
        error = AuthError(401, kind, variable)
        error.args = (f"{kind}: authentication problem: set the environment variable {variable} "
                      "(or a systemd credential of that name)",)
        raise error
    return value


def spent(ctx: PollContext, url: str) -> bool:
    """Whether the host's rate limit is spent for longer than a short wait: the poll then ends
    with what it has, leaving the cursors of what it did not read where they were."""
    return ctx.http.rate_wait(host_of(url)) > RATE_WAIT


def budget_left(fetched: Fetched) -> bool:
    """Whether the host's rate limit allows another page in this poll (one request kept in hand)."""
    return fetched.rate is None or fetched.rate.remaining is None or fetched.rate.remaining >= 2


def as_list(data: Any, what: str, url: str) -> list:
    if not isinstance(data, list):
        raise FetchError(f"unexpected answer from {url}: expected a list of {what}")
    return data


_LINK = re.compile(r'<([^>]*)>\s*((?:;\s*[^;,]+)*)')
_REL = re.compile(r'rel\s*=\s*"?([^";]+)"?')


def links(header: str | None) -> dict[str, str]:
    """A ``Link`` header (RFC 8288) as {rel: url}: ``<u1>; rel="next", <u2>; rel="prev"``."""
    out: dict[str, str] = {}
    for match in _LINK.finditer(header or ""):
        rel = _REL.search(match.group(2))
        if rel:
            for name in rel.group(1).split():
                out.setdefault(name.lower(), match.group(1))
    return out
