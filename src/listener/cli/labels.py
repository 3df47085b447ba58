"""`listener label` and `listener labels import|export`: the team's corrections, which the
learned model learns from."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from pathlib import Path

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.domain import Label

LABELS = [label.value for label in Label]


def _default_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"


@cli.command("label")
@click.argument("mention_id", type=int)
@click.argument("label", type=click.Choice(LABELS))
@click.option("--by", metavar="NAME", help="Who gives the label (default: your login name).")
@pass_ctx
def label_cmd(ctx: Context, mention_id: int, label: str, by: str | None) -> None:
    """Correct a mention's label: LABEL is shown from now on and the learned model learns from it."""
    from listener.store import labels as label_store

    with ctx.engine().begin() as conn:
        try:
            label_store.add_label(conn, mention_id, Label(label), by=by or _default_name(), via="cli",
                                  at=datetime.now(UTC))
        except label_store.UnknownMention as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"mention {mention_id}: {label}")


@cli.group("labels")
def labels_group() -> None:
    """Human labels in JSON Lines: {"text", "lang", "label"} and optionally "mention_id"."""


@labels_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", metavar="NAME", help="Who gave the labels (default: your login name).")
@pass_ctx
def import_cmd(ctx: Context, path: Path, by: str | None) -> None:
    """Add labelled examples; if any line is bad, every bad line is listed and nothing is imported."""
    from listener.store import labels as label_store

    examples, problems = read_labels(path)
    with ctx.engine().begin() as conn:
        known = label_store.existing_mentions(conn, [e.mention_id for _, e in examples if e.mention_id is not None])
        problems += [(n, f"no mention with id {e.mention_id}") for n, e in examples
                     if e.mention_id is not None and e.mention_id not in known]
        if problems:
            for number, problem in sorted(problems):
                click.echo(f"{path}:{number}: {problem}", err=True)
            raise click.ClickException(f"{path}: {len(problems)} bad line(s); nothing imported")
        count = label_store.import_labels(conn, [e for _, e in examples], by=by or _default_name(),
                                          at=datetime.now(UTC))
    click.echo(f"imported {count} labels")


@labels_group.command("export")
@pass_ctx
def export_cmd(ctx: Context) -> None:
    """Print every labelled text once, with its newest label, as JSON Lines."""
    from listener.store import labels as label_store

    with ctx.engine().connect() as conn:
        rows = label_store.latest(conn)
    for row in rows:
        line = {"text": row.text, "lang": row.lang, "label": row.label.value}
        if row.mention_id is not None:
            line["mention_id"] = row.mention_id
        click.echo(json.dumps(line, ensure_ascii=False))


def read_labels(path: Path) -> tuple[list, list[tuple[int, str]]]:
    """(line number, LabelledText) for each good line, and (line number, problem) per bad line."""
    from listener.classify.language import normalise
    from listener.store.labels import LabelledText

    examples, problems = [], []
    with path.open(encoding="utf-8", errors="replace") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                text, label = row["text"], row["label"]
                lang, mention_id = row.get("lang"), row.get("mention_id")
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError):
                problems.append((number, 'expected {"text", "lang", "label"} (and optionally "mention_id")'))
                continue
            if not isinstance(text, str) or not text.strip():
                problems.append((number, '"text" must be a non-empty string'))
            elif label not in LABELS:
                problems.append((number, f'"label" must be one of {", ".join(LABELS)}'))
            elif lang is not None and not isinstance(lang, str):
                problems.append((number, '"lang" must be a language code such as "sv"'))
            elif mention_id is not None and (not isinstance(mention_id, int) or isinstance(mention_id, bool)):
                problems.append((number, '"mention_id" must be a whole number'))
            else:
                examples.append((number, LabelledText(text, normalise(lang), Label(label), mention_id)))
    return examples, problems
