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
import base64
import email.utils
import json
import math
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, quote_plus

import aiohttp
from pydantic import BaseModel, ConfigDict, Field
from yarl import URL

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
    """aiohttp, called directly: httpx's own transport cost ~1.6 ms of CPU per request, and its
    API over an aiohttp transport still half of a 304 re-poll's CPU (bench/poll.py)."""

    def __init__(self, config: HttpConfig):
        self.config = config
        self.user_agent = config.user_agent.replace("{version}", __version__)
        seconds = config.timeout.total_seconds()
        self._timeout = aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)
        self._session: aiohttp.ClientSession | None = None
        self._proxies = urllib.request.getproxies_environment()
        self._hosts: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(config.per_host)
        )
        self._not_before: dict[str, datetime] = {}

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp binds it to the running event loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=500),
                headers={"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"},
                timeout=self._timeout,
            )
        return self._session

    def _proxy(self, target: URL) -> str | None:
        """The proxy that $HTTP_PROXY or $HTTPS_PROXY names for ``target``, unless $NO_PROXY
        exempts its host. Read once at start: aiohttp's own reading (trust_env) costs two
        thread hops per request."""
        proxy = self._proxies.get(target.scheme)
        if proxy is None or urllib.request.proxy_bypass_environment(target.host or "", self._proxies):
            return None
        return proxy

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
        try:
            target = URL(url)
        except (TypeError, ValueError) as exc:
            raise FetchError(f"not a valid URL: {url} ({exc})") from None
        if params:
            target = target.update_query({k: str(v) for k, v in params.items()})
        shown = str(target)
        if secret_params:
            target = target.update_query(dict(secret_params))
        secrets = [*(secret_params or {}).values(), *(auth or ()),
                   *(v for k, v in (headers or {}).items() if k.lower() in _SECRET_HEADERS)]
        host = target.host or ""
        timeout = self.config.timeout.total_seconds()
        try:
            if not target.absolute or target.scheme not in ("http", "https"):
                raise FetchError(f"not an http(s) URL: {shown}")
            await self._wait_for_budget(host)
            async with self._hosts[host]:
                try:
                    async with asyncio.timeout(timeout * 2):
                        return await self._send(method, target, shown, host, validators, headers, data, auth,
                                                credential, json_body)
                except aiohttp.ServerTimeoutError:
                    raise FetchError(f"timed out after {timeout:g}s fetching {shown}") from None
                except TimeoutError:
                    raise FetchError(f"timed out after {timeout * 2:g}s fetching {shown}") from None
                except aiohttp.TooManyRedirects:
                    raise FetchError(f"more than {self.config.max_redirects} redirects from {shown}") from None
                except aiohttp.ClientConnectorError as exc:
                    raise FetchError(f"cannot connect to {host}: {_reason(exc)}") from None
                except aiohttp.ClientPayloadError as exc:
                    if "decode" in str(exc).lower():
                        raise FetchError(f"broken compressed body from {shown}: {exc}") from None
                    raise FetchError(f"incomplete body from {shown}: {exc}") from None
                except aiohttp.ClientResponseError as exc:  # its text ends with the full URL, secrets included
                    raise FetchError(f"bad response from {shown}: {exc.status}, {exc.message}") from None
                except aiohttp.ClientError as exc:
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
        if retry_after is None and rate is None and host not in self._not_before:
            return
        now = datetime.now(UTC)
        if retry_after is not None:
            self._not_before[host] = now + retry_after
        elif rate is not None and rate.spent and rate.reset_in is not None:
            self._not_before[host] = now + rate.reset_in
        elif host in self._not_before and self._not_before[host] <= now:
            del self._not_before[host]

    async def _send(self, method, target: URL, shown: str, host: str, validators: Validators, headers, data,
                    auth, credential, json_body=None) -> Fetched:
        request_headers = {**validators.headers(), **(headers or {})}
        if auth:
            request_headers["Authorization"] = _basic(*auth)
        redirects = self.config.max_redirects
        async with self._open().request(
            method, target, headers=request_headers, data=data, json=json_body, proxy=self._proxy(target),
            allow_redirects=redirects > 0, max_redirects=redirects + 1,
        ) as response:
            status = response.status
            if response.history or status in _REDIRECTS:
                if status in _REDIRECTS and "Location" in response.headers:  # max_redirects = 0
                    raise FetchError(f"more than {redirects} redirects from {shown}")
                final_url = shown if response.url == target else _without_query(response.url)
            else:
                final_url = shown
            kept = _lowered(response.headers)
            rate = parse_rate_limit(kept, datetime.now(UTC))
            if status == 304:
                self._observe(host, rate, None)
                return Fetched(final_url, 304, b"", validators=_validators(kept, validators), headers=kept, rate=rate)
            if status in (429, 503):
                retry_after = parse_retry_after(kept.get("retry-after"), datetime.now(UTC))
                if retry_after is None and rate is not None and status == 429:
                    retry_after = rate.reset_in
                self._observe(host, rate, retry_after)
                raise RetryLater(status, final_url, retry_after)
            self._observe(host, rate, None)
            if status in (401, 403):
                raise AuthError(status, final_url, credential)
            if status >= 400:
                raise HttpStatusError(status, final_url)
            declared = kept.get("content-length", "")
            if declared.isdigit() and int(declared) > self.config.max_bytes:
                raise TooLarge(f"{final_url} is {int(declared):,} bytes; the limit is [http] max_bytes = {self.config.max_bytes:,}")
            chunks, size = [], 0
            async for chunk in response.content.iter_any():
                size += len(chunk)
                if size > self.config.max_bytes:
                    raise TooLarge(f"{final_url} is over [http] max_bytes = {self.config.max_bytes:,} bytes")
                chunks.append(chunk)
            return Fetched(
                url=final_url,
                status=status,
                body=b"".join(chunks),
                content_type=kept.get("content-type", "").split(";")[0].strip().lower(),
                charset=response.charset,
                validators=_validators(kept, Validators()),
                headers=kept,
                rate=rate,
            )


