"""`listener mentions` and `listener route`: what was said and where it went."""

from __future__ import annotations

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.cli.output import emit, iso, parse_since
from listener.text import strip_controls


@cli.command()
@click.option("--since", metavar="7d|DATE", help="Published within this long (7d, 12h) or since DATE (2026-11-01).")
@click.option("--source", metavar="NAME", help="Only this source.")
@click.option("--lang", metavar="L", help="Only this language (ISO 639-1, e.g. sv).")
@click.option("--label", type=click.Choice(["praise", "criticism", "neutral"]), help="Only this label.")
@click.option("--search", metavar="TEXT", help="Title or text contains TEXT (case-insensitive).")
@click.option("--own/--no-own", default=None, help="Only the organisation's own mentions, or only others'.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@pass_ctx
def mentions(ctx: Context, since, source, lang, label, search, own, limit, fmt) -> None:
    """What was said, where and when: stored mentions, newest first."""
    from listener.classify.language import normalise
    from listener.store import mentions as mention_store
    from listener.store import responses as response_store

    f = mention_store.MentionFilter(
        since=parse_since(since) if since else None, source=source, lang=normalise(lang), label=label, search=search,
        own=own, limit=limit,
    )
    engine = ctx.engine()
    with engine.connect() as conn:
        rows = mention_store.query(conn, f)
        summaries = response_store.summaries(conn, [row["id"] for row in rows])
    for row in rows:
        row.update(summaries[row["id"]])
        for key in ("published_at", "first_seen_at", "first_response_at"):
            row[key] = iso(row[key])
    emit(rows, fmt, ["id", "published_at", "source", "lang", "label", "author", "title", "text"])


@cli.command()
@click.option("--explain", "mention_id", type=int, metavar="MENTION_ID", help="Why this mention went where it went.")
@click.option("--dry-run", is_flag=True, help="Replay stored mentions through the current rules; print what would change.")
@click.option("--since", default="30d", show_default=True, metavar="30d|DATE", help="With --dry-run: mentions published since.")
@pass_ctx
def route(ctx: Context, mention_id: int | None, dry_run: bool, since: str) -> None:
    """Explain a routing decision, or test the current rules on stored mentions."""
    from listener.routing import Router, dry_run_report
    from listener.store import routing as routing_store

    if (mention_id is None) == (not dry_run):
        raise click.UsageError("use --explain MENTION_ID or --dry-run")
    router = Router.from_config(ctx.config)
    engine = ctx.engine()
    with engine.connect() as conn:
        if mention_id is not None:
            stored = routing_store.load_mentions(conn, ids=[mention_id])
            if not stored:
                raise click.ClickException(f"no mention with id {mention_id}")
            lines = router.explain_stored(stored[0])
        else:
            lines = dry_run_report(router, routing_store.load_mentions(conn, since=parse_since(since)))
    for line in lines:
        click.echo(strip_controls(line))
