"""Language and praise / criticism / neutral for Swedish, Danish, Norwegian and English.

Deterministic and offline: lexicons shipped as package data, a few rules of grammar per language,
and py3langid's bundled model for texts whose function words do not tell the language.
"""

from __future__ import annotations

from dataclasses import dataclass

from listener.classify import language
from listener.classify.sentiment import score_text
from listener.domain import Label

THRESHOLDS = {"en": 0.30, "sv": 0.45, "da": 0.05, "no": 0.05}
"""|score| at which a text counts as praise or criticism. Chosen on the first half of the evaluation
items that carry no non-commercial licence (en: the VADER tweets; da: the LCC and Europarl
sentences; sv: the Swedish tweets); Norwegian, whose only evaluation set is non-commercial, takes
Danish's, the closest lexicon. Sparse lexicons (da, no) need a low bar, emoji-rich text a high one."""
DEFAULT_THRESHOLD = 0.30


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
    threshold = THRESHOLDS.get(lang, DEFAULT_THRESHOLD)
    if score >= threshold:
        return Label.PRAISE
    if score <= -threshold:
        return Label.CRITICISM
    return Label.NEUTRAL
