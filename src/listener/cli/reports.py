"""`listener report` and `listener export`: figures against a baseline, and every mention for analysts."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.cli.output import csv_safe, iso, parse_since
from listener.reports.figures import GROUPINGS
from listener.reports.periods import PERIOD_HELP


@cli.command()
@click.option("--period", default="last-week", show_default=True, metavar="PERIOD", help=PERIOD_HELP + ".")
@click.option("--baseline", metavar="NAME|PERIOD", help="A [[baselines]] name, or a period to compare with.")
@click.option("--by", type=click.Choice(GROUPINGS), help="One row per group.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv", "html"]), default="table", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@pass_ctx
def report(ctx: Context, period: str, baseline: str | None, by: str | None, fmt: str, output: str | None) -> None:
    """Volume, praise and criticism, answers, first-response times and SLA for a period, beside a baseline.

    Weeks are ISO weeks in [report] timezone. Own mentions are not counted. Counts' changes compare
    daily rates; shares and times show the difference."""
    from listener.reports import figures, human
    from listener.reports.periods import resolve

    config = ctx.config
    now = datetime.now(UTC)
    zone, named = config.report.timezone, baselines(config)
    try:
        asked = resolve(period, now, zone)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from None
    try:
        against = resolve(baseline, now, zone, named) if baseline else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--baseline") from None
    engine = ctx.engine()
    with engine.connect() as conn:
        if fmt == "html":
            from listener.reports import charts, html

            overview = figures.overview(conn, asked, now=now, by=by, baseline=against)
            text = html.standalone(overview, charts.charts(overview, charts.strictest_sla_hours(config)))
        else:
            result = figures.build(conn, asked, now=now, by=by, baseline=against)
            text = {"json": lambda: json.dumps(result.as_json(), ensure_ascii=False, indent=2) + "\n",
                    "csv": lambda: _csv(result), "table": lambda: human.text(result)}[fmt]()
    with click.open_file(output or "-", "w", encoding="utf-8") as out:
        out.write(text)


def baselines(config) -> dict:
    return {b.name: (b.start, b.end) for b in config.baselines}


def _csv(result) -> str:
    import io

    from listener.reports.figures import FIGURES, PRUNED_NOTE

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["group", *FIGURES, *(f"baseline_{n}" for n in FIGURES), *(f"change_{n}" for n in FIGURES),
                     "pruned", "baseline_pruned", "note"])
    note = PRUNED_NOTE if result.pruned else ""
    for row in result.rows:
        values = [getattr(row.figures, n) for n in FIGURES]
        for other in (row.baseline, row.change):
            values += [getattr(other, n) if other else None for n in FIGURES]
        values += [row.figures.pruned, row.baseline.pruned if row.baseline else None]
        writer.writerow([csv_safe(row.group), *("" if v is None else v for v in values), note])
    return buffer.getvalue()


@cli.command()
@click.option("--since", metavar="7d|DATE", help="Published within this long or since DATE; default: everything.")
@click.option("--author", metavar="NAME", help="Only this author's mentions (name or handle, any case): a subject-access request.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="Write to FILE instead of stdout.")
@pass_ctx
def export(ctx: Context, since: str | None, author: str | None, fmt: str, output: str | None) -> None:
    """Every mention with its departments and response times, streamed (any size, little memory).

    jsonl: one object per mention with a "routes" list. csv: one row per mention; departments
    joined with ", ", response figures of the first response (the fastest department's view)."""
    from listener.store import exports

    engine = ctx.engine()
    with engine.connect() as conn, click.open_file(output or "-", "w", encoding="utf-8", lazy=False) as out:
        rows = exports.stream(conn, since=parse_since(since) if since else None, author=author)
        if fmt == "jsonl":
            for mention in rows:
                out.write(json.dumps(_jsonable(mention), ensure_ascii=False) + "\n")
            return
        writer = csv.writer(out, lineterminator="\n")
        columns = [*exports.MENTION_COLUMNS, "departments", "first_response_at", "response_s", "business_response_s"]
        writer.writerow(columns)
        for mention in rows:
            writer.writerow([csv_safe(v) for v in _flat(mention)])


def _jsonable(mention: dict) -> dict:
    out = {k: iso(v) if isinstance(v, datetime) else v for k, v in mention.items() if k != "routes"}
    out["routes"] = [{k: iso(v) if isinstance(v, datetime) else v for k, v in r.items()} for r in mention["routes"]]
    return out


def _flat(mention: dict) -> list:
    from listener.store import exports

    routes = mention["routes"]

    def first(key):
        values = [r[key] for r in routes if r[key] is not None]
        return min(values) if values else None

    values = [mention[k] for k in exports.MENTION_COLUMNS]
    values += [", ".join(r["department"] for r in routes), first("first_response_at"), first("response_s"),
               first("business_response_s")]
    return ["" if v is None else iso(v) if isinstance(v, datetime) else v for v in values]
