"""The valence lexicons shipped as package data, loaded once per process.

Danish is DDS (the Danish Sentiment Lexicon) under AFINN and listener's own words: where they
disagree, the later file wins, so DDS adds the words the others lack.

Each language's lexicon is its base file plus listener's own additions, and then the other
Scandinavian lexicons through the regular spelling changes between them (``dejlig`` → ``deilig``,
``kärlek``/``kærlighed`` …): the three languages share much of their evaluative vocabulary, and no
Norwegian lexicon with a redistributable licence exists. Sources and licences: NOTICE and lexicons/*.tsv.
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files

from listener.classify import frequencies

LANGS = ("en", "sv", "da", "no")
_FILES = {
    "en": ("en.tsv", "en_extra.tsv"),
    "sv": ("sv.tsv", "sv_extra.tsv"),
    "da": ("da_dds.tsv", "da.tsv", "da_extra.tsv"),
    "no": ("no.tsv",),
}
_Rule = tuple[re.Pattern[str], str]


def _rules(*pairs: tuple[str, str]) -> tuple[_Rule, ...]:
    return tuple((re.compile(pattern), repl) for pattern, repl in pairs)


_SPELLING: dict[tuple[str, str], tuple[_Rule, ...]] = {
    ("da", "no"): _rules(("hed(?=(en|er|erne)?$)", "het"), ("tion(?=(en|er|erne)?$)", "sjon"), ("erne$", "ene"),
                         ("ej", "ei"), ("øj", "øy"), ("^af", "av"), ("^ked", "kjed"), ("^kær", "kjær"),
                         ("^sk(?=[æøy])", "skj")),
    ("no", "da"): _rules(("het(?=(en|er|ene)?$)", "hed"), ("sjon(?=(en|er|ene)?$)", "tion"), ("ei", "ej"),
                         ("øy", "øj"), ("^av", "af"), ("^kj", "k"), ("^skj", "sk")),
    ("sv", "da"): _rules(("ä", "æ"), ("ö", "ø"), ("ck", "kk"), ("het(?=(en|er)?$)", "hed")),
    ("sv", "no"): _rules(("ä", "e"), ("ö", "ø"), ("ck", "kk"), ("tion(?=(en|er)?$)", "sjon")),
    ("da", "sv"): _rules(("æ", "ä"), ("ø", "ö"), ("hed(?=(en|er)?$)", "het")),
    ("no", "sv"): _rules(("ø", "ö"), ("æ", "ä"), ("sjon(?=(en|er)?$)", "tion")),
}
"""Regular spelling differences between the written Scandinavian languages, for borrowing words."""

NORDIC = ("sv", "da", "no")
EVERYDAY = 2000
"""A language's most frequent words: never borrowed, and never guessed from their parts."""
BORROW = {"da": ("no",), "no": ("da",), "sv": ()}


def _read(name: str, fold_case: bool = True) -> dict[str, float]:
    text = files("listener.classify").joinpath("lexicons", name).read_text(encoding="utf-8")
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        word, _, value = line.rpartition("\t")
        out[word.lower() if fold_case else word] = float(value)
    return out


def respell(word: str, source: str, target: str) -> str:
    for pattern, repl in _SPELLING[(source, target)]:
        word = pattern.sub(repl, word)
    return word


@functools.cache
def own_words(lang: str) -> dict[str, float]:
    lexicon: dict[str, float] = {}
    for name in _FILES[lang]:
        lexicon.update(_read(name))
    return lexicon


@functools.cache
def words(lang: str) -> dict[str, float]:
    """A language's own lexicon, then the other Scandinavian lexicons respelled, for the many
    words the three share (Norwegian first for Danish and the other way round: they are closest).
    A borrowed word is never one of the language's own everyday words: Danish "av" (ouch) is
    Norwegian "of"."""
    lexicon = dict(own_words(lang))
    if lang in NORDIC:
        everyday = frequencies.common(lang, EVERYDAY) if lang == "no" else frozenset()
        for source in BORROW.get(lang, ()):
            for word, value in own_words(source).items():
                borrowed = respell(word, source, lang)
                if borrowed not in everyday:
                    lexicon.setdefault(borrowed, value)
    return lexicon


@functools.cache
def symbols() -> dict[str, float]:
    """Emoji and emoticons, which mean the same in every language. Emoticons keep their case:
    ":D" laughs, ":d" is nothing; those spelled in letters only ("XOXO") also count in lower case."""
    emoticons = _read("emoticons.tsv", fold_case=False)
    letters = {e.lower(): v for e, v in emoticons.items() if e.isalpha()}
    return {**letters, **emoticons, **_read("emoji.tsv")}


@functools.cache
def loanwords() -> dict[str, float]:
    """English words Scandinavians write as they are ("nice", "fail", "love"), minus those that
    are also everyday Scandinavian words with another meaning ("bad" is a bath, "gift" married)."""
    false_friends = frozenset(_read_words("false_friends.txt"))
    return {w: v for w, v in own_words("en").items() if w.isalpha() and w not in false_friends}


def _read_words(name: str) -> list[str]:
    text = files("listener.classify").joinpath("lexicons", name).read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
