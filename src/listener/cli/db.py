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


@db.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@pass_ctx
def db_backup(ctx: Context, path: str) -> None:
    """Copy a SQLite store to PATH while the daemon runs (a consistent snapshot)."""
    from listener.store.backup import BackupError, backup

    try:
        pages, target = backup(ctx.engine(), path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    store = ctx.engine().url.database
    click.echo(f"backed up {pages} pages to {target}")
    click.echo("to restore: stop listener, then")
    click.echo(f"  rm -f {store}-wal {store}-shm && cp {target} {store}")
    click.echo("and start it again (it migrates an older backup forward by itself)")
