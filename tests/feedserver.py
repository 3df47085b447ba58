"""A real HTTP server on 127.0.0.1 that replays recorded feeds and fails on demand.

It answers conditionally by ETag, records every request it receives (so tests can assert on the
headers and query we sent), and can answer 500, 429 with Retry-After, hang past the client's timeout,
cut a body short, or lie about the charset. A route is found by the whole path with its query, else
by the path alone; a route with ``respond`` decides per request (pages, cursors, a token endpoint).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/rss+xml; charset=utf-8"
    status: int = 200
    mode: str = "ok"  # ok | hang | truncated | trickle
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = True
    gzip: bool = False
    hook: Callable[[Received], None] | None = None
    """Called with each request before answering, e.g. to kill the client mid-delivery."""
    respond: Callable[[Received], Route] | None = None
    """Called with each request; the Route it returns is the answer."""


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes = b""
    at: float = 0.0

    def json(self):
        return json.loads(self.body)

    @property
    def route(self) -> str:
        """The path without its query."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, str]:
        """The query, one value per key (the last one)."""
        return dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))


class FeedServer:
    def __init__(self):
        self.routes: dict[str, Route] = {}
        self.requests: list[Received] = []
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                    self.rfile.read(length), time.time())
                route = server.route_for(received)
                if route is not None and route.hook is not None:
                    route.hook(received)
                server.requests.append(received)
                if route is None:
                    return self._send(404, b"not found", "text/plain")
                if route.mode == "hang":
                    server._stop.wait(30)
                    return
                self._send(route.status, route.body, route.content_type, dict(route.headers))

            def do_GET(self):
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, b"", time.time())
                server.requests.append(received)
                route = server.route_for(received)
                if route is None:
                    return self._send(404, b"not found", "text/plain")
                if route.mode == "hang":
                    server._stop.wait(30)
                    return
                body = route.body
                headers = dict(route.headers)
                if route.status == 200 and route.etag:
                    tag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                    headers["ETag"] = tag
                    if self.headers.get("If-None-Match") == tag:
                        return self._send(304, b"", None, headers)
                if route.gzip and "gzip" in self.headers.get("Accept-Encoding", ""):
                    body = gzip.compress(body)
                    headers["Content-Encoding"] = "gzip"
                if route.mode == "truncated":
                    self.send_response(route.status)
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                if route.mode == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Type", route.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for byte in body:
                        if server._stop.wait(0.2):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    return
                self._send(route.status, body, route.content_type, headers)

            def _send(self, status, body, content_type, headers=None):
                self.send_response(status)
                if content_type:
                    self.send_header("Content-Type", content_type)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def route_for(self, received: Received) -> Route | None:
        route = self.routes.get(received.path) or self.routes.get(received.route)
        while route is not None and route.respond is not None:
            route = route.respond(received)
        return route

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route | None = None, **kwargs) -> str:
        self.routes[path] = route or Route(**kwargs)
        return self.url(path)

    def add_fixture(self, path: str, fixture: str, **kwargs) -> str:
        return self.add(path, body=(FIXTURES / fixture).read_bytes(), **kwargs)

    def add_json(self, path: str, fixture: str, **kwargs) -> str:
        """A recorded JSON body, with the rate-limit and paging headers recorded beside it
        (links pointing here instead of at the recorded server)."""
        return self.add(path, json_route(fixture, base=self.base, **kwargs))

    def received(self, path: str) -> list[Received]:
        """Requests to ``path``: the whole path with its query, or the path alone."""
        return [r for r in self.requests if path in (r.path, r.route)]

    def start(self) -> FeedServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        time.sleep(0)


_REPLAYED_HEADERS = ("link", "x-wp-total", "x-wp-totalpages", "retry-after")


def recorded_headers(fixture: str, base: str | None = None) -> dict[str, str]:
    """The paging and rate-limit headers of a recording (``NAME.headers.json`` beside ``NAME.json``),
    with the recorded server's origin replaced by ``base``."""
    path = FIXTURES / fixture
    meta = path.with_name(path.name.removesuffix(".json") + ".headers.json")
    if not meta.exists():
        return {}
    recording = json.loads(meta.read_text(encoding="utf-8"))
    parts = urlsplit(recording.get("uri", ""))
    origin = f"{parts.scheme}://{parts.netloc}"
    out = {}
    for key, value in recording.get("headers", {}).items():
        value = str(value[0] if isinstance(value, list) else value)
        if key.lower() in _REPLAYED_HEADERS or "ratelimit" in key.lower():
            out[key] = value.replace(origin, base) if base and parts.netloc else value
    return out


def json_route(fixture: str, headers: dict[str, str] | None = None, base: str | None = None, **kwargs) -> Route:
    return Route(body=(FIXTURES / fixture).read_bytes(), content_type="application/json; charset=utf-8",
                 headers={**recorded_headers(fixture, base), **(headers or {})}, etag=False, **kwargs)
