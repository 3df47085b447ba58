"""The words of the whole program: what a connector finds and what the store keeps.

Stages pass these frozen dataclasses to each other; nothing else travels through the pipeline.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Label(enum.StrEnum):
    PRAISE = "praise"
    CRITICISM = "criticism"
    NEUTRAL = "neutral"


class Priority(enum.StrEnum):
    """high: alert now; normal: now, or in the department's digest if it has one; low: digest only."""

    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Author:
    name: str = ""
    handle: str = ""


@dataclass(frozen=True, slots=True)
class Item:
    """One thing a connector saw, as the platform described it, before any judgement."""

    external_id: str
    url: str
    title: str
    text: str
    published_at: datetime | None
    author: Author = field(default_factory=Author)
    platform: str = "web"
    in_reply_to: str | None = None


@dataclass(frozen=True, slots=True)
class Mention:
    """An item as the store keeps it: normalised, attributed to a source, ready to classify."""

    source: str
    external_id: str
    platform: str
    url: str
    author: Author
    title: str
    text: str
    published_at: datetime
    first_seen_at: datetime
    content_hash: str
    in_reply_to: str | None = None
    lang: str | None = None
    label: Label | None = None
    score: float | None = None
    question: bool | None = None
    queries: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    routes: tuple[Route, ...] = ()
    own: bool = False
    """Written by one of the organisation's own accounts: a possible response, never alerted."""


@dataclass(frozen=True, slots=True)
class Route:
    """One department a mention goes to, and which rule sent it there ("default" when none did)."""

    department: str
    priority: Priority
    rule: str
