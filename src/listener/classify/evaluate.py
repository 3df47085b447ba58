"""Measuring the classifier on labelled JSON Lines: ``{"text", "lang", "label"}`` per line."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from listener.classify import classify
from listener.classify.language import normalise
from listener.classify.learned import LearnedModel
from listener.domain import Label

LABELS = [label.value for label in Label]


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    lang: str
    label: str


def read_examples(path: Path) -> list[Example]:
    """Every line, or a ValueError naming the first bad line."""
    examples = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                example = Example(str(row["text"]), normalise(str(row["lang"])), str(row["label"]))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise ValueError(f'{path}:{number}: expected {{"text", "lang", "label"}}: {exc}') from None
            if example.label not in LABELS:
                raise ValueError(f'{path}:{number}: label "{example.label}" is not one of {", ".join(LABELS)}')
            examples.append(example)
    return examples


def evaluate(examples: Iterable[Example], model: LearnedModel | None = None) -> dict:
    """Per language and overall: n, accuracy, macro-F1, per-label precision and recall, the
    confusion matrix (gold → predicted), and language-ID accuracy. The label is predicted with
    the language detected, as in production, so language errors count against it."""
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    lang_hits: Counter[str] = Counter()
    for example in examples:
        result = classify(example.text, model=model)
        pairs[example.lang].append((example.label, result.label.value))
        lang_hits[example.lang] += result.lang == example.lang
    report = {"languages": {}, "overall": None}
    everything: list[tuple[str, str]] = []
    for lang in sorted(pairs):
        report["languages"][lang] = _metrics(pairs[lang]) | {"lang_accuracy": lang_hits[lang] / len(pairs[lang])}
        everything.extend(pairs[lang])
    if everything:
        report["overall"] = _metrics(everything) | {"lang_accuracy": sum(lang_hits.values()) / len(everything)}
    return report


def _metrics(pairs: list[tuple[str, str]]) -> dict:
    confusion = {gold: dict.fromkeys(LABELS, 0) for gold in LABELS}
    for gold, predicted in pairs:
        confusion[gold][predicted] += 1
    per_label, f1s = {}, []
    for label in LABELS:
        tp = confusion[label][label]
        predicted = sum(confusion[g][label] for g in LABELS)
        actual = sum(confusion[label].values())
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}
        f1s.append(f1)
    n = len(pairs)
    return {
        "n": n,
        "accuracy": round(sum(confusion[label][label] for label in LABELS) / n, 4),
        "macro_f1": round(sum(f1s) / len(f1s), 4),
        "labels": per_label,
        "confusion": confusion,
    }


def render_table(report: dict) -> str:
    lines = [f"{'lang':8} {'n':>6} {'accuracy':>9} {'macro_f1':>9} {'lang_id':>8}"]
    rows = list(report["languages"].items()) + ([("overall", report["overall"])] if report["overall"] else [])
    for lang, m in rows:
        lines.append(f"{lang:8} {m['n']:>6} {m['accuracy']:>9.3f} {m['macro_f1']:>9.3f} {m['lang_accuracy']:>8.3f}")
    for lang, m in rows:
        lines.append(f"\n{lang}: precision / recall per label; confusion (rows gold, columns predicted)")
        lines.append(f"  {'':10} {'precision':>9} {'recall':>7}   " + " ".join(f"{label:>9}" for label in LABELS))
        for label in LABELS:
            stats = m["labels"][label]
            counts = " ".join(f"{m['confusion'][label][p]:>9}" for p in LABELS)
            lines.append(f"  {label:10} {stats['precision']:>9.3f} {stats['recall']:>7.3f}   {counts}")
    return "\n".join(lines) + "\n"
