"""The per-installation model: what the team's own labels teach on top of the lexicon.

A multinomial logistic regression whose starting point is the lexicon. Its logits are

    prior · onehot(lexicon's label) + dense features · D + hashed n-grams · W

where the prior is weaker for a statement the lexicon calls neutral (PRIOR_STATEMENT) than for
its other verdicts (PRIOR), the dense features are the lexicon's own verdict (its label, score and
|score|, whether the text asks a question, whether a negation or a complaint rule fired, whether
it found no sentiment word at all in a statement) in a block per language, and
the n-grams are words, word pairs and the 3–5 letter pieces of words (so "pakken", "pakke" and
"pakkerne" share most of their features), hashed into 2^18 rows. D and W start at zero and are
pulled back towards it (L2), so a model trained on no or few labels answers as the lexicon does,
and one trained on many moves as far as the labels agree with each other. A language without a
lexicon (German, Finnish …) gets a block of its own once labels in it arrive.

How far the labels are trusted is then chosen per language by cross-validation over them (see
``train``): a language whose labels do not agree with each other keeps the lexicon's answers.

Training is full-batch Adam on the labels' sparse matrix: no randomness, so the same labels give
the same model. A model is stored as numpy arrays in one ``savez`` blob (no pickle): only the rows
of W that some label touched.
"""

from __future__ import annotations

import io
import itertools
import json
import math
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from listener.domain import Label

LABELS = (Label.PRAISE, Label.CRITICISM, Label.NEUTRAL)
_INDEX = {label: i for i, label in enumerate(LABELS)}
BITS = 18
PRIOR = 2.0
"""How strongly the lexicon's label is believed before any label is seen (a logit)."""
PRIOR_STATEMENT = 1.5
"""The same when the lexicon calls a statement (no question) neutral: mostly that means it found
little or nothing to go by, and the labels' n-grams must be free to outvote it. That is where an
organisation's own complaints are ("third week and still no parcel", "still waiting for the
refund I was promised"). A question keeps the full prior, so that a few labelled complaints do not
turn plain questions into criticism."""
L2_NGRAMS = 0.2
NGRAM_LABELS = 500
NGRAM_POWER = 0.75
L2_DENSE = 2.0
"""Penalties on the squared weights, against the summed (not averaged) loss of the labels: a few
labels move the model a little, many move it further. The n-gram penalty is L2_NGRAMS at
NGRAM_LABELS labels and scales with their number to the power NGRAM_POWER (0.024 at 30 labels,
1.9 at 10,000): a few dozen consistent labels from one organisation should teach fast, while
hundreds of mixed ones (the shared sets) need a firmer hand. Chosen with bench/learning.py's
shared sets and by cross-validation within tests/data/domain.jsonl, not on domain-heldout.jsonl:
a prior of 1.0 for neutral statements and a penalty growing with the square root found 10% more
domain complaints but cost English 0.01 on the shared sets at 500 labels."""
STEPS = 100
RATE = 0.1
"""Adam steps and step size: the loss is convex, and 100 steps at 0.1 reach what 250 at 0.05 do."""
DENSE = 9
"""Per language: bias, the lexicon's label (3), score, |score|, question, negation or complaint rule,
silence (no sentiment word in a statement)."""
SCALES = (0.0, 0.25, 0.5, 0.75, 1.0)
FOLDS = 5
CV_LABELS = 2000
"""How far the labels are trusted in each language is chosen among SCALES by FOLDS-fold
cross-validation over at most CV_LABELS of them (every k-th label), which keeps training on 10,000
labels within seconds."""
FORMAT = 3
_WORD = re.compile(r"(?:https?://|www\.)\S+|@\w+|[^\W\d_]+(?:['’][^\W\d_]+)?|\d+|[^\w\s]")
_MASK = (1 << BITS) - 1
_CACHE = 200_000


@dataclass(frozen=True, slots=True)
class LexiconView:
    """What the lexicon said about a text: the model's dense input."""

    label: Label
    score: float
    question: bool
    negated: bool
    complaint_rule: bool


def tokens(text: str) -> list[str]:
    """Lower-cased words, numbers and marks; links and @handles reduced to one token each."""
    lowered = text.lower()
    found = _WORD.findall(lowered)
    if "@" not in lowered and "http" not in lowered and "www." not in lowered:
        return found
    out = []
    for token in found:
        if token[0] == "@" and len(token) > 1:
            out.append("@user")
        elif token.startswith(("http", "www.")) and len(token) > 4:
            out.append("<link>")
        else:
            out.append(token)
    return out


