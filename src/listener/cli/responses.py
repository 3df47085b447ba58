"""`listener respond`: record that a mention was answered, outside the link and the reply detection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from listener.cli.base import Context, cli, pass_ctx


def parse_time(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f'"{value}" is not a time; write e.g. 2026-11-23T14:05+01:00', param_hint="--at") from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    if parsed > datetime.now(UTC) + timedelta(minutes=5):
        raise click.BadParameter(f'"{value}" is in the future', param_hint="--at")
    return parsed.astimezone(UTC)


@cli.command()
@click.argument("mention_id", type=int)
@click.option("--at", "at", metavar="TIME", help="When it was answered, ISO 8601 (a time without offset is UTC). Default: now.")
@click.option("--by", default="", help="Who answered.")
@click.option("--url", default="", help="Where the answer is (a link to the reply).")
@click.option("--note", default="", help="A note, e.g. \"answered by phone\".")
@pass_ctx
def respond(ctx: Context, mention_id: int, at: str | None, by: str, url: str, note: str) -> None:
    """Record a response to mention MENTION_ID; the earliest response counts for response times."""
    from listener.responses import UnknownMention, record_response
    from listener.store import responses as response_store
    from listener.text import span, strip_controls

    when = parse_time(at)
    engine = ctx.engine()
    try:
        with engine.begin() as conn:
            recorded = record_response(conn, ctx.config, mention_id, at=when, by=by, via="cli", url=url, note=note)
            summary = response_store.summaries(conn, [mention_id])[mention_id]
    except UnknownMention as exc:
        raise click.ClickException(str(exc)) from None
    earlier = recorded.previous
    if earlier is not None and earlier.responded_at <= when:
        click.echo(strip_controls(f"mention {mention_id}: response recorded; it was first answered at "
                                  f"{earlier.responded_at:%Y-%m-%d %H:%M} UTC ({earlier.via})"))
        return
    times = ", ".join(f"{d} {span(s)}" for d, s in summary["business_response_time_s"].items())
    click.echo(f"mention {mention_id}: response recorded, {span(summary['response_time_s'])} after publication"
               + (f"; in business hours: {times}" if times else ""))
