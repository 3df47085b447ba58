"""The one shared HTTP client every connector fetches through.

It owns what a polite, robust poller needs and a connector should not re-implement: our own
User-Agent, timeouts (per operation and in total, since a server that trickles bytes never trips a
read timeout), a response-size cap enforced while streaming, capped redirects, gzip, conditional GET,
Retry-After on 429/503, and a per-host concurrency limit.

It also keeps each host's rate limit (the ``X-RateLimit-*``, ``RateLimit-*``, ``x-ratelimit-*``
headers): once a host says its budget is spent, the next request to it waits for the reset when
that is a few seconds away and is refused as RetryLater otherwise, without touching the network;
the scheduler moves the source's next poll past the reset. Secrets (tokens, API keys) are sent
but never appear in an error: URLs in messages lose their secret query parameters, and any
secret value left in a message is masked.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from pydantic import BaseModel, ConfigDict, Field

from listener import __version__
from listener.durations import Duration


class HttpConfig(BaseModel):
    """The [http] table of config.toml: it lives here, where the client that obeys it is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user_agent: str = "listener/{version} (+https://example.org/contact)"
    timeout: Duration = timedelta(seconds=20)
    max_bytes: int = Field(default=10_000_000, gt=0)
    max_redirects: int = Field(default=5, ge=0)
    per_host: int = Field(default=2, gt=0)


@dataclass(frozen=True, slots=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        out = {}
        if self.etag:
            out["If-None-Match"] = self.etag
        if self.last_modified:
            out["If-Modified-Since"] = self.last_modified
        return out


RATE_WAIT = timedelta(seconds=5)
"""A spent rate limit that resets sooner than this is waited out within the poll; a later reset
ends the poll and moves the source's next one past it."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """What a host said about its request budget: requests left, and when the budget resets."""

    remaining: float | None = None
    reset_in: timedelta | None = None
    used: float | None = None

    @property
    def spent(self) -> bool:
        return self.remaining is not None and self.remaining < 1


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    status: int
    body: bytes
    content_type: str = ""
    charset: str | None = None
    validators: Validators = field(default_factory=Validators)
    headers: Mapping[str, str] = field(default_factory=dict)
    """Response headers, keys lower-cased."""
    rate: RateLimit | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    def json(self):
        """The body as JSON; a body that is not JSON is a FetchError naming the URL."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise FetchError(f"malformed JSON from {self.url}: {str(exc)[:120]}") from None


class FetchError(Exception):
    """A fetch that failed in a way worth one clear line in the source's state."""


class HttpStatusError(FetchError):
    def __init__(self, status: int, url: str):
        super().__init__(f"HTTP {status} from {url}")
        self.status = status
        self.url = url


class AuthError(HttpStatusError):
    """401 or 403: the credentials are missing, wrong or lack a permission; polling again will
    not help until someone fixes them, which the message says how to do."""

    def __init__(self, status: int, url: str, credential: str | None):
        super().__init__(status, url)
        what = "refused the credentials" if status == 401 else "denied access with the credentials"
        fix = (f"{what}; check the secret in ${credential} (environment or systemd credential)"
               if credential else "needs authentication; this source sends none")
        self.args = (f"HTTP {status} from {url}: authentication problem: the server {fix}",)
        self.credential = credential


class RetryLater(HttpStatusError):
    """429 or 503: the server asked us to come back later (``retry_after``, when it said)."""

    def __init__(self, status: int, url: str, retry_after: timedelta | None):
        super().__init__(status, url)
        self.retry_after = retry_after
        if retry_after is not None:
            self.args = (f"HTTP {status} from {url}; server asks to retry after {int(retry_after.total_seconds())}s",)


class RateLimited(RetryLater):
    """The host's rate limit is spent; nothing was sent."""

    def __init__(self, host: str, retry_after: timedelta):
        FetchError.__init__(self, f"rate limit of {host} is spent; it resets in {math.ceil(retry_after.total_seconds())}s")
        self.status = 429
        self.url = host
        self.retry_after = retry_after


class TooLarge(FetchError):
    pass


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


_SECRET_HEADERS = ("authorization", "x-api-key", "cookie")
_RATE_PREFIXES = ("x-ratelimit-", "ratelimit-", "x-rate-limit-")


def parse_rate_limit(headers: Mapping[str, str], now: datetime) -> RateLimit | None:
    """A host's budget from whichever family of rate-limit headers it sends.

    ``remaining`` may be a float string (Reddit: "598.0"). ``reset`` is delta seconds (Reddit,
    the IETF RateLimit draft), epoch seconds (GitHub, Bluesky) or an ISO 8601 time (Mastodon):
    a number larger than a year of seconds is read as an epoch.
    """
    values: dict[str, str] = {}
    for prefix in _RATE_PREFIXES:
        for key in ("remaining", "reset", "used"):
            value = headers.get(prefix + key)
            if value is not None and key not in values:
                values[key] = value.strip()
    if not values:
        return None
    return RateLimit(
        remaining=_number(values.get("remaining")),
        reset_in=_reset_in(values.get("reset"), now),
        used=_number(values.get("used")),
    )


def _number(value: str | None) -> float | None:
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _reset_in(value: str | None, now: datetime) -> timedelta | None:
    if not value:
        return None
    number = _number(value)
    if number is not None:
        if number > 365 * 86400:
            return max(datetime.fromtimestamp(number, UTC) - now, timedelta(0))
        return timedelta(seconds=max(number, 0))
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))


