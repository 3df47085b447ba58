"""`listener alerts`: the outbox and its dead letters."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.cli.output import emit, iso


@cli.group(invoke_without_command=True)
@click.option("--pending", "state", flag_value="pending", help="Only alerts waiting to be sent.")
@click.option("--dead", "state", flag_value="dead", help="Only dead letters: alerts that kept failing.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=200, show_default=True)
@click.pass_context
def alerts(click_ctx: click.Context, state: str | None, fmt: str, limit: int) -> None:
    """The alert outbox: what was sent, what waits, what failed for good."""
    if click_ctx.invoked_subcommand:
        return
    from listener.store import routing as routing_store

    engine = click_ctx.obj.engine()
    with engine.connect() as conn:
        rows = routing_store.listing(conn, state, limit)
    for row in rows:
        for key in ("next_attempt_at", "created_at", "sent_at"):
            row[key] = iso(row[key])
    emit(rows, fmt, ["id", "kind", "state", "priority", "department", "sink", "attempts", "next_attempt_at", "title",
                     "last_error"])


@alerts.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="Retry every dead letter.")
@pass_ctx
def alerts_retry(ctx: Context, ids: tuple[int, ...], all_dead: bool) -> None:
    """Send dead letters again: by ID, or --all-dead. Delivery happens in `listener run` or `listener poll`."""
    from listener.store import routing as routing_store

    if bool(ids) == all_dead:
        raise click.UsageError("give alert IDs or --all-dead (one of the two)")
    engine = ctx.engine()
    with engine.begin() as conn:
        count = routing_store.retry(conn, datetime.now(UTC), None if all_dead else list(ids))
    click.echo(f"{count} dead letters queued again")
