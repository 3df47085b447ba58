"""Learning curve: macro-F1 per language after 0, 50, 100, 200 and 500 human labels.

Two measurements, each a mean over 5 draws with fixed seeds:
- the shared evaluation sets (../shared/data/sentiment by default, or --data DIR): each set is
  split in two halves once (seed 42); labels are drawn from the first half, figures are measured
  on the second;
- an organisation's own domain: tests/data/domain.jsonl, invented complaints, questions, praise
  and plain statements about a shop, a bank and a transport company in sv/da/no/en. Half of each
  language teaches, the other half is measured: how many complaints are found, and how many plain
  questions are wrongly read as criticism.
Labels carry the language detected from their text, as mentions in the store do.

    python bench/learning.py [--data DIR] [--draws 5]
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
DOMAIN_SIZES = (0, 12, 24, 36, 48, 76)


def _read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _scores(test: list[dict], model) -> tuple[float, float, float]:
    """(macro-F1, share of complaints found, share of questions read as criticism)."""
    predicted = [classify(r["text"], model=model).label.value for r in test]
    f1 = _metrics(list(zip((r["label"] for r in test), predicted, strict=True)))["macro_f1"]
    complaints = [p for r, p in zip(test, predicted, strict=True) if r["label"] == "criticism"]
    questions = [p for r, p in zip(test, predicted, strict=True) if r["text"].rstrip().endswith("?")]
    found = sum(p == "criticism" for p in complaints) / len(complaints) if complaints else 0.0
    turned = sum(p == "criticism" for p in questions) / len(questions) if questions else 0.0
    return f1, found, turned


def curve(pool: list[dict], test: list[dict], sizes, draws: int) -> list[tuple[int, float, float, float, float]]:
    """(labels, macro-F1, complaints found, questions turned, seconds to train) per size, means over draws."""
    out = []
    for size in sizes:
        runs, seconds = [], 0.0
        for draw in range(draws if size else 1):
            sample = random.Random(draw).sample(pool, min(size, len(pool)))
            started = time.perf_counter()
            model = learn((r["text"], None, r["label"]) for r in sample) if sample else None
            seconds += time.perf_counter() - started
            runs.append(_scores(test, model))
        means = [sum(r[i] for r in runs) / len(runs) for i in range(3)]
        out.append((min(size, len(pool)), *means, seconds / len(runs)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent.parent / "shared/data/sentiment",
                        help="folder of {sv,da,no,en}.jsonl (default: ../shared/data/sentiment)")
    parser.add_argument("--draws", type=int, default=5)
    args = parser.parse_args()
    if not args.data.is_dir():
        args.data = Path("/work/shared/data/sentiment")

    print(f"shared sets ({args.data}): macro-F1 on the held-out half after N labels from the other half, "
          f"mean of {args.draws} draws")
    print(f"{'lang':6}" + "".join(f"{n:>8}" for n in SIZES) + f"{'lift':>8}")
    for lang in ("en", "da", "sv", "no"):
        rows = _read(args.data / f"{lang}.jsonl")
        random.Random(42).shuffle(rows)
        pool, test = rows[: len(rows) // 2], rows[len(rows) // 2 :]
        points = curve(pool, test, SIZES, args.draws)
        print(f"{lang:6}" + "".join(f"{p[1]:>8.3f}" for p in points) + f"{points[-1][1] - points[0][1]:>+8.3f}")

    rows = _read(ROOT / "tests/data/domain.jsonl")
    pool, test = [], []
    rng = random.Random(42)
    for lang in ("en", "sv", "da", "no"):
        mine = [r for r in rows if r["lang"] == lang]
        rng.shuffle(mine)
        pool += mine[: len(mine) // 2]
        test += mine[len(mine) // 2 :]
    print(f"\ndomain set (tests/data/domain.jsonl, 4 languages): {len(test)} held-out texts, "
          f"labels drawn from the other {len(pool)}, mean of {args.draws} draws")
    print(f"{'labels':>7} {'macro-F1':>9} {'complaints found':>17} {'questions -> criticism':>23} {'train s':>8}")
    for n, f1, found, turned, seconds in curve(pool, test, DOMAIN_SIZES, args.draws):
        print(f"{n:>7} {f1:>9.3f} {found:>17.0%} {turned:>23.0%} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
