"""uvicorn on the daemon's event loop, bound before anything else starts.

The socket is bound here rather than by uvicorn, so a port in use is one clear error at start
instead of a log line and an exit from inside uvicorn. The daemon owns SIGTERM and SIGINT; the
server is stopped by the daemon, not by the signals themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket

import uvicorn
from starlette.types import ASGIApp

from listener.config import WebConfig


class WebError(Exception):
    """The server cannot start; the message is one line for the admin."""


def _quiet_uvicorn() -> None:
    """uvicorn re-raises what the app's error handler already logged as ``web.failed``; its own
    plain-text lines would only repeat it outside the structured log."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [logging.NullHandler()]
        logger.propagate = False


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self):
        yield


def bind(web: WebConfig) -> socket.socket:
    family = socket.AF_INET6 if ":" in web.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((web.host, web.port))
    except OSError as exc:
        sock.close()
        reason = "the port is in use by another program" if exc.errno == 98 else exc.strerror or str(exc)
        raise WebError(f"[web] listen = \"{web.listen}\": cannot listen there: {reason}; "
                       "stop the other program or choose another address") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class WebServer:
    """Serves an ASGI app on a socket until ``stop``; ``port`` is the bound one (useful with port 0)."""

    def __init__(self, app: ASGIApp, web: WebConfig):
        self.sock = bind(web)
        self.port = self.sock.getsockname()[1]
        self.host = web.host
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", server_header=False,
                                timeout_graceful_shutdown=3)
        _quiet_uvicorn()
        self.server = _Server(config)
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]), name="web")
        while not self.server.started and not self.task.done():
            await asyncio.sleep(0.01)
        if self.task.done():
            self.task.result()

    @property
    def listening(self) -> str:
        return f"{self.host}:{self.port}"

    async def stop(self) -> None:
        if self.task is None:
            self.sock.close()
            return
        self.server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.task, timeout=5)
        self.sock.close()
