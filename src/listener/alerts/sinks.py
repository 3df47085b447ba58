"""The factory from [[sinks]] tables to sinks: it lives beside the implementations, which import
the contract in sink.py, so imports run one way."""

from __future__ import annotations

from listener.alerts import console, email, slack, teams, webhook
from listener.alerts.sink import Sink
from listener.config import SinkConfig


def make_sink(config: SinkConfig, http) -> Sink:
    kinds = {
        "console": lambda: console.ConsoleSink(config),
        "email": lambda: email.EmailSink(config),
        "slack": lambda: slack.SlackSink(config, http),
        "mattermost": lambda: slack.MattermostSink(config, http),
        "teams": lambda: teams.TeamsSink(config, http),
        "webhook": lambda: webhook.WebhookSink(config, http),
    }
    return kinds[config.type]()
