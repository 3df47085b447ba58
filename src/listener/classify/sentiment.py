"""Praise, criticism or neutral, from a lexicon and a few rules of grammar (after VADER).

Each sentence gets a compound score in [-1, 1]: the valences of its words, pushed up or down by
intensifiers, flipped by negators (in Swedish, Danish and Norwegian also one that follows the
word: "jag gillar inte"), weighted after a "but", plus emoji, emoticons and exclamation marks.

Long texts are scored per sentence and then aggregated so that one sharp complaint in a long,
otherwise neutral blog post is not averaged into silence:
- neutral sentences (|compound| < 0.05) do not dilute the score: it is the mean of the others;
- if the sharpest sentence is a complaint (≤ -0.5) and no sentence praises as strongly, the text
  is criticism, whatever the mean. Comms teams would rather see one too many complaints.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from typing import NamedTuple

from listener.classify import frequencies, lexicon, rules

SHARP = 0.5
NEUTRAL_BAND = 0.05
_NEGATION_SCALAR = -0.74
_BOOST = 0.293
_CAPS = 0.733
_EXCLAIM = 0.292
EVERYDAY = 2000
"""A language's most frequent words count only as the lexicon has them: an everyday word's
meaning is not its parts' ("uppgifter" is not poison, "følgende" holds no ghost)."""
_REPROACH = -1.5
_EXCESS = -1.2

_MODIFIERS = re.compile("[\U0001F3FB-\U0001F3FF\uFE0F\u200D]")
_STRETCHED = re.compile(r"(\w)\1{2,}")
_LETTER = re.compile(r"[^\W\d_]")
_SENTENCES = re.compile(r"(?<=[.!?…])\s+|\n+")


_LINK_OR_HANDLE = r"(?:https?://|www\.|@)\S+"
_TOKENS = (
    _LINK_OR_HANDLE  # tokens of their own, so that they are skipped whole
    + r"|[^\W\d_]+(?:['’\-][^\W\d_]+)*"  # words, with inner apostrophes and hyphens
    r"|[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B50\u2764][\U0001F3FB-\U0001F3FF\uFE0F\u200D\u2640\u2642]*"
    r"|[!?]"
)
_SKIP = re.compile(_LINK_OR_HANDLE)
_EMOTICON_HINT = re.compile(r"[:;=(<]")
_CLAUSE_END = re.compile(r"[,;:.!?]")


@functools.cache
def _tokenizers() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Words, emoji and marks; and the same with emoticons, for the texts that may hold one."""
    emoticons = sorted((e for e in lexicon.symbols() if not e[0].isalnum() and len(e) > 1), key=len, reverse=True)
    alternatives = "|".join(re.escape(e) for e in emoticons)
    return re.compile(_TOKENS), re.compile(rf"(?:(?<=\s)|^)(?:{alternatives})(?=\s|$)|{_TOKENS}")


def _tokenize(sentence: str) -> list[str]:
    plain, with_emoticons = _tokenizers()
    return (with_emoticons if _EMOTICON_HINT.search(sentence) else plain).findall(sentence)


def _clauses(sentence: str) -> list[int]:
    """Each token's clause number: clauses end at , ; : . ! and ?, which the tokens drop (but for
    ! and ?). Only a sentence with a negator near a scored word needs them."""
    plain, with_emoticons = _tokenizers()
    numbers, clause, end = [], 0, 0
    for match in (with_emoticons if _EMOTICON_HINT.search(sentence) else plain).finditer(sentence):
        if _CLAUSE_END.search(sentence, end, match.start()):
            clause += 1
        numbers.append(clause)
        end = match.end()
        if match.group() in ("!", "?"):
            clause += 1
    return numbers


@dataclass(frozen=True, slots=True)
class Scored:
    score: float
    question: bool
    negated: bool = False
    """A negator occurred next to a word with a valence."""
    complaint_rule: bool = False
    """A rule that needs no sentiment word fired: a why-question with a negation, a "too much" phrase."""
    deciding: int | None = None
    """In a text of several sentences, the one that pulled hardest the way the text went."""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One word, symbol or rule that moved a sentence's score, and why by how much."""

    sentence: int
    token: str
    valence: float
    """The lexicon's (or the rule's) value before the modifiers."""
    value: float
    """What it added to the sentence: after intensifiers, negation, capitals and "but"."""
    modifiers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Sentence:
    compound: float
    question: bool
    negated: bool
    complaint_rule: bool


