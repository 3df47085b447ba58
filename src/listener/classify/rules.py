"""The grammar a lexicon scorer needs per language: negators, intensifiers, contrast, questions.

Written for listener (MIT License). Values follow VADER's: an intensifier adds or removes
~0.3 of valence, a negator flips and damps the words after it.
"""

from __future__ import annotations

NEGATORS: dict[str, frozenset[str]] = {
    "en": frozenset(["not", "no", "never", "none", "nobody", "nothing", "neither", "nor", "nowhere", "cannot", "cant", "can't", "don't", "dont", "doesn't", "doesnt", "didn't", "didnt", "isn't", "isnt", "wasn't", "wasnt", "aren't", "arent", "won't", "wont", "wouldn't", "wouldnt", "shouldn't", "shouldnt", "couldn't", "couldnt", "hasn't", "hasnt", "haven't", "havent", "ain't", "aint", "without", "lack", "lacks", "lacking"]),
    "sv": frozenset(["inte", "ej", "icke", "aldrig", "ingen", "inget", "inga", "ingenting", "varken", "utan", "knappast"]),
    "da": frozenset(["ikke", "ik", "ej", "aldrig", "ingen", "intet", "ingenting", "hverken", "uden", "næppe"]),
    "no": frozenset(["ikke", "ikkje", "ei", "aldri", "ingen", "ingenting", "intet", "verken", "uten", "utan", "knapt", "neppe"]),
}

BOOSTERS: dict[str, frozenset[str]] = {
    "en": frozenset(["very", "really", "extremely", "so", "too", "totally", "absolutely", "completely", "incredibly", "remarkably", "super", "utterly", "hugely", "highly", "most", "much", "insanely", "especially", "truly", "deeply", "fully", "seriously"]),
    "sv": frozenset(["mycket", "väldigt", "jätte", "jättemycket", "otroligt", "extremt", "helt", "riktigt", "sjukt", "grymt", "verkligen", "superbra", "så", "alldeles", "oerhört", "ytterst", "särskilt", "himla", "skit", "fan", "as", "fruktansvärt", "enormt"]),
    "da": frozenset(["meget", "vildt", "virkelig", "helt", "ekstremt", "utroligt", "super", "totalt", "særdeles", "yderst", "enormt", "så", "mega", "rigtig", "ret"]),
    "no": frozenset(["veldig", "svært", "meget", "kjempe", "utrolig", "ekstremt", "helt", "virkelig", "skikkelig", "sykt", "totalt", "særdeles", "ytterst", "enormt", "så", "mega", "riktig", "ganske"]),
}

DAMPENERS: dict[str, frozenset[str]] = {
    "en": frozenset(["slightly", "somewhat", "barely", "hardly", "kinda", "sorta", "little", "partly", "fairly"]),
    "sv": frozenset(["lite", "något", "ganska", "delvis", "nästan", "typ"]),
    "da": frozenset(["lidt", "noget", "delvis", "næsten", "nogenlunde", "temmelig"]),
    "no": frozenset(["litt", "noe", "delvis", "nesten", "nokså", "temmelig"]),
}

CONTRAST: dict[str, frozenset[str]] = {
    "en": frozenset({"but", "however", "although", "though"}),
    "sv": frozenset({"men", "dock", "fast", "ändå"}),
    "da": frozenset({"men", "dog", "alligevel"}),
    "no": frozenset({"men", "likevel", "dog", "derimot"}),
}

WHY: dict[str, frozenset[str]] = {
    "en": frozenset({"why"}),
    "sv": frozenset({"varför"}),
    "da": frozenset({"hvorfor"}),
    "no": frozenset({"hvorfor", "korfor", "kvifor"}),
}

EXCESS: dict[str, frozenset[tuple[str, ...]]] = {
    "en": frozenset({("far", "too"), ("way", "too"), ("too", "much"), ("too", "long")}),
    "sv": frozenset({("alltför",), ("alldeles", "för"), ("för", "mycket"), ("för", "länge")}),
    "da": frozenset({("alt", "for"), ("altfor",), ("for", "meget"), ("for", "længe")}),
    "no": frozenset({("altfor",), ("alt", "for"), ("for", "mye"), ("for", "lenge")}),
}
"""Phrases that say "too much": "alt for lang tid", "alltför dyrt", "way too slow"."""

QUESTION_STARTS: dict[str, frozenset[str]] = {
    "en": frozenset(["why", "how", "when", "where", "what", "who", "which", "can", "could", "will", "would", "is", "are", "do", "does", "did", "should", "anyone"]),
    "sv": frozenset(["varför", "hur", "när", "var", "vad", "vem", "vilken", "vilket", "vilka", "kan", "kommer", "går", "får", "ska", "borde", "finns", "har", "är"]),
    "da": frozenset(["hvorfor", "hvordan", "hvornår", "hvor", "hvad", "hvem", "hvilken", "hvilket", "hvilke", "kan", "vil", "må", "skal", "bør", "findes", "har", "er"]),
    "no": frozenset(["hvorfor", "korfor", "hvordan", "korleis", "når", "hvor", "kor", "hva", "kva", "hvem", "kven", "hvilken", "hvilket", "kan", "vil", "må", "skal", "bør", "finnes", "har", "er"]),
}

SUFFIXES: dict[str, tuple[str, ...]] = {
    "en": ("ingly", "edly", "ness", "ing", "ed", "es", "ly", "s"),
    "sv": ("arnas", "ornas", "ernas", "arna", "orna", "erna", "ande", "ende", "aste", "are", "ast",
           "ade", "het", "na", "et", "en", "an", "ar", "or", "er", "at", "a", "e", "t", "s"),
    "da": ("erne", "ende", "este", "ede", "ere", "est", "hed", "ene", "et", "en", "er", "es", "te",
           "de", "e", "t", "s"),
    "no": ("ende", "ene", "este", "ere", "est", "het", "ete", "et", "en", "er", "es", "te", "de",
           "a", "e", "t", "s"),
}

INTENSIFYING_PREFIXES: dict[str, tuple[str, ...]] = {
    "en": ("super", "ultra", "mega"),
    "sv": ("jätte", "super", "mega", "kanon", "sjukt", "svin", "as", "skit", "toppen", "pang"),
    "da": ("kæmpe", "super", "mega", "pisse", "skide", "hammer", "top"),
    "no": ("kjempe", "super", "mega", "drit", "skikkelig", "topp"),
}

NEGATING_PREFIXES: dict[str, tuple[str, ...]] = {
    "en": ("un",),
    "sv": ("o",),
    "da": ("u",),
    "no": ("u",),
}
"""unhelpful, otrevlig, utilfreds, uvennlig: the prefix turns a word the lexicon knows around."""
