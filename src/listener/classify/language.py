"""Which of Swedish, Danish, Norwegian and English a text is written in, or which other language.

Two naive-Bayes models vote together, word by word:
- py3langid's byte n-grams (behind a DFA), restricted to these languages by
  scripts/build_langid_model.py and shipped as langid.npz: it loads in ~0.1 s instead of the full
  model's ~1 s;
- how often each whole word occurs in each language, from wordfreq's lists (wordfreq.tsv.gz, built
  by scripts/build_word_frequencies.py). Danish and Norwegian share most letter n-grams but not
  their words ("brud"/"brudd", "procent"/"prosent", "mig"/"meg"): on the evaluation sets the
  words lift accuracy from 0.937 to 0.958, most of it between those two.
A word's scores are computed once and cached, since words repeat. Nynorsk counts as Norwegian.
A text with enough letters is also scored by py3langid's n-grams for every ISO 639-1 language it
knows (int8 weights): if another language wins clearly, the text is reported as written in it.
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import mmap
import os
import re
import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from listener.classify import frequencies
from listener.logs import get_logger

SUPPORTED = ("sv", "da", "no", "en")
ALIASES = {"nb": "no", "nn": "no", "nob": "no", "nno": "no", "swe": "sv", "dan": "da", "eng": "en"}
MIN_EVIDENCE = 12
"""Letters in words (URLs and @handles aside) below which a text cannot tell its language."""

SAMPLE = 1000
"""Characters read to tell a text's language; a blog post does not change language halfway."""
WORD_WEIGHT = 2.0
"""Weight of the word model against the n-gram model, chosen on the first half of the evaluation
items without a non-commercial licence (0.966 there; 0.964 at 1, 0.966 at 3)."""
UNSEEN = -800
"""A word missing from a language's list counts as this rare (centibels: once in 10^8 words)."""
OTHER_MARGIN = 30.0
"""How much likelier (in nats of py3langid's n-gram model) another language must be than the best
of sv/da/no/en before a text is reported as written in it. At 0, 1.2% of the four evaluation
sets' texts were reported as another language; at 30, 0.05% (two texts), while German, Finnish,
French, Spanish, Dutch, Icelandic, Polish and Italian sentences are still told (60 loses one)."""
OTHER_WORDS = 3
"""Fewer words than this are no evidence of another language ("MEEEEERRR 🎉" is not Luxembourgish)."""
OTHER_UNKNOWN = 0.15
"""Only a text with more than this share of words that no word list of ours (sv, da, no, en) has
is checked against the other languages: the check costs a fifth of a text's time, and the eight
foreign test languages' sentences have 17–100% such words."""
NYNORSK_PRIOR = math.log(1 / 50)
"""Added to py3langid's prior for Nynorsk, which it weighs as a language of its own like any other.
Nynorsk is about a tenth of written Norwegian and less online, and on short texts its n-gram class
won by noise: Swedish tweets of a hashtag and emoji were read as Norwegian. Chosen on the four
evaluation sets (language ID 0.958 → 0.962; ln(1/20) gave 0.961); Nynorsk sentences are still
told as Norwegian (tests/test_language.py)."""
_LOG2 = math.log(2)
_LN10 = math.log(10)
_WORDS = re.compile(r"[^\W\d_]+")
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+")


def normalise(lang: str | None) -> str | None:
    """ISO 639-1 as listener reports it: Norwegian as ``no``, with ``nb``/``nn`` accepted."""
    if lang is None:
        return None
    lang = lang.strip().lower()
    return ALIASES.get(lang, lang)


def detect(text: str, default: str | None = None) -> str:
    """The text's language; ``default`` (e.g. the source's language) when the text has too few
    words to tell, such as a row of emoji or a hashtag."""
    if default and _letters(text) < MIN_EVIDENCE:
        return default
    return _model().classify(text[:SAMPLE])


@dataclass(frozen=True, eq=False)
class _Model:
    ptc: np.ndarray
    pc: list[float]
    classes: list[str]
    nextmove: Sequence[int]
    rowbase: array
    out: array
    words: frequencies.Table
    word_weights: np.ndarray
    """Each word's weighted log-frequency per model class, in the order of ``words``."""
    unseen: list[float]
    all_ptc: np.ndarray
    all_scale: np.ndarray
    all_pc: np.ndarray
    all_classes: list[str]
    own_columns: list[int]
    """Where sv, da, no, nn and en are among all_classes."""

    def classify(self, text: str) -> str:
        if text.isupper():
            text = text.lower()
        tokens = [self.token_scores(token) for token in unicodedata.normalize("NFC", text).split()]
        rows, found, in_token, unseen = zip(*tokens) if tokens else ((), (), (), ())
        total = [sum(column) for column in zip(self.pc, *rows, strict=True)]
        best = self.classes[total.index(max(total))]
        words = sum(in_token)
        if words >= OTHER_WORDS and sum(unseen) > OTHER_UNKNOWN * words and _letters(text) >= MIN_EVIDENCE:
            return self.other_language([feature for features in found for feature in features]) or best
        return best

    def other_language(self, features: list[int]) -> str | None:
        """The language of all py3langid knows that the n-grams favour, if it is none of ours
        and wins by OTHER_MARGIN (in nats) over the best of ours."""
        counts = self.all_ptc[features].sum(axis=0, dtype=np.int32)
        scores = self.all_pc + counts * self.all_scale
        top = int(scores.argmax())
        code = self.all_classes[top]
        if code in SUPPORTED or scores[top] - scores[self.own_columns].max() < OTHER_MARGIN:
            return None
        return code

    @functools.lru_cache(maxsize=100_000)  # noqa: B019 - one model per process, kept for its life
    def token_scores(self, token: str) -> tuple[list[float], tuple[int, ...], int, int]:
        """The log-likelihoods of one whitespace-separated token: its byte n-grams with the spaces
        around it (each weighted log(1 + 1), as py3langid weighs a feature seen once), plus the
        frequencies of the words in it; the n-gram features found; how many words it holds and
        how many of them no word list of ours has. A URL or @handle counts only by its n-grams,
        and is no evidence of another language."""
        scores, features = self.ngram_scores(token)
        if _NOISE.match(token):
            return scores, (), 0, 0
        words = _WORDS.findall(token.lower())
        unknown = 0
        for word in words:
            row = self.words.row(word)
            if row is None:
                unknown += 1
            weights = self.unseen if row is None else self.word_weights[row].tolist()
            scores = [a + b for a, b in zip(scores, weights, strict=True)]
        return scores, features, len(words), unknown

    def ngram_scores(self, token: str) -> tuple[list[float], tuple[int, ...]]:
        state = 0
        scores = [0.0] * len(self.classes)
        features = []
        nextmove, rowbase, out, ptc = self.nextmove, self.rowbase, self.out, self.ptc
        for byte in f" {token} ".encode("utf-8", errors="surrogatepass"):
            state = nextmove[rowbase[state] + byte]
            feature = out[state]
            if feature >= 0:
                features.append(feature)
        if features:
            scores = (ptc[features].sum(axis=0, dtype=np.float64) * _LOG2).tolist()
        return scores, tuple(features)


