"""sd_notify: systemd's datagrams, received on a real AF_UNIX socket from a real `listener run`."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
import uuid

import pytest
from processes import blog_config

from listener.alerts.worker import Deliverer
from listener.config import load_config
from listener.http import HttpClient
from listener.notify import Notifier
from listener.scheduler import Daemon, Poller
from listener.store.engine import make_engine, upgrade


@pytest.fixture
def notify_socket():
    """A datagram socket in the abstract namespace, as systemd names it in $NOTIFY_SOCKET ("@…")."""
    name = f"listener-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(0.2)
    yield "@" + name, sock
    sock.close()


def receive(sock: socket.socket, until, timeout: float = 20) -> list[dict[str, str]]:
    """Messages (each a dict of its KEY=value lines) until one satisfies ``until``."""
    messages: list[dict[str, str]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            data = sock.recv(4096)
        except TimeoutError:
            continue
        message = dict(line.split("=", 1) for line in data.decode().splitlines())
        messages.append(message)
        if until(message):
            return messages
    raise AssertionError(f"not received in {timeout}s; got {messages}")


def test_listener_run_tells_systemd_ready_status_alive_and_stopping(tmp_path, server, notify_socket, daemons):
    address, sock = notify_socket
    daemon = daemons(blog_config(tmp_path, server), env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "1000000"})
    first = receive(sock, lambda m: "READY" in m)
    assert first[-1]["READY"] == "1"
    assert first[-1]["MAINPID"] == str(daemon.proc.pid)
    daemon.wait_for("poll.done", source="blog")
    after_poll = receive(sock, lambda m: "last poll" in m.get("STATUS", "") and "none yet" not in m["STATUS"])
    status = after_poll[-1]["STATUS"]
    assert status.startswith("1 source, last poll ") and status.endswith(", 0 alerts waiting")
    beats = [m for m in first + after_poll if m.get("WATCHDOG") == "1"]
    beats += [m for m in receive(sock, lambda m: m.get("WATCHDOG") == "1") if m.get("WATCHDOG") == "1"]
    assert len(beats) >= 2  # every half WATCHDOG_USEC while all is well
    daemon.signal(signal.SIGHUP)
    reload = receive(sock, lambda m: m.get("READY") == "1")
    reloading = next(m for m in reload if m.get("RELOADING") == "1")
    assert int(reloading["MONOTONIC_USEC"]) > 0
    assert reload.index(reloading) < len(reload) - 1  # READY=1 again once the config is applied
    daemon.signal(signal.SIGTERM)
    stopping = receive(sock, lambda m: "STOPPING" in m)
    assert stopping[-1]["STOPPING"] == "1"
    assert daemon.proc.wait(timeout=12) == 0


def test_a_watchdog_from_another_process_is_not_ours():
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}
    assert Notifier(env).watchdog is None
    assert Notifier({**env, "WATCHDOG_PID": ""}).watchdog.total_seconds() == 15
    assert not Notifier({}).enabled and not Notifier({}).send(READY="1")


def test_a_socket_path_works_and_a_line_break_never_forges_a_field():
    path = f"/tmp/listener-notify-{uuid.uuid4().hex[:8]}"  # short: AF_UNIX paths are limited to 107 bytes
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        try:
            assert Notifier({"NOTIFY_SOCKET": path}).status('feed "x"\nWATCHDOG=1')
            assert sock.recv(4096).decode() == 'STATUS=feed "x" WATCHDOG=1'
        finally:
            os.unlink(path)


def _daemon(tmp_path, server, db_url, address) -> tuple[Daemon, HttpClient]:
    config = load_config(blog_config(tmp_path, server, db_url=db_url))
    engine = make_engine(db_url)
    http = HttpClient(config.http)
    return Daemon(Poller(config, engine, http), Deliverer(config, engine),
                  notifier=Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "2000000"})), http


def test_watchdog_is_withheld_while_the_store_does_not_answer(tmp_path, server, notify_socket):
    address, sock = notify_socket
    daemon, http = _daemon(tmp_path, server, "postgresql+psycopg://nobody@127.0.0.1:9/none?connect_timeout=2",
                           address)
    daemon.last_tick = time.monotonic()

    async def beat():
        try:
            return await daemon.beat()
        finally:
            await http.aclose()
            await daemon.deliverer.aclose()

    assert asyncio.run(beat()) is False
    (message,) = receive(sock, lambda m: True)
    assert message == {"STATUS": "1 source, last poll none yet, store not answering"}


def test_watchdog_is_withheld_while_the_scheduler_does_not_tick(tmp_path, server, notify_socket):
    address, sock = notify_socket
    url = f"sqlite:///{tmp_path / 'listener.db'}"
    upgrade(make_engine(url))
    daemon, http = _daemon(tmp_path, server, url, address)

    async def beats():
        try:
            daemon.last_tick = time.monotonic() - 60  # three ticks of 1s and 10s of slack are long gone
            stalled = await daemon.beat()
            daemon.last_tick = time.monotonic()
            return stalled, await daemon.beat()
        finally:
            await http.aclose()
            await daemon.deliverer.aclose()

    assert asyncio.run(beats()) == (False, True)
    messages = receive(sock, lambda m: m.get("WATCHDOG") == "1")
    assert messages[0] == {"STATUS": "1 source, last poll none yet, 0 alerts waiting"}
    assert {"WATCHDOG": "1"} in messages[1:]
