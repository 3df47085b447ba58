"""Real `listener run` processes, as an admin runs them: started on a config, read through their
JSON log, stopped by a signal. Every test that runs the daemon as a process uses these; ``running``
runs the same Daemon inside the test's own event loop, for looking at its scheduler.

Each process logs to its own file (a pipe nobody reads would fill and stall it), and whatever a
test leaves running is killed at the end (the ``daemons`` fixture in conftest.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from signal import SIGKILL, SIGTERM
from typing import TypeVar

from conftest import ANY_PORT, write_config
from sqlalchemy import create_engine, text

LISTENER = [sys.executable, "-m", "listener"]
T = TypeVar("T")
DAEMON = ANY_PORT + '[scheduler]\ntick = "1s"\n\n[logging]\nformat = "json"\n\n'
"""The opening of a config for a daemon under test: a tick a second, JSON logs, the web on a free port."""
BLOG = "wordpress/wp_posts_feed_foolcontrol_v6.6.2.rss.xml"
"""Ten recorded WordPress posts."""


def blog_config(tmp_path: Path, server, extra: str = "", db_url: str | None = None) -> Path:
    """A daemon's config with one source, "blog" (BLOG on the test's feed server, polled each
    minute), and ``extra`` after it."""
    feed = server.add_fixture("/blog", BLOG)
    source = f'[[sources]]\nname = "blog"\nconnector = "rss"\nurl = "{feed}"\ninterval = "1m"\n'
    return write_config(tmp_path, DAEMON + source + extra, db_url)


class Daemon:
    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None,
                 command: list[str] | None = None):
        """``env`` is added to this process's environment; ``command`` runs `listener` (the
        arguments follow it), by default this interpreter's."""
        self.config, self.log = config, log
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.command = command or LISTENER
        self.proc: subprocess.Popen | None = None

    def start(self) -> Daemon:
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen([*self.command, "-c", str(self.config), "run"], stdout=out, stderr=out,
                                         env=self.env)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def output(self) -> str:
        """Everything the process wrote so far."""
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def events(self, name: str | None = None) -> list[dict]:
        out = []
        for line in self.output.splitlines():
            if not line.startswith("{"):
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if name is None or event.get("event") == name:
                out.append(event)
        return out

    def wait_for(self, name: str, count: int = 1, timeout: float = 20, **match) -> list[dict]:
        """The first ``count`` events called ``name`` whose keys hold ``match``; fails after
        ``timeout`` or as soon as the process has exited without them."""
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.events(name) if all(e.get(k) == v for k, v in match.items())]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline or not self.running:
                tail = "\n".join(self.output.splitlines()[-40:])
                raise AssertionError(f"no {name} {match} within {timeout}s; log:\n{tail}")
            time.sleep(0.05)

    def started(self, timeout: float = 60) -> dict:
        """The ``daemon.started`` event, once the daemon is up."""
        return self.wait_for("daemon.started", timeout=timeout)[0]

    def web_url(self, timeout: float = 60) -> str:
        """The base URL of its web server (configs listen on a free port: see conftest.ANY_PORT)."""
        return f"http://{self.started(timeout)['web']}"

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self, sig: int = SIGTERM, timeout: float = 30) -> int:
        """Signal it (if it still runs) and wait for it to exit; returns its exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the machine loses power."""
        if self.running:
            self.proc.send_signal(SIGKILL)
        if self.proc is not None:
            self.proc.wait()


class Daemons:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.all: list[Daemon] = []

    def __call__(self, config: Path, name: str = "d", env: dict[str, str] | None = None,
                 command: list[str] | None = None) -> Daemon:
        daemon = Daemon(config, self.tmp_path / f"{name}.log", env, command)
        self.all.append(daemon)
        return daemon.start()

    def cleanup(self) -> None:
        for daemon in self.all:
            daemon.kill()
        for daemon in self.all:  # a worker that outlived its daemon (which is a bug) must not linger
            for pid in leftovers(daemon.config):
                os.kill(pid, SIGKILL)


def leftovers(config: Path) -> list[int]:
    """Processes still running with this config: daemons or their workers."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(config).encode() in command:
            found.append(int(entry.name))
    return found


def wait_until(check: Callable[[], T], timeout: float = 20, every: float = 0.1, what: str = "condition") -> T:
    """``check()``'s first true value, asked every ``every`` seconds; fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def count_mentions(db: Path) -> int:
    """Mentions in a SQLite store; 0 while the daemon has not created the schema yet."""
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return conn.execute(text("select count(*) from mentions")).scalar_one()
    except Exception:  # no schema yet
        return 0
    finally:
        engine.dispose()


def wait_for_mentions(db: Path, n: int, daemon: Daemon, timeout: float = 20) -> int:
    """How many mentions the store holds once it has ``n``, the time is up, or the daemon exited."""
    deadline = time.monotonic() + timeout
    count = count_mentions(db)
    while count < n and time.monotonic() < deadline and daemon.running:
        time.sleep(0.2)
        count = count_mentions(db)
    return count


@contextlib.asynccontextmanager
async def running(config, engine) -> AsyncIterator:
    """A Daemon started as `listener run` starts it (scheduler, jobs, streams; no web server),
    stopped as SIGTERM stops it when the block ends."""
    from listener.alerts.worker import Deliverer
    from listener.http import HttpClient
    from listener.scheduler import Daemon, Poller

    http = HttpClient(config.http)
    deliverer = Deliverer(config, engine)
    daemon = Daemon(Poller(config, engine, http), deliverer)
    task = asyncio.create_task(daemon.run())
    try:
        while daemon.scheduler is None or not daemon.scheduler.running:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield daemon
    finally:
        daemon.stop()
        await task
        await http.aclose()
        await deliverer.aclose()