class HttpClient:
    def __init__(self, config: HttpConfig, transport: httpx.AsyncBaseTransport | None = None):
        self.config = config
        self.user_agent = config.user_agent.replace("{version}", __version__)
        self._client = httpx.AsyncClient(
            headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(config.timeout.total_seconds()),
            follow_redirects=True,
            max_redirects=config.max_redirects,
            transport=transport or _Transport(limits=httpx.Limits(max_connections=500)),
        )
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(config.per_host)
        )
        self._not_before: dict[str, datetime] = {}

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    def rate_wait(self, host: str) -> timedelta:
        """How long until the host's spent rate limit resets (zero when it is not spent)."""
        until = self._not_before.get(host)
        return max(until - datetime.now(UTC), timedelta(0)) if until else timedelta(0)

    async def get(self, url: str, validators: Validators | None = None, *,
                  params: Mapping[str, str | int] | None = None, headers: Mapping[str, str] | None = None,
                  secret_params: Mapping[str, str] | None = None, credential: str | None = None) -> Fetched:
        """GET ``url`` with ``params``; ``secret_params`` (an API key) are sent but never shown.

        ``credential`` names the environment variable whose secret ``headers`` carry, so that a
        401/403 can say what to fix.
        """
        return await self.request("GET", url, validators, params=params, headers=headers,
                                  secret_params=secret_params, credential=credential)

    async def request(self, method: str, url: str, validators: Validators | None = None, *,
                      params: Mapping[str, str | int] | None = None, headers: Mapping[str, str] | None = None,
                      data: Mapping[str, str] | None = None, auth: tuple[str, str] | None = None,
                      secret_params: Mapping[str, str] | None = None, credential: str | None = None,
                      json_body: Mapping[str, Any] | None = None) -> Fetched:
        """Any method; ``data`` is sent as a form, ``json_body`` as JSON (neither is ever shown)."""
        validators = validators or Validators()
        target = httpx.URL(url)
        if params:
            target = target.copy_merge_params({k: str(v) for k, v in params.items()})
        shown = str(target)
        if secret_params:
            target = target.copy_merge_params(dict(secret_params))
        secrets = [*(secret_params or {}).values(), *(auth or ()),
                   *(v for k, v in (headers or {}).items() if k.lower() in _SECRET_HEADERS)]
        host = target.host
        try:
            await self._wait_for_budget(host)
            async with self._hosts[host]:
                try:
                    async with asyncio.timeout(self.config.timeout.total_seconds() * 2):
                        return await self._send(method, target, shown, validators, headers, data, auth, credential, json_body)
                except TimeoutError:
                    raise FetchError(f"timed out after {self.config.timeout.total_seconds() * 2:g}s fetching {shown}") from None
                except httpx.TimeoutException:
                    raise FetchError(f"timed out after {self.config.timeout.total_seconds():g}s fetching {shown}") from None
                except httpx.TooManyRedirects:
                    raise FetchError(f"more than {self.config.max_redirects} redirects from {shown}") from None
                except httpx.DecodingError as exc:
                    raise FetchError(f"broken compressed body from {shown}: {exc}") from None
                except httpx.ConnectError as exc:
                    raise FetchError(f"cannot connect to {host}: {_reason(exc)}") from None
                except (httpx.HTTPError, aiohttp.ClientError) as exc:
                    raise FetchError(f"{type(exc).__name__} fetching {shown}: {exc or 'connection failed'}") from None
        except FetchError as exc:
            _mask(exc, secrets)
            raise

    async def _wait_for_budget(self, host: str) -> None:
        wait = self.rate_wait(host)
        if wait > RATE_WAIT:
            raise RateLimited(host, wait)
        if wait:
            await asyncio.sleep(wait.total_seconds())

    def _observe(self, host: str, rate: RateLimit | None, retry_after: timedelta | None) -> None:
        now = datetime.now(UTC)
        if retry_after is not None:
            self._not_before[host] = now + retry_after
        elif rate is not None and rate.spent and rate.reset_in is not None:
            self._not_before[host] = now + rate.reset_in
        elif host in self._not_before and self._not_before[host] <= now:
            del self._not_before[host]

    async def _send(self, method, target: httpx.URL, shown: str, validators: Validators, headers, data, auth,
                    credential, json_body=None) -> Fetched:
        request_headers = {**validators.headers(), **(headers or {})}
        async with self._client.stream(method, target, headers=request_headers, data=data, auth=auth,
                                       json=json_body) as response:
            final_url = shown if response.url == target else _without_query(response.url)
            now = datetime.now(UTC)
            rate = parse_rate_limit(response.headers, now)
            kept = {k.lower(): v for k, v in response.headers.items()}
            if response.status_code == 304:
                self._observe(target.host, rate, None)
                return Fetched(final_url, 304, b"", validators=_validators(response, validators), headers=kept, rate=rate)
            if response.status_code in (429, 503):
                retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
                if retry_after is None and rate is not None and response.status_code == 429:
                    retry_after = rate.reset_in
                self._observe(target.host, rate, retry_after)
                raise RetryLater(response.status_code, final_url, retry_after)
            self._observe(target.host, rate, None)
            if response.status_code in (401, 403):
                raise AuthError(response.status_code, final_url, credential)
            if response.status_code >= 400:
                raise HttpStatusError(response.status_code, final_url)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > self.config.max_bytes:
                raise TooLarge(f"{final_url} is {int(declared):,} bytes; the limit is [http] max_bytes = {self.config.max_bytes:,}")
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.config.max_bytes:
                    raise TooLarge(f"{final_url} is over [http] max_bytes = {self.config.max_bytes:,} bytes")
                chunks.append(chunk)
            return Fetched(
                url=final_url,
                status=response.status_code,
                body=b"".join(chunks),
                content_type=response.headers.get("Content-Type", "").split(";")[0].strip().lower(),
                charset=response.charset_encoding,
                validators=_validators(response, Validators()),
                headers=kept,
                rate=rate,
            )