def _hash(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8", "surrogatepass")) & _MASK


def word_features(word: str) -> tuple[int, ...]:
    """The word and, for words of letters, its 3–5 letter pieces with the word's edges marked."""
    out = [_hash("w " + word)]
    if word[0].isalpha():
        marked = f"<{word}>"
        for n in (3, 4, 5):
            out.extend(_hash("c " + marked[i : i + n]) for i in range(len(marked) - n + 1))
    return tuple(out)


def _pair(a: str, b: str) -> int:
    return _hash(f"b {a} {b}")


def silent(view: LexiconView) -> bool:
    return view.score == 0 and not view.question


def prior(view: LexiconView) -> float:
    return PRIOR_STATEMENT if view.label is Label.NEUTRAL and not view.question else PRIOR


def dense(view: LexiconView) -> list[float]:
    onehot = [0.0, 0.0, 0.0]
    onehot[_INDEX[view.label]] = 1.0
    return [1.0, *onehot, view.score, abs(view.score), float(view.question),
            float(view.negated or view.complaint_rule), float(silent(view))]


@dataclass(frozen=True, slots=True)
class Feature:
    """One of the model's inputs and what it added to each label's logit for a text."""

    name: str
    weights: tuple[float, float, float]
    """Added to the logits of praise, criticism and neutral."""


@dataclass(frozen=True, slots=True)
class Prediction:
    label: Label
    score: float
    """P(praise) − P(criticism)."""
    probabilities: tuple[float, float, float]


class LearnedModel:
    def __init__(self, rows: np.ndarray, ngrams: np.ndarray, dense_weights: np.ndarray, languages: Sequence[str],
                 labels: int, counts: dict[str, int], scales: dict[str, float]):
        self.rows = rows
        self.ngrams = ngrams
        self.dense_weights = dense_weights
        self.languages = tuple(languages)
        self.labels = labels
        self.counts = counts
        self.scales = scales
        """Per language, the factor on what the labels taught (0: the language is left to the lexicon)."""
        self._block = {lang: i for i, lang in enumerate(self.languages)}
        self._table = np.zeros((1 << BITS, 3), dtype=np.float32)
        self._table[rows] = ngrams
        self._units: dict[str, tuple[float, float, float, int]] = {}
        self._dense = {lang: (dense_weights[i] * self.scale(lang)).tolist() for i, lang in enumerate(self.languages)}
        bias = self._table[_hash("bias")]
        self._bias = (float(bias[0]), float(bias[1]), float(bias[2]), 1)

    def knows(self, lang: str) -> bool:
        """Whether labels in ``lang`` taught this model something it trusts."""
        return self.counts.get(lang, 0) > 0 and self.scale(lang) > 0

    def scale(self, lang: str) -> float:
        return self.scales.get(lang, 1.0)

    def predict(self, text: str, lang: str, view: LexiconView) -> Prediction:
        logits = self._logits(text, lang, view)
        top = max(logits)
        exps = [math.exp(v - top) for v in logits]
        total = sum(exps)
        probs = (exps[0] / total, exps[1] / total, exps[2] / total)
        return Prediction(LABELS[logits.index(top)], round(probs[0] - probs[1], 4), probs)

    def _logits(self, text: str, lang: str, view: LexiconView) -> list[float]:
        logits = [0.0, 0.0, 0.0]
        logits[_INDEX[view.label]] = prior(view)
        weights = self._dense.get(lang)
        if weights is not None:
            for value, (p, c, n) in zip(dense(view), weights, strict=True):
                if value:
                    logits[0] += value * p
                    logits[1] += value * c
                    logits[2] += value * n
        words = tokens(text)
        cached, unit = self._units.get, self._unit
        found = [self._bias]
        found += [cached(w) or unit(w) for w in words]
        found += [cached(p) or unit(p) for p in map(" ".join, itertools.pairwise(words))]
        a, b, c, n = map(sum, zip(*found, strict=True))
        scale = self.scale(lang) / math.sqrt(n)
        logits[0] += a * scale
        logits[1] += b * scale
        logits[2] += c * scale
        return logits

    def _unit(self, unit: str) -> tuple[float, float, float, int]:
        """A word's (or, with a space, a word pair's) summed weights and feature count, cached."""
        first, _, second = unit.partition(" ")
        features = [_pair(first, second)] if second else list(word_features(unit))
        total = self._table[features].sum(axis=0, dtype=np.float64)
        found = (float(total[0]), float(total[1]), float(total[2]), len(features))
        if len(self._units) >= _CACHE:
            self._units.clear()
        self._units[unit] = found
        return found

    def strongest(self, text: str, lang: str, view: LexiconView, top: int = 8) -> list[Feature]:
        """The inputs that moved this text's logits most, strongest first (for explanations)."""
        words = tokens(text)
        n = 1 + sum(len(word_features(w)) for w in words) + max(0, len(words) - 1)
        scale = self.scale(lang) / math.sqrt(n)
        found: dict[str, np.ndarray] = {}
        for word in words:
            found[f'word "{word}"'] = found.get(f'word "{word}"', 0) + self._table[list(word_features(word))].sum(axis=0) * scale
        for first, second in itertools.pairwise(words):
            found[f'words "{first} {second}"'] = self._table[_pair(first, second)] * scale
        block = self._block.get(lang)
        if block is not None:
            names = ("language bias", "lexicon says praise", "lexicon says criticism", "lexicon says neutral",
                     "lexicon score", "lexicon |score|", "question", "negation or complaint rule", "lexicon silent")
            for name, value, row in zip(names, dense(view), self.dense_weights[block], strict=True):
                if value:
                    found[name] = row * value * self.scale(lang)
        ranked = sorted(found.items(), key=lambda kv: -float(np.abs(kv[1]).max()))
        return [Feature(name, tuple(round(float(v), 3) for v in w)) for name, w in ranked[:top]
                if float(np.abs(w).max()) >= 0.01]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        meta = {"format": FORMAT, "bits": BITS, "prior": PRIOR, "prior_statement": PRIOR_STATEMENT,
                "labels": self.labels, "counts": self.counts, "scales": self.scales}
        np.savez_compressed(buffer, rows=self.rows.astype(np.int32), ngrams=self.ngrams.astype(np.float32),
                            dense=self.dense_weights.astype(np.float32), languages=np.array(self.languages, dtype=str),
                            meta=np.array(json.dumps(meta)))
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, blob: bytes) -> LearnedModel:
        """Raises ValueError for a blob this version cannot read (a newer format, damage)."""
        try:
            with np.load(io.BytesIO(blob), allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {name: data[name] for name in ("rows", "ngrams", "dense", "languages")}
        except (OSError, KeyError, ValueError, EOFError, zlib.error) as exc:
            raise ValueError(f"learned model unreadable: {exc}") from None
        if meta.get("format") != FORMAT or meta.get("bits") != BITS:
            older = isinstance(meta.get("format"), int) and meta["format"] < FORMAT
            raise (OutdatedModel if older else ValueError)(
                f"learned model format {meta.get('format')} is not {FORMAT}: retrain with `listener learn`")
        return cls(arrays["rows"], arrays["ngrams"], arrays["dense"], [str(x) for x in arrays["languages"]],
                   int(meta["labels"]), {str(k): int(v) for k, v in meta["counts"].items()},
                   {str(k): float(v) for k, v in meta["scales"].items()})


class OutdatedModel(ValueError):
    """A model stored by an older listener: its labels are still there, so it can be trained again."""


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    lang: str
    label: Label
    view: LexiconView


def train(examples: Sequence[Example]) -> LearnedModel:
    """Fit the model to the examples and choose, per language, how far to trust what it learnt
    (deterministic: the same examples in the same order give the same model).

    The trust is a factor on everything the labels added to the lexicon's prior, chosen among
    SCALES by cross-validation over the labels themselves (FOLDS folds of at most CV_LABELS labels):
    the one whose out-of-fold predictions have the best mean log-likelihood in that language
    (macro-F1, the figure that matters, moves by whole texts and ties or flips on a label or two
    at a few dozen labels). A factor of 0 leaves the language to the lexicon, so labels that do not
    agree with each other (a mix of sources and annotators) do not make it worse than the lexicon,
    while labels that teach something (an organisation's own complaints) are used in full."""
    weights, dense_weights, used, languages = _fit(examples)
    return _model(examples, weights, dense_weights, used, languages, _scales(examples, languages))


def _model(examples, w, d, used, languages, scales) -> LearnedModel:
    keep = np.abs(w).max(axis=1) >= 1e-4
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.lang] = counts.get(example.lang, 0) + 1
    return LearnedModel(used[keep].astype(np.int32), w[keep].astype(np.float32), d,
                        languages, len(examples), counts, scales)