_REDIRECTS = frozenset((301, 302, 303, 307, 308))


def host_of(url: str) -> str:
    """The host part of ``url``, as the client keys its per-host limits and rate budgets."""
    try:
        return URL(url).host or ""
    except (TypeError, ValueError):
        return ""


def _basic(user: str, password: str) -> str:
    """HTTP Basic credentials; aiohttp drops the header when a redirect leaves the origin."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _lowered(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers with lower-case keys; a repeated header's values joined by commas
    (RFC 9110 §5.3), so two Link headers are both read."""
    out: dict[str, str] = {}
    for key, value in headers.items():
        key = key.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _mask(exc: FetchError, secrets: Iterable[str]) -> None:
    """Replace any secret (or its bearer token part) left in an error's message by ***."""
    message = str(exc)
    for value in secrets:
        for part in {value, value.split(" ", 1)[-1]}:
            if len(part) >= 6:
                for written in {part, quote(part, safe=""), quote_plus(part), quote(part)}:
                    message = message.replace(written, "***")
    if message != str(exc):
        exc.args = (message,)


def _without_query(url: URL) -> str:
    """A redirect target's address for messages: its query may carry what we were told to hide."""
    return str(url.with_query(None).with_fragment(None)) + ("?…" if url.query_string else "")


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "Name or service not known" in text or "nodename nor servname" in text or "Temporary failure in name resolution" in text:
        return "host name not found (offline, or a typo in the URL?)"
    if any(words in text for words in ("Connection refused", "Connect call failed")):
        return "connection refused"
    return text or type(exc).__name__


def _validators(headers: Mapping[str, str], previous: Validators) -> Validators:
    return Validators(
        etag=headers.get("etag") or previous.etag,
        last_modified=headers.get("last-modified") or previous.last_modified,
    )
