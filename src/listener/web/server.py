"""Serving the web app on the daemon's own event loop (uvicorn), beside polling and alerting.

The socket is bound before anything else starts, so a port already in use is one clear error at
start instead of a daemon that polls but cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

import uvicorn
from sqlalchemy import Engine

from listener.alerts.sink import secret
from listener.config import Config
from listener.logs import get_logger


class WebError(Exception):
    """The web server cannot start; the message is one line for the admin."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM and SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


def session_secret(config: Config) -> str:
    name = config.web.secret_env
    value = secret(name)
    if not value or len(value) < 16:
        raise WebError(f"[web] secret_env: set the environment variable {name} (or a systemd credential of that "
                       "name) to a random string of at least 16 characters; it signs sessions and links")
    return value


def bind(listen: str) -> socket.socket:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
    except OSError as exc:
        sock.close()
        raise WebError(f"[web] listen: cannot listen on {listen}: {exc.strerror}; pick another port or stop "
                       "what uses it") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class WebServer:
    def __init__(self, config: Config, engine: Engine):
        from listener.web.app import create_app

        self.listen = config.web.listen
        self.sock = bind(self.listen)
        app = create_app(config, engine, session_secret(config))
        self.server = _Server(uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                                             proxy_headers=False, server_header=False))
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]), name="web")
        get_logger().info("web.started", listen=self.listen)

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait([self.task], timeout=5)
        self.sock.close()
