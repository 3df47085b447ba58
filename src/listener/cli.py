"""The `listener` command."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from listener import __version__
from listener.config import (
    Config,
    ConfigError,
    load_config,
    parse_duration,
    resolve_path,
)
from listener.text import describe, one_line, strip_controls

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Context:
    def __init__(self, config_path: str | None, log_level: str | None):
        self.path = resolve_path(config_path)
        self.log_level = log_level
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            try:
                self._config = load_config(self.path)
            except ConfigError as exc:
                for line in exc.problems:
                    click.echo(line, err=True)
                sys.exit(2)
            from listener import logs

            logs.configure(self.log_level or self._config.logging.level, self._config.logging.format)
        return self._config

    def engine(self):
        from listener.store.engine import make_engine, upgrade

        engine = make_engine(self.config.database_url)
        try:
            upgrade(engine)
        except Exception as exc:
            raise click.ClickException(f"cannot open the store at [store] url: {describe(exc)}") from None
        return engine


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-c", "--config", "config_path", metavar="PATH",
              help="Config file. Default: $LISTENER_CONFIG, else ./config.toml.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]),
              help="Override [logging] level.")
@click.version_option(__version__, prog_name="listener")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, log_level: str | None) -> None:
    """Watch feeds and platforms for mentions of your organisation and store them in SQL.

    Start with `listener check-config`, then `listener poll` to try every source once,
    then `listener run` to keep polling.
    """
    ctx.obj = Context(config_path, log_level)


@cli.command("check-config")
@pass_ctx
def check_config(ctx: Context) -> None:
    """Validate the config file: prints ok, or one line per problem (exit 2)."""
    ctx.config  # noqa: B018 - loading it is the check; problems exit with status 2
    click.echo("ok")


@cli.command()
@pass_ctx
def run(ctx: Context) -> None:
    """Poll every enabled source on its schedule until stopped (SIGTERM or Ctrl-C)."""
    from listener.scheduler import Daemon

    engine = ctx.engine()

    async def main() -> None:
        async with _workers(ctx, engine) as (poller, deliverer):
            await Daemon(poller, deliverer).run()

    asyncio.run(main())


@cli.command()
@click.option("--source", "names", multiple=True, metavar="NAME", help="Poll only this source (repeatable).")
@pass_ctx
def poll(ctx: Context, names: tuple[str, ...]) -> None:
    """Poll sources once now and exit: one line per source; exit 1 if any failed."""
    ctx.log_level = ctx.log_level or "warning"  # the summary lines are the output
    config = ctx.config
    try:
        named = [config.source(n) for n in names]
    except ConfigError as exc:
        raise click.UsageError(exc.problems[0]) from None
    for source in named:
        if not source.enabled:
            raise click.UsageError(f'source "{source.name}" has enabled = false in {config.path.name}')
    wanted = [s.name for s in named] or [s.name for s in config.sources if s.enabled]
    if not wanted:
        raise click.ClickException("no enabled sources in the config; add a [[sources]] table")
    engine = ctx.engine()

    async def main():
        async with _workers(ctx, engine) as (poller, deliverer):
            states = poller.claim(names=wanted)
            busy = sorted(set(wanted) - {s.name for s in states})
            outcomes = await asyncio.gather(*(poller.poll(s) for s in states))
            return busy, outcomes, await deliverer.deliver_due()

    busy, outcomes, sent = asyncio.run(main())
    for outcome in outcomes:
        click.echo(strip_controls(outcome.summary()))
    for name in busy:
        click.echo(f"{name}: skipped: another listener is polling it right now")
    if sent or ctx.config.sinks:
        click.echo(f"alerts: {sent} sent{_alert_backlog(engine)}")
    if any(not o.ok for o in outcomes):
        sys.exit(1)


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
            "last_success": _iso(s.last_success_at),
            "failures": s.failures,
            "last_error": s.last_error,
            "next_poll": _iso(s.next_poll_at) if s.enabled and s.in_config else None,
            "url": s.url,
        }
        for s in states
    ]
    _emit(rows, fmt, ["name", "connector", "state", "last_success", "failures", "next_poll", "last_error"])


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
@click.option("--since", metavar="7d|DATE", help="Published within this long (7d, 12h) or since DATE (2026-11-01).")
@click.option("--source", metavar="NAME", help="Only this source.")
@click.option("--lang", metavar="L", help="Only this language (ISO 639-1, e.g. sv).")
@click.option("--label", type=click.Choice(["praise", "criticism", "neutral"]), help="Only this label.")
@click.option("--search", metavar="TEXT", help="Title or text contains TEXT (case-insensitive).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@pass_ctx
def mentions(ctx: Context, since, source, lang, label, search, limit, fmt) -> None:
    """What was said, where and when: stored mentions, newest first."""
    from listener.classify.language import normalise
    from listener.store import mentions as mention_store

    f = mention_store.MentionFilter(
        since=_since(since) if since else None, source=source, lang=normalise(lang), label=label, search=search,
        limit=limit,
    )
    engine = ctx.engine()
    with engine.connect() as conn:
        rows = mention_store.query(conn, f)
    for row in rows:
        for key in ("published_at", "first_seen_at"):
            row[key] = _iso(row[key])
    _emit(rows, fmt, ["id", "published_at", "source", "lang", "label", "author", "title", "text"])


@cli.command("classify")
@click.argument("texts", nargs=-1, required=True)
@click.option("--lang", metavar="L", help="Skip detection: the texts are in L (sv, da, no, en).")
def classify_cmd(texts: tuple[str, ...], lang: str | None) -> None:
    """Print language, label, score and question for each TEXT."""
    from listener.classify import classify

    for text in texts:
        r = classify(text, lang)
        click.echo(f"{r.lang}\t{r.label.value}\t{r.score:+.3f}\t{'question' if r.question else '-'}\t{_cell(text, 60)}")


@cli.command("eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def eval_cmd(path: Path, fmt: str) -> None:
    """Measure the classifier on labelled JSON Lines: {"text", "lang", "label"} per line."""
    from listener.classify.evaluate import evaluate, read_examples, render_table

    try:
        examples = read_examples(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not examples:
        raise click.ClickException(f"{path}: no examples")
    report = evaluate(examples)
    click.echo(json.dumps(report) if fmt == "json" else render_table(report), nl=fmt == "json")


@cli.command()
@click.option("--since", metavar="7d|DATE", help="Only mentions published within this long or since DATE.")
@pass_ctx
def reclassify(ctx: Context, since: str | None) -> None:
    """Label stored mentions again with this version's classifier (after an upgrade)."""
    from listener.pipeline import classification
    from listener.store import mentions as mention_store

    languages = {s.name: s.lang for s in ctx.config.sources}
    engine = ctx.engine()
    after, total = 0, 0
    while True:
        with engine.begin() as conn:
            rows = mention_store.for_reclassify(conn, _since(since) if since else None, after, 1000)
            if not rows:
                break
            updates = []
            for row in rows:
                new = classification(row.title, row.text, languages.get(row.source)) | {"id": row.id}
                new["label"] = new["label"].value
                updates.append(new)
            mention_store.set_classification(conn, updates)
        total += len(rows)
        after = rows[-1].id
    click.echo(f"reclassified {total} mentions")


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
            row[key] = _iso(row[key])
    _emit(rows, fmt, ["id", "state", "priority", "department", "sink", "attempts", "next_attempt_at", "title", "last_error"])


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
            lines = dry_run_report(router, routing_store.load_mentions(conn, since=_since(since)))
    for line in lines:
        click.echo(strip_controls(line))


