"""`listener classify`, `eval`, `reclassify` and `learn`."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import click

from listener.cli.base import Context, cli, pass_ctx
from listener.cli.output import cell, parse_since

NO_LEARNED = click.option("--no-learned", is_flag=True, help="The lexicon alone, without the model learned from labels.")


def _model(ctx: Context, no_learned: bool):
    """The installation's newest learned model, unless told not to use one, or there is no config
    file (then the classifier works without a store: the lexicon alone)."""
    if no_learned or not ctx.path.exists() or not ctx.config.classifier.learned:
        return None
    from listener.store import models as model_store

    return model_store.Current(ctx.engine()).get()


@cli.command("classify")
@click.argument("texts", nargs=-1, required=True)
@click.option("--lang", metavar="L", help="Skip detection: the texts are in L (sv, da, no, en, or any ISO 639-1 code).")
@click.option("--explain", is_flag=True, help="Also print the words, rules and learned features that decided.")
@NO_LEARNED
@pass_ctx
def classify_cmd(ctx: Context, texts: tuple[str, ...], lang: str | None, explain: bool, no_learned: bool) -> None:
    """Print language, label, score and question for each TEXT."""
    from listener.classify import classify
    from listener.classify.explain import explain as explain_text
    from listener.classify.explain import render

    model = _model(ctx, no_learned)
    for text in texts:
        r = classify(text, lang, model=model)
        click.echo(f"{r.lang}\t{r.label.value}\t{r.score:+.3f}\t{'question' if r.question else '-'}\t{cell(text, 60)}")
        if explain:
            for line in render(explain_text(text, lang, model=model)):
                click.echo("  " + line)


@cli.command("eval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--learn-from", type=click.Path(exists=True, dir_okay=False, path_type=Path), metavar="FILE2",
              help="First learn from FILE2's labels (same format) in a throwaway store, then measure.")
@NO_LEARNED
@pass_ctx
def eval_cmd(ctx: Context, path: Path, fmt: str, learn_from: Path | None, no_learned: bool) -> None:
    """Measure the classifier on labelled JSON Lines: {"text", "lang", "label"} per line."""
    from listener.classify.evaluate import evaluate, read_examples, render_table

    try:
        examples = read_examples(path)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not examples:
        raise click.ClickException(f"{path}: no examples")
    model = _learn_in_memory(learn_from) if learn_from else _model(ctx, no_learned)
    report = evaluate(examples, model)
    click.echo(json.dumps(report) if fmt == "json" else render_table(report), nl=fmt == "json")


def _learn_in_memory(path: Path):
    from listener import learning
    from listener.cli.labels import read_labels
    from listener.store import labels as label_store
    from listener.store.engine import make_engine, upgrade
    from listener.store.labels import LabelledText

    examples, problems = read_labels(path)
    if problems:
        number, problem = problems[0]
        raise click.ClickException(f"{path}:{number}: {problem}")
    if not examples:
        raise click.ClickException(f"{path}: no examples")
    engine = make_engine("sqlite://")
    upgrade(engine)
    with engine.begin() as conn:
        label_store.import_labels(conn, [LabelledText(e.text, e.lang, e.label) for _, e in examples],
                                  by="eval", at=datetime.now(UTC))
    stored = learning.train(engine, datetime.now(UTC))
    engine.dispose()
    return stored.model if stored else None


@cli.command()
@click.option("--since", metavar="7d|DATE", help="Only mentions published within this long or since DATE.")
@NO_LEARNED
@pass_ctx
def reclassify(ctx: Context, since: str | None, no_learned: bool) -> None:
    """Label stored mentions again with this version's classifier (after an upgrade or `learn`).
    A label given by a person stays; the classifier's goes to model_label beside it."""
    from listener.pipeline import classification
    from listener.store import mentions as mention_store

    languages = {s.name: s.lang for s in ctx.config.sources}
    engine = ctx.engine()
    model = _model(ctx, no_learned)
    after, total = 0, 0
    while True:
        with engine.begin() as conn:
            rows = mention_store.for_reclassify(conn, parse_since(since) if since else None, after, 1000)
            if not rows:
                break
            updates = []
            for row in rows:
                new = classification(row.title, row.text, languages.get(row.source), model) | {"id": row.id}
                new["label"] = new["label"].value
                updates.append(new)
            mention_store.set_classification(conn, updates)
        total += len(rows)
        after = rows[-1].id
    click.echo(f"reclassified {total} mentions")


@cli.command()
@pass_ctx
def learn(ctx: Context) -> None:
    """Train the installation's model from every human label and store it; `classify`, `eval`,
    `reclassify` and new mentions use it from then on."""
    from listener import learning

    stored = learning.train(ctx.engine(), datetime.now(UTC))
    if stored is None:
        raise click.ClickException("no human labels yet: give some with `listener label` or `listener labels import`")
    counts = ", ".join(f"{lang} {n}" for lang, n in sorted(stored.model.counts.items()))
    click.echo(f"model {stored.id}: learned from {stored.labels} labels ({counts})")
