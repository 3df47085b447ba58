"""Real `listener run` processes for the tests that kill, restart and run several of them.

Each process logs JSON lines to its own file (a pipe nobody reads would fill and stall it), and
whatever a test leaves running is killed at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


class Daemon:
    def __init__(self, config: Path, log: Path, env: dict[str, str] | None = None):
        self.config, self.log = config, log
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> Daemon:
        with open(self.log, "a") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "listener", "-c", str(self.config), "--log-level",
                                          "info", "run"], stdout=out, stderr=out, env=self.env)
        return self

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as when the machine loses power."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 30) -> int:
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def events(self) -> list[dict]:
        out = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out


class Daemons:
    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.all: list[Daemon] = []

    def __call__(self, config: Path, name: str = "d", env: dict[str, str] | None = None) -> Daemon:
        daemon = Daemon(config, self.tmp_path / f"{name}.log", env)
        self.all.append(daemon)
        return daemon.start()

    def cleanup(self) -> None:
        for daemon in self.all:
            daemon.kill()
        for daemon in self.all:  # a worker that outlived its daemon (which is a bug) must not linger
            for pid in leftovers(daemon.config):
                os.kill(pid, signal.SIGKILL)


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


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.1, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
