"""Learning curve: macro-F1 per language after 0, 50, 100, 200 and 500 human labels.

Two measurements, each a mean over 5 draws with fixed seeds:
- the shared evaluation sets (../shared/data/sentiment by default, or --data DIR): each set is
  split in two halves once (seed 42); labels are drawn from the first half, figures are measured
  on the second;
- an organisation's own domain, in invented texts about a shop, a bank and a transport company in
  sv/da/no/en: complaints without a sentiment word, plain questions, plain statements and praise.
  Labels are drawn from tests/data/domain.jsonl (45 per language), figures are measured on
  tests/data/domain-heldout.jsonl (28 other texts per language, never used to tune): how many
  complaints are found, and how many plain questions and statements are wrongly read as
  criticism. Per language (an organisation labels its own mentions), and with the four mixed.
Labels carry the language detected from their text, as mentions in the store do.

    python bench/learning.py [--data DIR] [--draws 5] [--domain-only]
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

from listener.classify import classify, learn
from listener.classify.evaluate import _metrics

ROOT = Path(__file__).parent.parent
SIZES = (0, 50, 100, 200, 500)
DOMAIN_SIZES = (0, 12, 24, 36, 45)
MIXED_SIZES = (0, 48, 96, 180)
LANGS = ("en", "da", "sv", "no")


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _share(predicted: list[str], label: str = "criticism") -> float:
    return sum(p == label for p in predicted) / len(predicted) if predicted else 0.0


def _scores(test: list[dict], model) -> tuple[float, float, float, float]:
    """(macro-F1, share of complaints found, shares of plain questions and of plain statements read
    as criticism)."""
    predicted = [classify(r["text"], model=model).label.value for r in test]
    f1 = _metrics(list(zip((r["label"] for r in test), predicted, strict=True)))["macro_f1"]
    pairs = list(zip(test, predicted, strict=True))
    complaints = [p for r, p in pairs if r["label"] == "criticism"]
    questions = [p for r, p in pairs if r["label"] == "neutral" and r["text"].rstrip().endswith("?")]
    statements = [p for r, p in pairs if r["label"] == "neutral" and not r["text"].rstrip().endswith("?")]
    return f1, _share(complaints), _share(questions), _share(statements)


def curve(pool: list[dict], test: list[dict], sizes, draws: int) -> list[tuple[float, ...]]:
    """(labels, macro-F1, complaints found, questions turned, statements turned, seconds to train)
    per size, means over draws."""
    out = []
    for size in sizes:
        runs, seconds = [], 0.0
        for draw in range(draws if size and size < len(pool) else 1):
            sample = random.Random(draw).sample(pool, min(size, len(pool)))
            started = time.perf_counter()
            model = learn((r["text"], None, r["label"]) for r in sample) if sample else None
            seconds += time.perf_counter() - started
            runs.append(_scores(test, model))
        means = [sum(r[i] for r in runs) / len(runs) for i in range(4)]
        out.append((min(size, len(pool)), *means, seconds / len(runs)))
    return out


def _domain_table(title: str, points) -> None:
    print(title)
    print(f"{'labels':>7} {'macro-F1':>9} {'complaints found':>17} {'questions -> crit.':>19} "
          f"{'statements -> crit.':>20} {'train s':>8}")
    for n, f1, found, questions, statements, seconds in points:
        print(f"{n:>7} {f1:>9.3f} {found:>17.0%} {questions:>19.0%} {statements:>20.0%} {seconds:>8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared/data/sentiment",
                        help="folder of {sv,da,no,en}.jsonl (default: ../shared/data/sentiment)")
    parser.add_argument("--draws", type=int, default=5)
    parser.add_argument("--domain-only", action="store_true", help="skip the shared sets")
    args = parser.parse_args()
    if not args.data.is_dir():
        args.data = Path("/work/shared/data/sentiment")

    if not args.domain_only:
        print(f"shared sets ({args.data}): macro-F1 on the held-out half after N labels from the other half, "
              f"mean of {args.draws} draws")
        print(f"{'lang':6}" + "".join(f"{n:>8}" for n in SIZES) + f"{'lift':>8}")
        for lang in LANGS:
            rows = _read(args.data / f"{lang}.jsonl")
            random.Random(42).shuffle(rows)
            pool, test = rows[: len(rows) // 2], rows[len(rows) // 2 :]
            points = curve(pool, test, SIZES, args.draws)
            print(f"{lang:6}" + "".join(f"{p[1]:>8.3f}" for p in points) + f"{points[-1][1] - points[0][1]:>+8.3f}")

    pool, test = _read(ROOT / "tests/data/domain.jsonl"), _read(ROOT / "tests/data/domain-heldout.jsonl")
    print(f"\ndomain: labels from tests/data/domain.jsonl, measured on tests/data/domain-heldout.jsonl, "
          f"mean of {args.draws} draws")
    for lang in LANGS:
        mine = [r for r in pool if r["lang"] == lang]
        held = [r for r in test if r["lang"] == lang]
        _domain_table(f"\n{lang}: {len(held)} held-out texts, labels from the other {len(mine)}",
                      curve(mine, held, DOMAIN_SIZES, args.draws))
    _domain_table(f"\nall four, labels mixed: {len(test)} held-out texts, labels from the other {len(pool)}",
                  curve(pool, test, MIXED_SIZES, args.draws))


if __name__ == "__main__":
    main()