def score_text(text: str, lang: str, trace: list[Evidence] | None = None) -> Scored:
    """The text's score; with ``trace``, every word and rule that counted is appended to it."""
    parts = sentences(text)
    if not parts:
        return Scored(0.0, False)
    scored = [_sentence(s, lang, None if trace is None else (trace, i)) for i, s in enumerate(parts)]
    question = any(s.question for s in scored)
    negated = any(s.negated for s in scored)
    rule = any(s.complaint_rule for s in scored)
    compounds = [s.compound for s in scored]
    if len(compounds) == 1:
        return Scored(compounds[0], question, negated, rule)
    opinions = [c for c in compounds if abs(c) >= NEUTRAL_BAND]
    if not opinions:
        return Scored(0.0, question, negated, rule)
    mean = sum(opinions) / len(opinions)
    sharpest_complaint, strongest_praise = min(opinions), max(opinions)
    if sharpest_complaint <= -SHARP and strongest_praise < -sharpest_complaint:
        mean = min(mean, sharpest_complaint)
    sign = 1 if mean > 0 else -1
    deciding = max(range(len(compounds)), key=lambda i: sign * compounds[i]) if mean else None
    return Scored(mean, question, negated, rule, deciding)


def sentences(text: str) -> list[str]:
    """The sentences score_text scores, in the order its trace numbers them. An emoticon typed
    after a full stop or "!" ("TTYL! :)") belongs to the sentence before it: it says how that
    sentence is meant. Emoji were tried too; they lift English as much but cost Swedish 0.011,
    whose tweets carry emoji after almost every sentence."""
    out: list[str] = []
    for piece in _SENTENCES.split(text):
        if not piece.strip():
            continue
        if out and piece.isascii() and not _LETTER.search(piece):
            out[-1] = f"{out[-1]} {piece}"
        else:
            out.append(piece)
    return out


@dataclass(frozen=True, slots=True)
class _Grammar:
    negators: frozenset[str]
    boosters: frozenset[str]
    dampeners: frozenset[str]
    contrast: frozenset[str]
    why: frozenset[str]
    excess: frozenset[tuple[str, ...]]
    excess_starts: frozenset[str]
    """The first words of the excess phrases: most sentences hold none, and need no phrase check."""
    lookahead: bool
    """Swedish, Danish and Norwegian put the negator after the verb: "jag gillar inte"."""


@functools.cache
def _grammar(lang: str) -> _Grammar:
    return _Grammar(
        rules.NEGATORS.get(lang, frozenset()),
        rules.BOOSTERS.get(lang, frozenset()),
        rules.DAMPENERS.get(lang, frozenset()),
        rules.CONTRAST.get(lang, frozenset()),
        rules.WHY.get(lang, frozenset()),
        rules.EXCESS.get(lang, frozenset()),
        frozenset(phrase[0] for phrase in rules.EXCESS.get(lang, ())),
        lang in ("sv", "da", "no"),
    )


class _Token(NamedTuple):
    """What one token is in a language, whatever sentence it stands in. Looked up once per token
    and cached (words repeat across texts), so a sentence's loop only weighs its context. The
    cache holds the 20,000 tokens last used (about 300 bytes each): the common words of any
    language, without letting a stream of unique tokens grow a worker by more than a few MB."""

    word: str
    """Lowercased."""
    kind: int
    """_CONTRAST, _IGNORED (a link, a negator, a symbol without valence), _SYMBOL or _WORD."""
    symbol: float = 0.0
    """A symbol's (emoji, emoticon) valence."""
    capitalised: bool = False
    """Looks like a name inside a sentence: counts only as the lexicon has it (``as_name``)."""
    as_name: float = 0.0
    value: float = 0.0
    """A word's valence, through inflections and compounds (``_valence``)."""
    booster: bool = False
    upper: bool = False
    """All capitals, longer than one letter."""