def _mask(exc: FetchError, secrets: Iterable[str]) -> None:
    """Replace any secret (or its bearer token part) left in an error's message by ***."""
    message = str(exc)
    for value in secrets:
        for part in {value, value.split(" ", 1)[-1]}:
            if len(part) >= 6:
                message = message.replace(part, "***")
    if message != str(exc):
        exc.args = (message,)


def _without_query(url: httpx.URL) -> str:
    """A redirect target's address for messages: its query may carry what we were told to hide."""
    return str(url.copy_with(query=None)) + ("?…" if url.query else "")


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "Name or service not known" in text or "nodename nor servname" in text or "Temporary failure in name resolution" in text:
        return "host name not found (offline, or a typo in the URL?)"
    if any(words in text for words in ("Connection refused", "All connection attempts failed", "Connect call failed")):
        return "connection refused"
    return text or type(exc).__name__


def _validators(response: httpx.Response, previous: Validators) -> Validators:
    return Validators(
        etag=response.headers.get("ETag") or previous.etag,
        last_modified=response.headers.get("Last-Modified") or previous.last_modified,
    )


class _Transport(AiohttpTransport):
    """aiohttp under httpx (httpx's own transport costs ~1.6 ms of CPU per request, which caps a
    poller at ~600 requests/s however many are 304s; PERFORMANCE.md), with two fixes: a redirected
    GET reaches the transport with an unread empty stream, which aiohttp would send as a chunked
    body, so a bodiless request is sent without one; and a refused connection is a ConnectError,
    not the ConnectTimeout the library maps it to."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method in ("GET", "HEAD"):
            request = httpx.Request(request.method, request.url, headers=request.headers,
                                    extensions=request.extensions)
        try:
            return await super().handle_async_request(request)
        except httpx.ConnectTimeout as exc:
            if isinstance(exc.__cause__, aiohttp.ClientConnectorError):
                raise httpx.ConnectError(str(exc.__cause__), request=request) from exc.__cause__
            raise
