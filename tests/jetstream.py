"""A real WebSocket server on 127.0.0.1 that plays Jetstream from recorded frames.

Like Jetstream, it sends the frames whose ``time_us`` is at or after the ``cursor`` a client asks
for (all of them without one), then keeps the connection open and sends frames published later.
It records every request path, and can drop a connection mid-stream, cut a frame short at the
WebSocket level, or refuse a cursor at the handshake.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve

FRAMES = Path(__file__).parent / "fixtures" / "bluesky" / "jetstream_posts.jsonl"


def recorded_frames() -> list[str]:
    return FRAMES.read_text(encoding="utf-8").splitlines()


def time_us(frame: str) -> int | None:
    try:
        return json.loads(frame)["time_us"]
    except (ValueError, KeyError, TypeError):
        return None


class JetstreamServer:
    def __init__(self, frames: list[str], published: int | None = None):
        self.frames = frames
        self.published = len(frames) if published is None else published
        self.paths: list[str] = []
        self.drop_after: int | None = None
        """Abort the next connection's TCP stream after sending this many frames."""
        self.truncate_after: int | None = None
        """After this many frames, send half of a frame and abort (once)."""
        self.reject_cursors_below: int | None = None
        """Answer 400 to a handshake whose cursor is older than this."""
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Condition | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/subscribe"

    def start(self) -> JetstreamServer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join(5)

    def publish(self, count: int) -> None:
        """Make the first ``count`` frames available, as if they had just been written."""

        async def bump():
            async with self._changed:
                self.published = count
                self._changed.notify_all()

        asyncio.run_coroutine_threadsafe(bump(), self._loop).result(5)

    def cursors(self) -> list[int | None]:
        out = []
        for path in self.paths:
            values = parse_qs(urlsplit(path).query).get("cursor")
            out.append(int(values[0]) if values else None)
        return out

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Condition()
        self._stopping = asyncio.Event()
        self._handlers: set[asyncio.Task] = set()
        async with serve(self._handle, "127.0.0.1", 0, process_request=self._handshake) as server:
            self.port = server.sockets[0].getsockname()[1]
            self._ready.set()
            await self._stopping.wait()
            for task in self._handlers:
                task.cancel()

    def _handshake(self, connection, request):
        self.paths.append(request.path)
        query = parse_qs(urlsplit(request.path).query)
        cursor = query.get("cursor")
        if cursor and self.reject_cursors_below is not None and int(cursor[0]) < self.reject_cursors_below:
            return connection.respond(HTTPStatus.BAD_REQUEST, "cursor is too old\n")
        return None

    async def _handle(self, websocket) -> None:
        task = asyncio.current_task()
        self._handlers.add(task)
        try:
            await self._play(websocket)
        finally:
            self._handlers.discard(task)

    def _beyond(self, position: int) -> bool:
        return position < self.published

    async def _play(self, websocket) -> None:
        query = parse_qs(urlsplit(websocket.request.path).query)
        cursor = int(query["cursor"][0]) if "cursor" in query else None
        position, sent = 0, 0
        while True:
            async with self._changed:
                await self._changed.wait_for(functools.partial(self._beyond, position))
            while position < self.published:
                frame = self.frames[position]
                position += 1
                stamp = time_us(frame)
                if cursor is not None and stamp is not None and stamp < cursor:
                    continue
                if self.truncate_after is not None and sent == self.truncate_after:
                    self.truncate_after = None
                    payload = frame.encode()
                    header = bytes([0x81, 126]) + len(payload).to_bytes(2, "big")
                    websocket.transport.write(header + payload[: len(payload) // 2])
                    websocket.transport.abort()
                    return
                if self.drop_after is not None and sent == self.drop_after:
                    self.drop_after = None
                    websocket.transport.abort()
                    return
                await websocket.send(frame)
                sent += 1
