"""Own accounts, reply detection and recording a response: the organisation answering.

A response is recorded four ways — found by the pipeline (``auto``), the "answered" link in an
alert (``link``), `listener respond` (``cli``) and the web inbox (``web``) — and every one is
kept; the earliest counts as *the* response and gives each route its response time, wall-clock
and in the department's open hours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import Connection

from listener.clock import utcnow
from listener.config import Config, parse_account
from listener.domain import Author, Mention
from listener.hours import BusinessHours
from listener.store import responses as store
from listener.store.responses import Measure, Response

VIA = ("auto", "link", "cli", "web")
FLAT_PLATFORMS = frozenset({"wordpress"})
"""Platforms whose comments all reply to the post, not to each other: an answer in the thread
answers every comment before it that had none."""


class OwnAccounts:
    """``handle`` (any platform) or ``platform:handle``, compared case-folded without a leading @,
    against the author's handle and name (comment feeds often give only a name)."""

    def __init__(self, accounts: Iterable[str] = ()):
        self.accounts = frozenset(parse_account(a) for a in accounts)

    @classmethod
    def from_config(cls, config: Config) -> OwnAccounts:
        return cls(config.organization.accounts)

    def __bool__(self) -> bool:
        return bool(self.accounts)

    def owns(self, platform: str, author: Author) -> bool:
        names = {n.strip().removeprefix("@").casefold() for n in (author.handle, author.name)} - {""}
        platform = platform.casefold()
        return any(handle in names and (p is None or p == platform) for p, handle in self.accounts)

    def mark(self, batch: Iterable[Mention]) -> list[Mention]:
        return [replace(m, own=True) if self.owns(m.platform, m.author) else m for m in batch]


def measure_for(hours: Mapping[str, BusinessHours]) -> Measure:
    """Open time between two instants in a department's hours (wall-clock for one not configured)."""
    always = BusinessHours()

    def measure(department: str, start: datetime, end: datetime) -> timedelta:
        return hours.get(department, always).between(start, end)

    return measure


def config_measure(config: Config) -> Measure:
    return measure_for({d.name: BusinessHours.of(d.hours, d.timezone, d.holidays) for d in config.departments})


class UnknownMention(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording did: the new response's id (None if nothing was recorded) and the mention's
    first response before it, if it had one."""

    response_id: int | None
    previous: Response | None

    @property
    def first(self) -> bool:
        return self.response_id is not None and (self.previous is None)


def record_response(conn: Connection, config: Config, mention_id: int, *, at: datetime, by: str, via: str,
                    url: str = "", note: str = "", once: bool = False, now: datetime | None = None) -> Recorded:
    """Record a response to a stored mention, in the caller's transaction, and fill in the
    response times of its routes if this is the earliest response.

    ``once``: record nothing if the mention already has a response (a link clicked twice)."""
    if via not in VIA:
        raise ValueError(f'via must be one of {", ".join(VIA)}, not "{via}"')
    if not store.lock_mention(conn, mention_id):
        raise UnknownMention(f"no mention with id {mention_id}")
    previous = store.first(conn, mention_id)
    if once and previous is not None:
        return Recorded(None, previous)
    response_id = store.add(conn, mention_id=mention_id, at=at, by=by, via=via, url=url, note=note,
                            now=now or utcnow())
    store.fill_routes(conn, mention_id, at, config_measure(config))
    return Recorded(response_id, previous)


def detect(conn: Connection, source_id: int, new: Mapping[int, Mention], measure: Measure, now: datetime) -> int:
    """Responses found among freshly stored mentions, in the pipeline's transaction; returns how many.

    First each new mention of others picks up the replies that arrived before it; then each new own
    mention answers what it replies to (in the same source, else on the same platform) and, in a
    flat comment thread, every earlier comment that had no answer. A reply whose mention is not
    stored yet waits with no mention id."""
    found = 0
    others = {i: m for i, m in new.items() if not m.own}
    waiting = store.waiting(conn, [m.external_id for m in others.values()])
    threads = [m.in_reply_to for m in others.values() if m.platform in FLAT_PLATFORMS and m.in_reply_to]
    own_comments = store.own_in_threads(conn, source_id, threads)
    for mention_id, m in others.items():
        mine = [w for w in waiting if w.reply_to == m.external_id and (w.source_id == source_id or w.platform == m.platform)]
        if mine:
            store.claim(conn, [w.id for w in mine], mention_id)
        times = [w.responded_at for w in mine]
        if m.platform in FLAT_PLATFORMS and m.in_reply_to:
            own = next((o for o in own_comments if o.in_reply_to == m.in_reply_to and o.published_at >= m.published_at),
                       None)
            if own is not None:
                store.add(conn, mention_id=mention_id, at=own.published_at, by=own.author_name or own.author_handle,
                          via="auto", url=own.url, now=now, source_id=source_id, reply_to=m.in_reply_to,
                          reply_mention_id=own.id)
                times.append(own.published_at)
        if times:
            store.fill_routes(conn, mention_id, min(times), measure)
            found += len(times)
    for own_id, o in sorted(new.items(), key=lambda kv: kv[1].published_at):
        if not (o.own and o.in_reply_to):
            continue
        answered = [t] if (t := store.target(conn, source_id, o.platform, o.in_reply_to)) else []
        if o.platform in FLAT_PLATFORMS:
            answered += [s for s in store.unanswered_siblings(conn, source_id, o.in_reply_to, o.published_at)
                         if s not in answered]
        reply = {"at": o.published_at, "by": o.author.name or o.author.handle, "via": "auto", "url": o.url,
                 "now": now, "source_id": source_id, "reply_to": o.in_reply_to, "reply_mention_id": own_id}
        for mention_id in answered:
            store.add(conn, mention_id=mention_id, **reply)
            store.fill_routes(conn, mention_id, o.published_at, measure)
        if not answered:
            store.add(conn, mention_id=None, **reply)
        found += len(answered)
    return found
