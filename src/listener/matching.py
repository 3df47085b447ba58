"""Tracked terms, boolean queries and campaigns.

A query is what a comms team would type into a search box:
``"Dramaten" OR @dramaten NOT jobb``, ``(leverans OR levering) AND sen*``. AND is implied between
terms and binds tighter than OR. ``A NOT B`` excludes B from everything before it, as search
boxes do: ``x OR y NOT jobb`` is ``(x OR y) AND NOT jobb``; a NOT that starts a group, or follows
an AND, negates the next term only. "quoted phrases" match words in order; a trailing
``*`` matches any ending; ``@handle`` and ``#tag`` match literally, and a plain term also matches
the word inside a tag or handle. Matching is case-insensitive on Unicode-normalised text, and
å, ä, ö, æ and ø stay letters of their own (``år`` never matches ``ar``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

_LEXER = re.compile(r'\s*(?:(?P<lpar>\()|(?P<rpar>\))|"(?P<phrase>[^"]*)"|(?P<word>[^\s()"]+))')
_TOKENS = re.compile(r"[@#]?\w+(?:['’\-]\w+)*")


class QueryError(ValueError):
    """A query that cannot be parsed; the message says where and why."""


@dataclass(frozen=True, slots=True)
class Text:
    """A text prepared once for many queries: its words, and the words inside tags and handles."""

    words: tuple[str, ...]
    vocabulary: frozenset[str]

    @classmethod
    def of(cls, *parts: str) -> Text:
        words: list[str] = []
        vocabulary: set[str] = set()
        for part in parts:
            for token in _TOKENS.findall(fold(part)):
                vocabulary.add(token)
                bare = token.lstrip("@#")
                if bare != token:
                    vocabulary.add(bare)
                words.append(bare)
        return cls(tuple(words), frozenset(vocabulary))


def fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


Predicate = Callable[[Text], bool]


@dataclass(frozen=True)
class Query:
    source: str
    predicate: Predicate

    def matches(self, text: Text) -> bool:
        return self.predicate(text)

    @classmethod
    def parse(cls, source: str) -> Query:
        tokens = _lex(source)
        if not tokens:
            raise QueryError("empty query")
        parser = _Parser(tokens)
        predicate = parser.expression()
        if parser.pos != len(tokens):
            raise QueryError(f"unexpected {_show(tokens[parser.pos])}")
        return cls(source, predicate)


def _lex(source: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    source = fold(source)
    while pos < len(source):
        match = _LEXER.match(source, pos)
        if match is None or match.end() == pos:
            if source[pos:].strip() == "":
                break
            raise QueryError(f"unbalanced quote at position {pos + 1}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _show(token: tuple[str, str]) -> str:
    kind, value = token
    return {"lpar": '"("', "rpar": '")"', "phrase": f'"\\"{value}\\""'}.get(kind, f'"{value}"')


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]):
        self.tokens, self.pos = tokens, 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token == ("word", word.casefold()):
            self.pos += 1
            return True
        return False

    def expression(self) -> Predicate:
        """A disjunction, minus whatever each following NOT excludes."""
        kept = self.disjunction()
        excluded = []
        while self.keyword("NOT"):
            excluded.append(self.disjunction())
        if not excluded:
            return kept
        return lambda t, excluded=tuple(excluded): kept(t) and not any(p(t) for p in excluded)

    def disjunction(self) -> Predicate:
        terms = [self.conjunction()]
        while self.keyword("OR"):
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda t, terms=tuple(terms): any(p(t) for p in terms))

    def conjunction(self) -> Predicate:
        terms = [self.negation()]
        while True:
            token = self.peek()
            if token is None or token[0] == "rpar" or token in (("word", "or"), ("word", "not")):
                break
            self.keyword("AND")
            terms.append(self.negation())
        return terms[0] if len(terms) == 1 else (lambda t, terms=tuple(terms): all(p(t) for p in terms))

    def negation(self) -> Predicate:
        if self.keyword("NOT"):
            inner = self.negation()
            return lambda t: not inner(t)
        return self.atom()

    def atom(self) -> Predicate:
        token = self.peek()
        if token is None:
            raise QueryError("the query ends where a term was expected")
        self.pos += 1
        kind, value = token
        if kind == "lpar":
            inner = self.expression()
            if self.peek() is None or self.peek()[0] != "rpar":
                raise QueryError('missing ")"')
            self.pos += 1
            return inner
        if kind == "rpar":
            raise QueryError('unexpected ")"')
        if kind == "phrase":
            words = tuple(w.lstrip("@#") for w in _TOKENS.findall(value))
            if not words:
                raise QueryError("empty phrase")
            return lambda t: _contains(t.words, words)
        if value in ("and", "or", "not"):
            raise QueryError(f'"{value.upper()}" needs a term on each side')
        if value.endswith("*"):
            prefix = value.rstrip("*")
            if len(prefix) < 2:
                raise QueryError(f'"{value}": a wildcard needs at least two letters before the *')
            return lambda t: any(w.startswith(prefix) for w in t.vocabulary)
        tokens = _TOKENS.findall(value)
        if len(tokens) > 1:  # "e-post", "o'neil" and the like are one word; "a.b" becomes a phrase
            words = tuple(w.lstrip("@#") for w in tokens)
            return lambda t: _contains(t.words, words)
        if not tokens:
            raise QueryError(f'"{value}" has no letters or digits to match')
        return lambda t, word=tokens[0]: word in t.vocabulary


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(phrase)
    first = phrase[0]
    return any(words[i : i + n] == phrase for i, w in enumerate(words) if w == first)


@dataclass(frozen=True)
class Campaign:
    name: str
    query: Query
    start: datetime | None
    end: datetime | None

    def tags(self, text: Text, published_at: datetime) -> bool:
        if self.start and published_at < self.start:
            return False
        if self.end and published_at > self.end:
            return False
        return self.query.matches(text)
