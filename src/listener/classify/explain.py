"""Why a text got its label: what a comms person can check before she trusts it.

``explain`` runs the same classifier as ``classify`` and returns what decided: the lexicon's words
and rules with the value each added (after intensifiers, negation, capitals and "but"), the
sentence that decided a long text, and, when the learned model decided, its inputs that pushed
hardest. The web inbox shows it; `listener classify --explain` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from listener.classify import classify, label_for, lexicon, view
from listener.classify.learned import Feature, LearnedModel
from listener.classify.sentiment import Evidence, Scored, score_text, sentences
from listener.domain import Label
from listener.text import one_line

TOP_FEATURES = 8


@dataclass(frozen=True, slots=True)
class Explanation:
    lang: str
    label: Label
    score: float
    readable: bool
    """False for a language with neither a lexicon nor labels: it is neutral because unread."""
    lexicon_label: Label
    lexicon_score: float
    evidence: tuple[Evidence, ...]
    """The words, symbols and rules that carried a valence, in text order."""
    deciding_sentence: str | None
    """In a text of several sentences, the one that pulled hardest the way the text went (the
    sharpest complaint, when one outweighs everything else)."""
    learned: tuple[Feature, ...]
    """The learned model's inputs that moved this text's label most (empty when it did not decide)."""
    decided_by: str
    """"lexicon", "learned model" or "unread language"."""


def explain(text: str, lang: str | None = None, default_lang: str | None = None,
            model: LearnedModel | None = None) -> Explanation:
    result = classify(text, lang, default_lang, model)
    lang = result.lang
    learned = model is not None and model.knows(lang)
    if lang not in lexicon.LANGS and not learned:
        return Explanation(lang, result.label, result.score, False, Label.NEUTRAL, 0.0, (), None, (), "unread language")
    trace: list[Evidence] = []
    scored = score_text(text, lang, trace) if lang in lexicon.LANGS else None
    lexicon_score = scored.score if scored else 0.0
    lexicon_label = label_for(lexicon_score, lang) if scored else Label.NEUTRAL
    deciding = None
    if scored is not None and scored.deciding is not None:
        deciding = sentences(text)[scored.deciding]
    features: tuple[Feature, ...] = ()
    if learned:
        seen = view(scored or Scored(0.0, "?" in text), lexicon_label)
        features = tuple(model.strongest(text, lang, seen, TOP_FEATURES))
    return Explanation(lang, result.label, result.score, True, lexicon_label, round(lexicon_score, 4),
                       tuple(trace), deciding, features, "learned model" if learned else "lexicon")


def render(e: Explanation) -> list[str]:
    """Lines for a terminal; the text's own words are shown on one line each, controls stripped."""
    if not e.readable:
        return [f"{e.lang}: no lexicon and no labels in this language, so it is not read (neutral)"]
    lines = [f"decided by the {e.decided_by}; lexicon: {e.lexicon_label.value} {e.lexicon_score:+.3f}"]
    for item in e.evidence:
        how = f" ({', '.join(item.modifiers)})" if item.modifiers else ""
        lines.append(f"  {one_line(item.token)}: {item.valence:+.2f} -> {item.value:+.2f}{how}")
    if not e.evidence:
        lines.append("  no word in the lexicon")
    if e.deciding_sentence:
        lines.append(f"deciding sentence: {one_line(e.deciding_sentence)[:200]}")
    if e.learned:
        lines.append("learned model, strongest inputs (praise / criticism / neutral):")
        for feature in e.learned:
            p, c, n = feature.weights
            lines.append(f"  {one_line(feature.name)}: {p:+.2f} / {c:+.2f} / {n:+.2f}")
    return lines
