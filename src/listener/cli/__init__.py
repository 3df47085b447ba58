"""The `listener` command: one module per command group, registered on the group in base.py."""

from listener.cli import alerts, classify, daemon, db, mentions, privacy, sources  # noqa: F401 - each registers its commands
from listener.cli.base import cli


def main() -> None:
    cli(prog_name="listener")
