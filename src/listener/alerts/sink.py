"""The sink contract, the secrets a sink reads, and the HTTP POST the chat and webhook sinks share.

Each sink module imports this one; the table from a sink type to its class is in ``sinks.py``.

Secrets come from the environment or from systemd credentials ($CREDENTIALS_DIRECTORY/NAME),
never from config.toml, and are never logged.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Protocol

from listener.config import SinkConfig
from listener.secrets import secret
from listener.store.routing import Pending


class DeliveryError(Exception):
    """A failed delivery. ``permanent`` failures (a 4xx other than 429) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False, retry_after: timedelta | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Sink(Protocol):
    name: str

    async def send(self, alerts: Sequence[Pending]) -> None:
        """Deliver one alert, or several as one digest message; raise DeliveryError on failure."""


def required_secret(variable: str, what: str) -> str:
    value = secret(variable)
    if not value:
        raise DeliveryError(f"{what}: environment variable {variable} is not set (nor a systemd credential of that name)")
    return value


class HttpSink:
    """A sink that POSTs one JSON payload per message to a URL from the config or a secret."""

    def __init__(self, config: SinkConfig, http):
        self.name = config.name
        self.config = config
        self.http = http

    def url(self) -> str:
        return self.config.url or required_secret(self.config.url_env, f"sink {self.name}")

    async def post_json(self, payload: dict, headers: dict[str, str] | None = None) -> None:
        import json

        content = json.dumps(payload, ensure_ascii=False).encode()
        await post(self.http, self.url(), content, headers or {}, f"sink {self.name}", self.config.timeout.total_seconds())


async def post(client, url: str, content: bytes, headers: dict[str, str], what: str, timeout: float = 20.0) -> None:
    """POST a payload; 5xx, 429 and timeouts are worth retrying, other 4xx are not."""
    import httpx

    from listener.http import parse_retry_after

    try:
        response = await client.post(url, content=content, timeout=timeout,
                                     headers={"Content-Type": "application/json", **headers})
    except httpx.InvalidURL:  # its message holds the URL, which may be the secret
        raise DeliveryError(f"{what}: the URL is not valid; check url or url_env", permanent=True) from None
    except httpx.TimeoutException:
        raise DeliveryError(f"{what}: timed out") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}: {exc or 'connection failed'}") from None
    if response.status_code < 300:
        return
    detail = f"{what}: HTTP {response.status_code}"
    if response.status_code == 429 or response.status_code >= 500:
        from datetime import UTC, datetime

        raise DeliveryError(detail, retry_after=parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC)))
    raise DeliveryError(f"{detail} (not retried: check the sink's URL and settings)", permanent=True)
