"""`listener db`: schema commands."""

from __future__ import annotations

import click

from listener.cli.base import Context, cli, pass_ctx


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
@pass_ctx
def db_upgrade(ctx: Context) -> None:
    """Apply pending schema migrations (also done at every start)."""
    from listener.store.engine import current_revision

    engine = ctx.engine()
    click.echo(f"schema at revision {current_revision(engine)}")
