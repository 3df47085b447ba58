"""The `listener` command: one module per command group, registered on the group in base.py."""

from listener.cli import (  # noqa: F401 - each registers its commands
    alerts,
    classify,
    daemon,
    db,
    demo,
    labels,
    mentions,
    privacy,
    reports,
    responses,
    sources,
    users,
)
from listener.cli.base import cli


def main() -> None:
    cli(prog_name="listener")
