"""The sd_notify protocol: telling systemd that the daemon is ready, alive, or stopping.

It is one datagram of ``KEY=value`` lines sent to the AF_UNIX socket named by ``$NOTIFY_SOCKET``
(a leading ``@`` means a name in the abstract namespace), so no library is needed. Outside systemd
the variable is unset and every call does nothing. A failed send is never fatal: systemd's watchdog
is what notices a daemon that has stopped talking.
"""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

from listener.text import strip_controls


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None):
        env = os.environ if environ is None else environ
        path = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + path[1:] if path.startswith("@") else path
        self.watchdog = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    def send(self, **fields: str) -> bool:
        """Send one message; True if systemd's socket took it."""
        if not self.address:
            return False
        message = "\n".join(f"{key}={_one_line(value)}" for key, value in fields.items()).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message, self.address)
        except OSError:
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send(READY="1", STATUS=status, MAINPID=str(os.getpid()))

    def status(self, status: str) -> bool:
        return self.send(STATUS=status)

    def alive(self) -> bool:
        return self.send(WATCHDOG="1")

    def reloading(self) -> bool:
        """MONOTONIC_USEC lets systemd ≥ 253 match this to the reload it asked for."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send(RELOADING="1", STATUS="reloading config", MONOTONIC_USEC=str(usec))

    def reloaded(self, status: str) -> bool:
        return self.send(READY="1", STATUS=status)

    def stopping(self) -> bool:
        return self.send(STOPPING="1", STATUS="stopping")


def _watchdog_interval(env) -> timedelta | None:
    """How often systemd wants WATCHDOG=1 (half its timeout), if the watchdog is on for this process."""
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return timedelta(microseconds=usec / 2)


def _one_line(value: str) -> str:
    return strip_controls(str(value)).replace("\n", " ")