_CONTRAST, _IGNORED, _SYMBOL, _WORD = range(4)


@functools.lru_cache(maxsize=20_000)
def _token(token: str, lang: str) -> _Token:
    word = token.lower()
    g = _grammar(lang)
    if word in g.contrast:
        return _Token(word, _CONTRAST)
    if token[0] in "hw@" and _SKIP.match(token):
        return _Token(word, _IGNORED)
    letters = word[0].isalpha()
    symbol = lexicon.symbols().get(token if letters else _MODIFIERS.sub("", token))  # "xD" starts with a letter
    if symbol is not None:
        return _Token(word, _SYMBOL, symbol)
    if not letters or lang not in lexicon.LANGS or word in g.negators:
        return _Token(word, _IGNORED)  # "no" negates; its own lexicon valence would count the negation twice
    capitalised = _is_name(token)
    return _Token(word, _WORD, 0.0, capitalised, lexicon.words(lang).get(word, 0.0) if capitalised else 0.0,
                  _valence(word, lang), word in g.boosters, len(token) > 1 and token.isupper())


def _sentence(sentence: str, lang: str, trace: tuple[list[Evidence], int] | None = None) -> _Sentence:
    tokens = _tokenize(sentence)
    facts = [_token(t, lang) for t in tokens]
    words = [f.word for f in facts]
    g = _grammar(lang)
    # Most sentences hold no intensifier or negator: then no word needs its neighbours read.
    modified = not (g.boosters.isdisjoint(words) and g.dampeners.isdisjoint(words))
    negatable = not g.negators.isdisjoint(words)
    shouting: bool | None = None
    negated = False
    clauses: list[int] | None = None

    valences: list[float] = []
    tracing = trace is not None
    evidence: list[tuple[str, float, list[str]]] = []
    pivot = -1
    for i, fact in enumerate(facts):
        kind = fact.kind
        if kind == _WORD:
            named = fact.capitalised and i > 0 and tokens[i - 1][0].isalpha()
            value = fact.as_name if named else fact.value
            if not value or (fact.booster and i + 1 < len(words) and _valence(words[i + 1], lang)):
                continue  # "skit snyggt", "sjukt bra": an intensifier before a word of sentiment has none of its own
        elif kind == _SYMBOL:
            valences.append(fact.symbol)
            if tracing:
                evidence.append((tokens[i], fact.symbol, []))
            continue
        elif kind == _CONTRAST:
            pivot = len(valences)
            continue
        else:
            continue
        base, notes = value, []
        if fact.upper or modified or negatable:
            sign = 1.0 if value > 0 else -1.0
            if fact.upper:
                if shouting is None:
                    shouting = sum(t.isupper() for t in tokens if len(t) > 1) > 0.8 * len(tokens)
                if not shouting:
                    value += sign * _CAPS
                    notes.append("capitals")
            for distance, factor in ((1, 1.0), (2, 0.95), (3, 0.9)) if modified else ():
                if i < distance:
                    break
                before = words[i - distance]
                if before in g.boosters:
                    value += sign * _BOOST * factor
                    notes.append(f"intensified by {before}")
                elif before in g.dampeners:
                    value -= sign * _BOOST * factor
                    notes.append(f"softened by {before}")
            start = i - 3 if i > 3 else 0
            near = words[start : i + 2 if g.lookahead else i] if negatable else ()
            if not g.negators.isdisjoint(near):
                if clauses is None:
                    clauses = _clauses(sentence)
                negator = next((w for j, w in enumerate(near, start) if w in g.negators and clauses[j] == clauses[i]), None)
                if negator is not None:
                    value *= _NEGATION_SCALAR
                    negated = True
                    notes.append("negated by " + negator)
        valences.append(value)
        if tracing:
            evidence.append((tokens[i], base, notes))

    complaint_rule = False
    if _reproach(words, g):
        complaint_rule = True
        valences.append(_REPROACH)
        if tracing:
            evidence.append(("why-question with a negation", _REPROACH, []))
    if not g.excess_starts.isdisjoint(words) and any(
        tuple(words[i : i + len(phrase)]) == phrase
        for i, word in enumerate(words) if word in g.excess_starts
        for phrase in g.excess if phrase[0] == word
    ):
        complaint_rule = True
        valences.append(_EXCESS)
        if tracing:
            evidence.append(('"too much" phrase', _EXCESS, []))
    if pivot >= 0:
        valences = [v * 0.5 for v in valences[:pivot]] + [v * 1.5 for v in valences[pivot:]]
        for j in range(len(evidence)):  # empty unless tracing
            evidence[j][2].append("before a contrast" if j < pivot else "after a contrast")
    total = sum(valences)
    if total:
        total += math.copysign(min(sentence.count("!"), 4) * _EXCLAIM, total)
    compound = total / math.sqrt(total * total + 15) if total else 0.0
    if tracing:
        out, number = trace
        out.extend(Evidence(number, token, round(base, 3), round(value, 3), tuple(notes))
                   for (token, base, notes), value in zip(evidence, valences, strict=True))
    return _Sentence(compound, _is_question(sentence, words, lang), negated, complaint_rule)


