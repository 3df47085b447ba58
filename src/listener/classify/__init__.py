"""Language and praise / criticism / neutral for Swedish, Danish, Norwegian and English.

Deterministic and offline: lexicons shipped as package data, a few rules of grammar per language,
and py3langid's bundled model for texts whose function words do not tell the language.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from listener.classify import language, lexicon
from listener.classify.learned import LearnedModel, LexiconView
from listener.classify.sentiment import Scored, score_text
from listener.domain import Label

THRESHOLDS = {"en": (0.40, 0.10), "sv": (0.50, 0.20), "da": (0.25, 0.15), "no": (0.25, 0.15)}
"""(praise, criticism): the score at or above which a text is praise, and the |score| at or above
which a negative one is criticism. Chosen on the first half of the evaluation items that carry no
non-commercial licence (en: the VADER tweets; da: the LCC and Europarl sentences; sv: the Swedish
tweets), among bars low enough that a lone word of thanks or praise ("Nice", "Bra jobbat") still
counts as praise; Norwegian, whose only evaluation set is non-commercial, takes Danish's, the
closest lexicon. The bar for criticism is lower everywhere: complaints are worded more mildly
than praise, and a missed one costs more."""
DEFAULT_THRESHOLDS = (0.30, 0.30)


@dataclass(frozen=True, slots=True)
class Classification:
    lang: str
    label: Label
    score: float
    question: bool


def classify(text: str, lang: str | None = None, default_lang: str | None = None,
             model: LearnedModel | None = None) -> Classification:
    """``lang`` when the caller knows it; else detected, with ``default_lang`` for texts too short
    to tell. ``model``, the installation's learned model, decides for the languages it has labels
    in. A language with neither a lexicon nor labels is neutral with score 0: it cannot be read."""
    lang = language.normalise(lang) or language.detect(text, language.normalise(default_lang))
    learned = model is not None and model.knows(lang)
    if lang not in lexicon.LANGS and not learned:
        return Classification(lang, Label.NEUTRAL, 0.0, "?" in text)
    scored = score_text(text, lang) if lang in lexicon.LANGS else Scored(0.0, "?" in text)
    label = label_for(scored.score, lang)
    if learned:
        prediction = model.predict(text, lang, view(scored, label))
        return Classification(lang, prediction.label, prediction.score, scored.question)
    return Classification(lang, label, round(scored.score, 4), scored.question)


def view(scored: Scored, label: Label) -> LexiconView:
    """The lexicon's verdict as the learned model reads it."""
    return LexiconView(label, scored.score, scored.question, scored.negated, scored.complaint_rule)


def label_for(score: float, lang: str) -> Label:
    praise, criticism = THRESHOLDS.get(lang, DEFAULT_THRESHOLDS)
    if score >= praise:
        return Label.PRAISE
    if score <= -criticism:
        return Label.CRITICISM
    return Label.NEUTRAL


def lexicon_view(text: str, lang: str) -> LexiconView:
    """What the lexicon alone says about a text in a known language."""
    scored = score_text(text, lang) if lang in lexicon.LANGS else Scored(0.0, "?" in text)
    return view(scored, label_for(scored.score, lang))


def learn(examples: Iterable[tuple[str, str | None, Label]]) -> LearnedModel:
    """Train the installation's model from (text, lang, label) triples; a missing lang is detected."""
    from listener.classify import learned

    prepared = []
    for text, lang, label in examples:
        lang = language.normalise(lang) or language.detect(text)
        prepared.append(learned.Example(text, lang, Label(label), lexicon_view(text, lang)))
    return learned.train(prepared)
