"""The one shared HTTP client every connector fetches through.

It owns what a polite, robust poller needs and a connector should not re-implement: our own
User-Agent, timeouts (per operation and in total, since a server that trickles bytes never trips a
read timeout), a response-size cap enforced while streaming, capped redirects, gzip, conditional GET,
Retry-After on 429/503, and a per-host concurrency limit.

httpx's API over aiohttp's transport: httpx's own costs ~1.6 ms of CPU per request, which caps a
poller at ~600 requests/s however many of them are 304s (PERFORMANCE.md); aiohttp's costs a tenth.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from listener import __version__
from listener.config import HttpConfig
from listener.text import one_line


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


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str
    status: int
    body: bytes
    content_type: str = ""
    charset: str | None = None
    validators: Validators = field(default_factory=Validators)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchError(Exception):
    """A fetch that failed in a way worth one clear line in the source's state."""


class HttpStatusError(FetchError):
    def __init__(self, status: int, url: str):
        super().__init__(f"HTTP {status} from {url}")
        self.status = status


class RetryLater(HttpStatusError):
    """429 or 503: the server asked us to come back later (``retry_after``, when it said)."""

    def __init__(self, status: int, url: str, retry_after: timedelta | None):
        super().__init__(status, url)
        self.retry_after = retry_after
        if retry_after is not None:
            self.args = (f"HTTP {status} from {url}; server asks to retry after {int(retry_after.total_seconds())}s",)


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

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, validators: Validators | None = None) -> Fetched:
        validators = validators or Validators()
        host = httpx.URL(url).host
        async with self._hosts[host]:
            try:
                async with asyncio.timeout(self.config.timeout.total_seconds() * 2):
                    return await self._get(url, validators)
            except TimeoutError:
                raise FetchError(f"timed out after {self.config.timeout.total_seconds() * 2:g}s fetching {url}") from None
            except httpx.TimeoutException:
                raise FetchError(f"timed out after {self.config.timeout.total_seconds():g}s fetching {url}") from None
            except httpx.TooManyRedirects:
                raise FetchError(f"more than {self.config.max_redirects} redirects from {url}") from None
            except httpx.DecodingError as exc:
                raise FetchError(f"broken compressed body from {url}: {exc}") from None
            except httpx.ConnectError as exc:
                raise FetchError(f"cannot connect to {host}: {_reason(exc)}") from None
            except (httpx.HTTPError, aiohttp.ClientError) as exc:
                raise FetchError(f"{type(exc).__name__} fetching {url}: {one_line(str(exc)) or 'connection failed'}") from None

    async def _get(self, url: str, validators: Validators) -> Fetched:
        async with self._client.stream("GET", url, headers=validators.headers()) as response:
            final_url = str(response.url)
            if response.status_code == 304:
                return Fetched(final_url, 304, b"", validators=_validators(response, validators))
            if response.status_code in (429, 503):
                retry_after = parse_retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
                raise RetryLater(response.status_code, final_url, retry_after)
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
            )


class _Transport(AiohttpTransport):
    """aiohttp under httpx, with two fixes: a redirected GET reaches the transport with an unread
    empty stream, which aiohttp would send as a chunked body, so a bodiless request is sent without
    one; and a refused connection is a ConnectError, not the ConnectTimeout the library maps it to."""

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
