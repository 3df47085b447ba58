import re

import pytest

from listener.matching import Query, QueryError, Text


def hit(query: str, text: str) -> bool:
    return Query.parse(query).matches(Text.of(text))


@pytest.mark.parametrize("query, text, expected", [
    ('"Dramaten" OR @dramaten NOT jobb', "Dramaten är bäst", True),
    ('"Dramaten" OR @dramaten NOT jobb', "Lediga jobb på Dramaten", False),
    ('"Dramaten" OR @dramaten NOT jobb', "@Dramaten tack!", True),
    ("leverans OR levering OR delivery", "Levering tok tre uker", True),
    ("leverans AND sen", "leveransen var sen", False),
    ("leverans* AND sen*", "Leveransen var SENT", True),
    ("leverans sen*", "leverans sent", True),            # AND is implied
    ("(leverans OR levering) AND NOT paket", "levering av pakke", True),
    ("(leverans OR levering) AND NOT pakke", "levering av pakke", False),
    ('"kundtjänst svarar inte"', "Kundtjänst svarar inte på mejl", True),
    ('"kundtjänst svarar inte"', "kundtjänst inte svarar", False),
    ("#kundservice", "Dårlig #kundservice i dag", True),
    ("#kundservice", "dårlig kundservice", False),       # a tag is literal
    ("kundservice", "dårlig #kundservice", True),        # a plain term finds the word in a tag
    ("@sj_ab", "Hej @SJ_AB, tåget är sent", True),
    ("år", "ÅR 2026", True),
    ("år", "ar 2026", False),                            # å stays a letter of its own
    ("øl", "ol", False),
    ("Ärlig", "ärlig talat", True),
    ("e-post", "Skicka e-post till oss", True),
])
def test_queries(query, text, expected):
    assert hit(query, text) is expected


def test_unicode_normalisation():
    decomposed = "A\u030arhus"  # Å as A + combining ring
    assert hit("århus", decomposed)


@pytest.mark.parametrize("query, message", [
    ("(a OR b", 'missing ")"'),
    ("a OR", "ends where a term was expected"),
    ('"unclosed', "unbalanced quote"),
    ("a)", 'unexpected ")"'),
    ("x*", "at least two letters"),
    ("", "empty query"),
])
def test_bad_queries_say_why(query, message):
    with pytest.raises(QueryError, match=re.escape(message)):
        Query.parse(query)