@cli.command()
def connectors() -> None:
    """Describe every installed connector kind, with an example [[sources]] table."""
    from listener.connector import registry

    for kind, connector in sorted(registry().items()):
        click.echo(f"{kind}\n  {connector.description}\n")
        fields = connector.Options.model_fields
        if fields:
            click.echo("  options:")
            for name, field in fields.items():
                click.echo(f"    {name}: {field.description or ''} (default {field.default!r})")
        click.echo("  example:\n" + "\n".join("    " + line for line in connector.example.splitlines()) + "\n")


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


def _alert_backlog(engine) -> str:
    from listener.store import routing as routing_store

    with engine.connect() as conn:
        counts = routing_store.counts(conn)
    parts = [f"{counts[k]} {k}" for k in ("pending", "dead") if counts.get(k)]
    return "; " + ", ".join(parts) + " (see `listener alerts`)" if parts else ""


class _workers:
    """A Poller over the shared HTTP client and an alert Deliverer, with sources and departments synced."""

    def __init__(self, ctx: Context, engine):
        self.ctx, self.engine = ctx, engine

    async def __aenter__(self):
        from listener.alerts.worker import Deliverer
        from listener.http import HttpClient
        from listener.scheduler import Poller
        from listener.store import routing as routing_store
        from listener.store import sources as source_store

        self.http = HttpClient(self.ctx.config.http)
        poller = Poller(self.ctx.config, self.engine, self.http)
        self.deliverer = Deliverer(self.ctx.config, self.engine)
        with self.engine.begin() as conn:
            source_store.sync(conn, self.ctx.config.sources, datetime.now(UTC))
            routing_store.sync_departments(conn, poller.router)
        return poller, self.deliverer

    async def __aexit__(self, *exc):
        await self.http.aclose()
        await self.deliverer.aclose()


def _since(value: str) -> datetime:
    try:
        return datetime.now(UTC) - parse_duration(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f'"{value}" is neither a duration (7d, 12h) nor a date (2026-11-01)', param_hint="--since") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z") if when else None


def _emit(rows: list[dict[str, Any]], fmt: str, table_columns: list[str]) -> None:
    if fmt == "json":
        click.echo("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), nl=False)
    elif fmt == "csv":
        if rows:
            buf = io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows({k: _csv_safe(v) for k, v in row.items()} for row in rows)
            click.echo(buf.getvalue(), nl=False)
    else:
        click.echo(_table(rows, table_columns), nl=False)


def _csv_safe(value: Any) -> Any:
    """Defuse spreadsheet formulas: a cell starting with = + - @ is read as text, not run."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    if not rows:
        return "(nothing)\n"
    width = {"text": 60, "title": 40, "last_error": 60}
    cells = [[_cell(row.get(c), width.get(c, 30)) for c in columns] for row in rows]
    sizes = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    buf = io.StringIO()
    for line in ([columns] + cells):
        buf.write("  ".join(v.ljust(sizes[i]) for i, v in enumerate(line)).rstrip() + "\n")
    return buf.getvalue()


def _cell(value: Any, width: int) -> str:
    text = one_line("" if value is None else str(value))
    return text if len(text) <= width else text[: width - 1] + "…"




def main() -> None:
    cli(prog_name="listener")
