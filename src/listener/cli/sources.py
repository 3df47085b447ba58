"""`listener sources` and `listener connectors`: what is polled and with what."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.cli.output import emit, iso


@cli.command("sources")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_ctx
def sources_cmd(ctx: Context, fmt: str) -> None:
    """Show each source's polling state: last success, last error, failures, next poll."""
    from listener.store import sources as source_store

    engine = ctx.engine()
    with engine.begin() as conn:
        source_store.sync(conn, ctx.config.sources, datetime.now(UTC))
        states = source_store.all_states(conn)
    rows = [
        {
            "name": s.name,
            "connector": s.connector,
            "state": _state_word(s),
            "last_success": iso(s.last_success_at),
            "failures": s.failures,
            "last_error": s.last_error,
            "next_poll": iso(s.next_poll_at) if s.enabled and s.in_config else None,
            "url": s.url,
        }
        for s in states
    ]
    emit(rows, fmt, ["name", "connector", "state", "last_success", "failures", "next_poll", "last_error"])


def _state_word(s) -> str:
    if not s.in_config:
        return "removed"
    if not s.enabled:
        return "disabled"
    if s.failures:
        return "failing"
    if s.silent:
        return "silent"
    return "ok" if s.last_success_at else "new"


@cli.command()
def connectors() -> None:
    """Describe every installed connector kind, with an example [[sources]] table."""
    from listener.registry import registry

    for kind, connector in sorted(registry().items()):
        click.echo(f"{kind}\n  {connector.description}\n")
        fields = connector.Options.model_fields
        default_url = getattr(connector, "default_url", "")
        if fields or default_url:
            click.echo("  options:")
            if default_url:
                click.echo(f"    url: the address to read (default {default_url!r})")
            for name, field in fields.items():
                default = "required" if field.is_required() else f"default {field.default!r}"
                click.echo(f"    {name}: {field.description or ''} ({default})")
        click.echo("  example:\n" + "\n".join("    " + line for line in connector.example.splitlines()) + "\n")