def _letters(text: str) -> int:
    return sum(map(len, _WORDS.findall(_NOISE.sub(" ", text))))


@functools.cache
def _model() -> _Model:
    blob = files("listener.classify").joinpath("langid.npz").read_bytes()
    with np.load(io.BytesIO(blob)) as data:
        raw_classes = data["classes"].tolist()
        classes = [normalise(c) for c in raw_classes]
        prior = [p + (NYNORSK_PRIOR if c == "nn" else 0.0)
                 for c, p in zip(raw_classes, data["pc"].tolist(), strict=True)]
        all_classes = [normalise(c) for c in data["all_classes"].tolist()]
        nextmove, all_ptc = _shared_tables(data, hashlib.sha256(blob).hexdigest()[:16])
        return _Model(
            ptc=data["ptc"],
            pc=prior,
            classes=classes,
            nextmove=nextmove,
            rowbase=array("I", (data["nextmove_row"].astype(np.uint32) << 8).tobytes()),
            out=array("i", data["out_feat"].astype(np.int32).tobytes()),
            words=frequencies.table(),
            word_weights=_word_weights(classes),
            unseen=[_weighted(UNSEEN)] * len(classes),
            all_ptc=all_ptc,
            all_scale=data["all_scale"].astype(np.float64),
            all_pc=data["all_pc"].astype(np.float64),
            all_classes=all_classes,
            own_columns=[i for i, c in enumerate(all_classes) if c in SUPPORTED],
        )


def cache_dir() -> Path:
    """Where the unpacked tables live: $LISTENER_CACHE_DIR, systemd's $CACHE_DIRECTORY, or
    $XDG_CACHE_HOME/listener (~/.cache/listener)."""
    for variable in ("LISTENER_CACHE_DIR", "CACHE_DIRECTORY"):
        if os.environ.get(variable):
            return Path(os.environ[variable].split(":")[0])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "listener"


def _shared_tables(data, version: str) -> tuple[Sequence[int], np.ndarray]:
    """The DFA's transitions (40 MB) and the all-language weights (12 MB), memory-mapped from
    uncompressed copies in the cache directory, written once per model version: every process
    maps the same pages, and only the pages a text touches are read. Where the cache directory
    cannot be written, they are held in memory instead."""
    try:
        folder = cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        paths = {name: folder / f"langid-{version}-{name}.npy" for name in ("nextmove", "all_ptc")}
        for name, path in paths.items():
            if not path.exists():
                partial = path.with_suffix(f".{os.getpid()}.tmp")
                with partial.open("wb") as f:
                    np.save(f, np.ascontiguousarray(data[name]))
                os.replace(partial, path)
        with paths["nextmove"].open("rb") as f:
            np.lib.format.read_magic(f)
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
            offset = f.tell()
            mapped = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        if dtype != np.uint32:
            raise OSError(f"unexpected {dtype}")
        nextmove = memoryview(mapped)[offset : offset + 4 * math.prod(shape)].cast("I")
        all_ptc = np.load(paths["all_ptc"], mmap_mode="r")
        for region in (mapped, all_ptc._mmap):
            region.madvise(mmap.MADV_RANDOM)  # a text touches scattered rows: read no pages around them
        return nextmove, all_ptc
    except (OSError, ValueError) as exc:
        get_logger().debug("langid.cache_unavailable", error=str(exc))
        rows = data["nextmove"]
        nextmove = array("I")
        nextmove.frombytes(rows.astype(np.uint32).tobytes())
        return nextmove, data["all_ptc"]


def _weighted(centibels: int) -> float:
    return WORD_WEIGHT * centibels / 100 * _LN10


def _word_weights(classes: list[str]) -> np.ndarray:
    """Each word's weighted log-frequency per model class (Nynorsk reads Norwegian's column)."""
    centibels = frequencies.table().centibels[:, [frequencies.LANGS.index(lang) for lang in classes]]
    return np.where(centibels == frequencies.MISSING, UNSEEN, centibels) * (WORD_WEIGHT / 100 * _LN10)
