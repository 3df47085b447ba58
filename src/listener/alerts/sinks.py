"""The table from a [[sinks]] ``type`` to the class that delivers it.

It lives beside the sinks, not in ``sink.py``: every sink module imports the base, and this
registry imports every sink module, so imports run one way.
"""

from __future__ import annotations

from collections.abc import Callable

from listener.alerts.console import ConsoleSink
from listener.alerts.email import EmailSink
from listener.alerts.sink import Sink
from listener.alerts.slack import MattermostSink, SlackSink
from listener.alerts.teams import TeamsSink
from listener.alerts.webhook import WebhookSink
from listener.config import SinkConfig

KINDS: dict[str, Callable[[SinkConfig, object], Sink]] = {
    "console": lambda config, http: ConsoleSink(config),
    "email": lambda config, http: EmailSink(config),
    "slack": SlackSink,
    "mattermost": MattermostSink,
    "teams": TeamsSink,
    "webhook": WebhookSink,
}


def make_sink(config: SinkConfig, http) -> Sink:
    return KINDS[config.type](config, http)
