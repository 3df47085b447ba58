"""How often each word occurs in Swedish, Danish, Norwegian and English.

From wordfreq's word lists (wordfreq.tsv.gz, built by scripts/build_word_frequencies.py; CC BY-SA
4.0, see NOTICE). Language ID weighs whole words by it; the sentiment scorer uses it to tell an
everyday word, whose meaning it must not guess from its parts ("uppgifter" holds "gift", poison),
from a rare compound that it may.
"""

from __future__ import annotations

import functools
import gzip
from importlib.resources import files

LANGS = ("sv", "da", "no", "en")


@functools.cache
def table() -> dict[str, tuple[int | None, ...]]:
    """Each word's frequency in centibels (100 × log10; -600 is once in a million words) per
    language in LANGS order, None where the language's list lacks it."""
    with files("listener.classify").joinpath("wordfreq.tsv.gz").open("rb") as raw:
        lines = gzip.decompress(raw.read()).decode("utf-8").splitlines()
    columns = lines[0].split("\t")[1:5]
    order = [columns.index(lang) for lang in LANGS]
    out: dict[str, tuple[int | None, ...]] = {}
    for line in lines[1:]:
        word, *cells = line.split("\t")
        out[word] = tuple(int(cells[i]) if cells[i] else None for i in order)
    return out


@functools.cache
def common(lang: str, count: int) -> frozenset[str]:
    """The language's ``count`` most frequent words."""
    column = LANGS.index(lang)
    ranked = sorted((f[column], w) for w, f in table().items() if f[column] is not None)
    return frozenset(w for _, w in ranked[-count:])
