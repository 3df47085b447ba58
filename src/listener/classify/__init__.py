"""Language and praise / criticism / neutral for Swedish, Danish, Norwegian and English.

Deterministic and offline: lexicons shipped as package data, a few rules of grammar per language,
and py3langid's bundled model for texts whose function words do not tell the language.
"""

from __future__ import annotations

from dataclasses import dataclass

from listener.classify import language
from listener.classify.sentiment import score_text
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


def classify(text: str, lang: str | None = None, default_lang: str | None = None) -> Classification:
    """``lang`` when the caller knows it; else detected, with ``default_lang`` for texts too short
    to tell."""
    lang = language.normalise(lang) or language.detect(text, language.normalise(default_lang))
    scored = score_text(text, lang)
    return Classification(lang, label_for(scored.score, lang), round(scored.score, 4), scored.question)


def label_for(score: float, lang: str) -> Label:
    praise, criticism = THRESHOLDS.get(lang, DEFAULT_THRESHOLDS)
    if score >= praise:
        return Label.PRAISE
    if score <= -criticism:
        return Label.CRITICISM
    return Label.NEUTRAL
