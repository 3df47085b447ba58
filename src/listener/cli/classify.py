"""`listener classify`, `eval` and `reclassify`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.cli.output import cell, parse_since


@cli.command("classify")
@click.argument("texts", nargs=-1, required=True)
@click.option("--lang", metavar="L", help="Skip detection: the texts are in L (sv, da, no, en).")
def classify_cmd(texts: tuple[str, ...], lang: str | None) -> None:
    """Print language, label, score and question for each TEXT."""
    from listener.classify import classify

    for text in texts:
        r = classify(text, lang)
        click.echo(f"{r.lang}\t{r.label.value}\t{r.score:+.3f}\t{'question' if r.question else '-'}\t{cell(text, 60)}")


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
            rows = mention_store.for_reclassify(conn, parse_since(since) if since else None, after, 1000)
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