def _scales(examples: Sequence[Example], languages: Sequence[str]) -> dict[str, float]:
    """Each language's factor on the learnt logits, by cross-validation (see train)."""
    step = max(1, math.ceil(len(examples) / CV_LABELS))
    sample = list(examples[::step])
    truth: dict[str, list[int]] = {lang: [] for lang in languages}
    learnt: dict[str, list[list[float]]] = {lang: [] for lang in languages}
    base: dict[str, list[list[float]]] = {lang: [] for lang in languages}
    for fold in range(FOLDS):
        held = sample[fold::FOLDS]
        rest = [e for i, e in enumerate(sample) if i % FOLDS != fold]
        if not held or not rest:
            continue
        model = _model(rest, *_fit(rest), {})
        for example in held:
            start = [0.0, 0.0, 0.0]
            start[_INDEX[example.view.label]] = prior(example.view)
            logits = model._logits(example.text, example.lang, example.view) if model.knows(example.lang) else start
            truth[example.lang].append(_INDEX[example.label])
            base[example.lang].append(start)
            learnt[example.lang].append([a - b for a, b in zip(logits, start, strict=True)])
    scales = {}
    for lang in languages:
        if not truth[lang]:
            scales[lang] = 1.0
            continue
        y = np.array(truth[lang])
        start, added = np.array(base[lang]), np.array(learnt[lang])
        scores = [_log_likelihood(y, start + scale * added) for scale in SCALES]
        scales[lang] = SCALES[scores.index(max(scores))]
    return scales