def _reproach(words: list[str], g: _Grammar) -> bool:
    """ "Why haven't you answered?", "Hvorfor svarer I ikke?": a why-question with a negation in
    it complains, though none of its words does."""
    return bool(words) and words[0] in g.why and not g.negators.isdisjoint(words)


def _is_name(token: str) -> bool:
    """A capitalised word inside a sentence is most often a name ("Brandt", "Forenede
    Kongerige"), so it counts only if the lexicon has it as it is, never through a stem."""
    return token[0].isupper() and not token.isupper()


def _is_question(text: str, words: list[str], lang: str) -> bool:
    if "?" in words:
        return True
    starts = rules.QUESTION_STARTS.get(lang, frozenset())
    return bool(words) and words[0] in starts and not text.rstrip().endswith((".", "!"))


@functools.lru_cache(maxsize=200_000)
def _valence(word: str, lang: str) -> float:
    """A word's valence, also for inflected forms and compounds the lexicon lacks."""
    lex = lexicon.words(lang)
    value = lex.get(word)
    if value is not None:
        return value
    if word in frequencies.common(lang, EVERYDAY):
        return 0.0
    value = _inflected(word, lex, lang)
    if value is not None:
        return value
    if _STRETCHED.search(word):  # "sooo goood", "grymmmt": the stretch is emphasis
        for squeezed in (_STRETCHED.sub(r"\1\1", word), _STRETCHED.sub(r"\1", word)):
            value = _valence(squeezed, lang)
            if value:
                return value + math.copysign(_BOOST, value)
        return 0.0
    for prefix in rules.INTENSIFYING_PREFIXES[lang]:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            rest = _valence(word[len(prefix):], lang)
            if rest:
                return rest + math.copysign(_BOOST * 2, rest)
    for prefix in rules.NEGATING_PREFIXES[lang]:
        if word.startswith(prefix) and len(word) - len(prefix) >= 4:
            rest = _inflected(word[len(prefix):], lex, lang)
            if rest:
                return -rest
    if lang != "en" and len(word) >= 8:
        for cut in range(3, len(word) - 3):
            head = lex.get(word[cut:])
            if head is not None and len(word) - cut >= 5:
                return head
    if lang != "en" and len(word) >= 4:
        return lexicon.loanwords().get(word, 0.0)
    return 0.0


def _inflected(word: str, lex: dict[str, float], lang: str) -> float | None:
    """The word as the lexicon has it, or with an inflectional ending taken off."""
    value = lex.get(word)
    if value is not None:
        return value
    for suffix in rules.SUFFIXES[lang]:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            value = lex.get(word[: -len(suffix)])
            if value is not None:
                return value
    return None
