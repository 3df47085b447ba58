import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from listener import __version__
from listener.http import (
    AuthError,
    FetchError,
    HttpClient,
    HttpConfig,
    HttpStatusError,
    RateLimited,
    RetryLater,
    TooLarge,
    Validators,
    parse_rate_limit,
    parse_retry_after,
)

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>'


def fetch(url, validators=None, **config):
    async def go():
        async with HttpClient(HttpConfig(**config)) as client:
            return await client.get(url, validators)

    return asyncio.run(go())


def test_sends_our_user_agent_and_accepts_gzip(server):
    url = server.add("/feed", body=FEED * 50, gzip=True)
    fetched = fetch(url, user_agent="listener/{version} (+https://example.org/contact)")
    assert fetched.body == FEED * 50
    (request,) = server.received("/feed")
    assert request.headers["user-agent"] == f"listener/{__version__} (+https://example.org/contact)"
    assert "gzip" in request.headers["accept-encoding"]


def test_conditional_get_round_trip(server):
    url = server.add("/feed", body=FEED)
    first = fetch(url)
    assert first.status == 200 and first.validators.etag
    second = fetch(url, first.validators)
    assert second.not_modified and second.body == b""
    assert server.received("/feed")[1].headers["if-none-match"] == first.validators.etag
    assert second.validators.etag == first.validators.etag


def test_last_modified_is_sent_back():
    assert Validators(None, "Wed, 21 Oct 2026 07:28:00 GMT").headers() == {
        "If-Modified-Since": "Wed, 21 Oct 2026 07:28:00 GMT"
    }


def test_server_error(server):
    url = server.add("/feed", status=500, body=b"oops")
    with pytest.raises(HttpStatusError, match="HTTP 500") as err:
        fetch(url)
    assert err.value.status == 500


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_read(server, status):
    url = server.add("/feed", status=status, headers={"Retry-After": "120"})
    with pytest.raises(RetryLater) as err:
        fetch(url)
    assert err.value.retry_after == timedelta(seconds=120)
    assert "retry after 120s" in str(err.value)


def test_retry_after_as_http_date():
    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 23 Nov 2026 12:05:00 GMT", now) == timedelta(minutes=5)
    assert parse_retry_after("garbage", now) is None


def test_a_hanging_server_times_out(server):
    url = server.add("/feed", mode="hang")
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(url, timeout="0.5s")
    assert time.monotonic() - started < 3


def test_a_trickling_server_hits_the_total_deadline(server):
    url = server.add("/feed", body=FEED, mode="trickle")
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        fetch(url, timeout="0.5s")
    assert time.monotonic() - started < 3


def test_a_truncated_body_is_an_error(server):
    url = server.add("/feed", body=FEED * 10, mode="truncated")
    with pytest.raises(FetchError):
        fetch(url)


def test_size_cap_by_content_length(server):
    url = server.add("/feed", body=b"x" * 5000)
    with pytest.raises(TooLarge, match="max_bytes"):
        fetch(url, max_bytes=1000)


def test_size_cap_counts_decompressed_bytes(server):
    """A gzip bomb is stopped while streaming, whatever its compressed size."""
    url = server.add("/feed", body=b"a" * 2_000_000, gzip=True)
    with pytest.raises(TooLarge):
        fetch(url, max_bytes=100_000)


def test_redirects_are_followed_and_capped(server):
    final = server.add("/final", body=FEED)
    server.add("/r1", status=301, headers={"Location": final}, etag=False)
    assert fetch(server.url("/r1")).url == final
    for i in range(4):
        server.add(f"/loop{i}", status=302, headers={"Location": server.url(f"/loop{i + 1}")}, etag=False)
    with pytest.raises(FetchError, match="more than 2 redirects"):
        fetch(server.url("/loop0"), max_redirects=2)


def test_unreachable_host_is_one_clear_line():
    with pytest.raises(FetchError, match=r"cannot connect to 127\.0\.0\.1: connection refused"):
        fetch("http://127.0.0.1:9/feed")