def _log_likelihood(truth: np.ndarray, logits: np.ndarray) -> float:
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(log_probs[np.arange(len(truth)), truth].mean())


def _fit(examples: Sequence[Example]):
    """The weights the examples teach: (n-gram rows, dense blocks, the hashed feature number of
    each n-gram row, languages).

    Texts share words, so the sparse matrix is factored in two: texts × units (their words and
    word pairs) and units × hashed features. Each step then touches every distinct word's pieces
    once instead of once per occurrence, which makes 10,000 labels a matter of seconds. The dense
    block is a few numbers per text in its own language's block, gathered and scattered rather
    than multiplied as a mostly-zero matrix: a BLAS product of that shape ran on every core and
    doubled the CPU time."""
    languages = sorted({e.lang for e in examples})
    block = {lang: i for i, lang in enumerate(languages)}
    unit_index: dict[str, int] = {}
    unit_features: list[tuple[int, ...]] = []

    def unit(key: str, features) -> int:
        index = unit_index.get(key)
        if index is None:
            index = unit_index[key] = len(unit_features)
            unit_features.append(features() if callable(features) else features)
        return index

    bias = unit("\0bias", (_hash("bias"),))
    a_cols: list[int] = []
    a_vals: list[float] = []
    a_starts = [0]
    for example in examples:
        words = tokens(example.text)
        units = [bias] + [unit("w" + w, lambda w=w: word_features(w)) for w in words]
        units += [unit(f"p{a} {b}", (_pair(a, b),)) for a, b in itertools.pairwise(words)]
        size = sum(len(unit_features[u]) for u in units)
        a_cols.extend(units)
        a_vals.extend([1 / math.sqrt(size)] * len(units))
        a_starts.append(len(a_cols))
    n, n_units = len(examples), len(unit_features)
    b_cols_raw = np.fromiter(itertools.chain.from_iterable(unit_features), dtype=np.int64)
    b_starts = np.cumsum([0] + [len(f) for f in unit_features])
    used, b_cols = np.unique(b_cols_raw, return_inverse=True)
    b_row = np.repeat(np.arange(n_units), np.diff(b_starts))
    a_col = np.asarray(a_cols, dtype=np.int64)
    a_val = np.asarray(a_vals)[:, None]
    a_ptr = np.asarray(a_starts, dtype=np.int64)
    a_row = np.repeat(np.arange(n), np.diff(a_ptr))
    x_dense = np.array([dense(example.view) for example in examples]).reshape(n, DENSE)
    lang_of = np.array([block[example.lang] for example in examples], dtype=np.int64)
    priors = np.zeros((n, 3))
    y = np.zeros((n, 3))
    for i, example in enumerate(examples):
        priors[i, _INDEX[example.view.label]] = prior(example.view)
        y[i, _INDEX[example.label]] = 1.0

    def scatter(index: np.ndarray, weights: np.ndarray, size: int) -> np.ndarray:
        return np.stack([np.bincount(index, weights=weights[:, k], minlength=size) for k in range(3)], axis=1)

    l2_ngrams = L2_NGRAMS * (n / NGRAM_LABELS) ** NGRAM_POWER
    w = np.zeros((len(used), 3))
    d = np.zeros((len(languages), DENSE, 3))
    params = [w, d]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    for step in range(1, STEPS + 1):
        per_unit = np.add.reduceat(w[b_cols], b_starts[:-1], axis=0)
        ngram_logits = np.add.reduceat(per_unit[a_col] * a_val, a_ptr[:-1], axis=0)
        logits = priors + np.einsum("nk,nkc->nc", x_dense, d[lang_of]) + ngram_logits
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        error = probs - y
        unit_grad = scatter(a_col, error[a_row] * a_val, n_units)
        dense_grad = np.stack([scatter(lang_of, x_dense[:, k, None] * error, len(languages)) for k in range(DENSE)],
                              axis=1)
        grads = [scatter(b_cols, unit_grad[b_row], len(used)) + 2 * l2_ngrams * w, dense_grad + 2 * L2_DENSE * d]
        for param, grad, (m, v) in zip(params, grads, moments, strict=True):
            m *= 0.9
            m += 0.1 * grad
            v *= 0.999
            v += 0.001 * grad * grad
            param -= RATE * (m / (1 - 0.9**step)) / (np.sqrt(v / (1 - 0.999**step)) + 1e-8)
    return w, d, used, languages
