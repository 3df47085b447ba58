"""`listener sources` and `listener connectors`: what is polled and with what."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.cli.output import emit, iso
from listener.text import describe, one_line, strip_controls


@cli.group("sources", invoke_without_command=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def sources_cmd(click_ctx: click.Context, fmt: str) -> None:
    """Show each source's polling state: last success, last error, failures, next poll.

    `listener sources test NAME` fetches one source once and shows what would be stored.
    """
    if click_ctx.invoked_subcommand is None:
        _show_states(click_ctx.obj, fmt)


def _show_states(ctx: Context, fmt: str) -> None:
    from listener.store import sources as source_store

    engine = ctx.engine()
    with engine.begin() as conn:
        source_store.sync(conn, ctx.config.sources, datetime.now(UTC))
        states = source_store.all_states(conn)
    rows = [
        {
            "name": s.name,
            "connector": s.connector,
            "state": source_store.state_word(s),
            "last_success": iso(s.last_success_at),
            "failures": s.failures,
            "last_error": s.last_error,
            "next_poll": iso(s.next_poll_at) if s.enabled and s.in_config else None,
            "url": s.url,
        }
        for s in states
    ]
    emit(rows, fmt, ["name", "connector", "state", "last_success", "failures", "next_poll", "last_error"])


@sources_cmd.command("test")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@pass_ctx
def test_source(ctx: Context, name: str, fmt: str) -> None:
    """Fetch source NAME once (a stream: read it briefly) and print what would be stored.

    Nothing is stored and the source's cursor does not move; exit 1 if the fetch failed.
    """
    from listener.config import ConfigError

    try:
        source = ctx.config.source(name)
    except ConfigError as exc:
        raise click.UsageError(exc.problems[0]) from None
    try:
        previews = asyncio.run(_preview(ctx, source))
    except Exception as exc:  # the fetch failed: say why, as a poll would record it
        click.echo(strip_controls(f"{name}: FAILED: {describe(exc)}"))
        sys.exit(1)
    rows = [
        {
            "new": new,
            "published_at": iso(m.published_at),
            "author": m.author.name or m.author.handle,
            "label": m.label.value if m.label else None,
            "departments": ", ".join(r.department for r in m.routes),
            "in_reply_to": m.in_reply_to,
            "url": m.url,
            "external_id": m.external_id,
            "text": one_line(m.title + (": " if m.title and m.text else "") + m.text)[:200],
        }
        for m, new in previews
    ]
    emit(rows, fmt, ["new", "published_at", "author", "label", "departments", "in_reply_to", "text"])
    click.echo(f"{name}: {len(rows)} items, {sum(new for _, new in previews)} new; nothing stored", err=True)


async def _preview(ctx: Context, source):
    """The source fetched as a poll would fetch it, from its stored cursor, run through the pipeline
    up to (not including) the store."""
    from listener import pipeline
    from listener.connector import PollContext
    from listener.http import HttpClient
    from listener.logs import get_logger
    from listener.scheduler import Poller
    from listener.store import sources as source_store

    engine = ctx.engine()
    with engine.connect() as conn:
        state = source_store.get_state(conn, source.name)
    async with HttpClient(ctx.config.http) as http:
        poller = Poller(ctx.config, engine, http)
        pctx = PollContext(source=source.name, url=source.url, options=source.options, http=http,
                           log=get_logger(source=source.name, connector=source.connector), now=poller.clock)
        result = await poller.fetch(source, pctx, state.cursor if state else None)
    ref = pipeline.SourceRef(state.id if state else -1, source.name, source.lang, source.require_match)
    return pipeline.preview(engine, ref, result.items, poller.clock(), poller.router)


@cli.command()
def connectors() -> None:
    """Describe every installed connector kind, with an example [[sources]] table."""
    from listener.registry import broken, registry

    for kind, reason in sorted(broken().items()):
        click.echo(f"{kind}\n  BROKEN: {reason}\n  (sources using it are skipped; fix or uninstall it)\n")

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