def test_per_host_concurrency_limit(server):
    """Five fetches of one host with per_host=2 never have more than two requests open at once."""
    open_now, peak, lock = [0], [0], threading.Lock()
    release = threading.Event()
    original = server.httpd.RequestHandlerClass.do_GET

    def counting(handler):
        with lock:
            open_now[0] += 1
            peak[0] = max(peak[0], open_now[0])
        release.wait(0.2)
        try:
            original(handler)
        finally:
            with lock:
                open_now[0] -= 1

    server.httpd.RequestHandlerClass.do_GET = counting
    for i in range(5):
        server.add(f"/f{i}", body=FEED)

    async def go():
        async with HttpClient(HttpConfig(per_host=2)) as client:
            await asyncio.gather(*(client.get(server.url(f"/f{i}")) for i in range(5)))

    asyncio.run(go())
    assert peak[0] == 2


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("headers", "remaining", "reset_s"), [
    ({"x-ratelimit-remaining": "598.0", "x-ratelimit-used": "2", "x-ratelimit-reset": "298"}, 598.0, 298),  # Reddit
    ({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "2026-11-23T12:05:00.245Z"}, 0, 300.245),  # Mastodon
    ({"ratelimit-remaining": "2999", "ratelimit-reset": str(int(NOW.timestamp()) + 60)}, 2999, 60),  # Bluesky
    ({"ratelimit-remaining": "10", "ratelimit-reset": "30"}, 10, 30),  # IETF draft
])
def test_rate_limit_header_families(headers, remaining, reset_s):
    rate = parse_rate_limit(headers, NOW)
    assert rate.remaining == remaining and rate.reset_in.total_seconds() == pytest.approx(reset_s)
    assert rate.spent == (remaining < 1)


def test_a_spent_rate_limit_refuses_the_next_request_without_sending_it(server):
    url = server.add("/api", body=b"[]", headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "600"})

    async def go():
        async with HttpClient(HttpConfig()) as client:
            await client.get(url)
            with pytest.raises(RateLimited) as err:
                await client.get(url)
            return err.value, client.rate_wait("127.0.0.1")

    error, wait = asyncio.run(go())
    assert len(server.received("/api")) == 1
    assert error.retry_after.total_seconds() > 590 and "rate limit" in str(error)
    assert wait.total_seconds() > 590


def test_a_short_reset_is_waited_out(server):
    url = server.add("/api", body=b"[]", headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1"})

    async def go():
        async with HttpClient(HttpConfig()) as client:
            await client.get(url)
            await client.get(url)

    asyncio.run(go())
    first, second = server.received("/api")
    assert second.at - first.at >= 0.9


def test_secrets_are_sent_but_never_shown_in_errors(server):
    url = server.add("/api", status=500, body=b"")

    async def go():
        async with HttpClient(HttpConfig()) as client:
            with pytest.raises(HttpStatusError) as err:
                await client.get(url, params={"q": "x"}, secret_params={"key": "SECRET-KEY-123"},
                                 headers={"Authorization": "Bearer TOKEN-456789"})
            return err.value

    error = asyncio.run(go())
    (request,) = server.received("/api")
    assert request.query == {"q": "x", "key": "SECRET-KEY-123"}
    assert request.headers["authorization"] == "Bearer TOKEN-456789"
    assert "SECRET-KEY-123" not in str(error) and "q=x" in str(error)


def test_a_malformed_response_does_not_show_an_encoded_secret():
    """aiohttp's error for a broken response ends with the full URL, where the key is percent-encoded."""
    import socket
    import threading

    listening = socket.create_server(("127.0.0.1", 0))

    def answer():
        conn, _ = listening.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nthis is not a header\r\nContent-Length: 0\r\n\r\n")

    threading.Thread(target=answer, daemon=True).start()
    url = f"http://127.0.0.1:{listening.getsockname()[1]}/search"

    async def go():
        async with HttpClient(HttpConfig()) as client:
            with pytest.raises(FetchError) as err:
                await client.get(url, params={"q": "x"}, secret_params={"key": "s3cr+t/val=="})
            return err.value

    try:
        error = str(asyncio.run(go()))
    finally:
        listening.close()
    assert "bad response from" in error and "q=x" in error
    assert "s3cr" not in error and "val%3D" not in error, error


@pytest.mark.parametrize("status", [401, 403])
def test_authentication_problems_name_the_variable(server, status):
    url = server.add("/api", status=status, body=b"")

    async def go():
        async with HttpClient(HttpConfig()) as client:
            with pytest.raises(AuthError) as err:
                await client.get(url, headers={"Authorization": "Bearer abcdefgh"}, credential="SOME_TOKEN")
            return err.value

    error = asyncio.run(go())
    assert "authentication problem" in str(error) and "$SOME_TOKEN" in str(error) and "abcdefgh" not in str(error)


def test_the_proxy_named_in_the_environment_is_used(server, monkeypatch):
    """$HTTP_PROXY as httpx honoured it: the request goes to the proxy with the absolute address;
    a host listed in $NO_PROXY is asked directly."""
    monkeypatch.setenv("HTTP_PROXY", server.base)
    monkeypatch.setenv("NO_PROXY", "localhost")
    server.add("http://feeds.example.invalid/feed", body=FEED)
    assert fetch("http://feeds.example.invalid/feed").body == FEED
    assert server.requests[-1].path == "http://feeds.example.invalid/feed"
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    server.add("/direct", body=FEED)
    assert fetch(server.url("/direct")).body == FEED
    assert server.requests[-1].path == "/direct"
