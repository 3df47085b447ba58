"""`listener forget`: erasure of a person's mentions (GDPR art. 17)."""

from __future__ import annotations

import click

from listener.cli.base import Context, cli, pass_ctx


@cli.command()
@click.option("--author", metavar="NAME", help="Every mention whose author name or handle is exactly NAME.")
@click.option("--mention", "mention_id", type=int, metavar="ID", help="One mention, by id.")
@pass_ctx
def forget(ctx: Context, author: str | None, mention_id: int | None) -> None:
    """Erase mentions with their routes, tags, alerts, responses and labels.

    The log keeps a line saying how many were erased, without their content or the name.
    A running daemon may store the person's mentions again if the sources still publish them.
    """
    from listener.logs import get_logger
    from listener.store import retention

    if (author is None) == (mention_id is None):
        raise click.UsageError("give --author NAME or --mention ID (one of them)")
    try:
        erased = retention.forget(ctx.engine(), author=author, mention_id=mention_id)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    get_logger().info("mentions.forgotten", by="author" if author is not None else "mention", count=len(erased),
                      ids=erased[:100])
    if not erased:
        raise click.ClickException("no such mention" if mention_id is not None else "no mentions by that author")
    click.echo(f"erased {len(erased)} mention{'s' * (len(erased) != 1)} and everything attached to them")
