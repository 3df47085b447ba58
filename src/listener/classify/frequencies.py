"""How often each word occurs in Swedish, Danish, Norwegian and English.

From wordfreq's word lists (wordfreq.tsv.gz, built by scripts/build_word_frequencies.py; CC BY-SA
4.0, see NOTICE). Language ID weighs whole words by it; the sentiment scorer uses it to tell an
everyday word, whose meaning it must not guess from its parts ("uppgifter" holds "gift", poison),
from a rare compound that it may.

Held as two numpy arrays (the words sorted, as UTF-8 bytes, and their frequencies as int16), not
as a dict: 84,000 words take ~4 MB this way instead of ~25 MB of Python objects, and every worker
process holds its own copy.
"""

from __future__ import annotations

import functools
import gzip
from array import array
from dataclasses import dataclass
from importlib.resources import files

import numpy as np

LANGS = ("sv", "da", "no", "en")
MISSING = -32768
"""In ``centibels``: the language's list lacks the word."""


@dataclass(frozen=True, eq=False)
class Table:
    words: np.ndarray
    """Sorted UTF-8 bytes."""
    centibels: np.ndarray
    """Frequency in centibels (100 × log10; -600 is once in a million words), one column per
    language in LANGS order, MISSING where the language's list lacks the word."""

    def row(self, word: str) -> int | None:
        key = word.encode("utf-8", "surrogatepass")
        i = int(np.searchsorted(self.words, key))
        return i if i < len(self.words) and self.words[i] == key else None


@functools.cache
def table() -> Table:
    """Read line by line (the file is sorted by word), so that loading leaves no large garbage
    behind in the heap."""
    words: list[bytes] = []
    centibels = array("h")
    with files("listener.classify").joinpath("wordfreq.tsv.gz").open("rb") as raw, \
            gzip.open(raw, "rt", encoding="utf-8") as lines:
        columns = next(lines).rstrip("\n").split("\t")[1:5]
        order = [columns.index(lang) + 1 for lang in LANGS]
        for line in lines:
            cells = line.rstrip("\n").split("\t")
            words.append(cells[0].encode("utf-8"))
            centibels.extend(int(cells[i]) if cells[i] else MISSING for i in order)
    return Table(np.array(words), np.frombuffer(centibels, dtype=np.int16).reshape(-1, len(LANGS)).copy())


@functools.cache
def common(lang: str, count: int) -> frozenset[str]:
    """The language's ``count`` most frequent words."""
    t = table()
    column = t.centibels[:, LANGS.index(lang)]
    present = np.flatnonzero(column != MISSING)
    ranked = present[np.lexsort((t.words[present], column[present]))]
    return frozenset(w.decode("utf-8") for w in t.words[ranked[-count:]])
