"""Alerts printed to standard output, for trying listener out."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from listener.alerts.render import card, unlink
from listener.config import SinkConfig
from listener.store.routing import Pending


class ConsoleSink:
    def __init__(self, config: SinkConfig, stream=None):
        self.name = config.name
        self.stream = stream or sys.stdout

    async def send(self, alerts: Sequence[Pending]) -> None:
        self.stream.write("".join(render(a) for a in alerts))
        self.stream.flush()


def render(alert: Pending) -> str:
    c = card(alert)
    lines = [f"── {c.headline}"]
    lines += [f"   {k}: {v}" for k, v in c.facts]
    lines += [f"   {unlink(c.text)}", f"   Link: {c.url or '(none)'}"]
    if c.answered_url:
        lines.append(f"   Mark as answered: {c.answered_url}")
    lines.append("")
    return "\n".join(lines) + "\n"
