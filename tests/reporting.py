"""Mentions with routes and response figures written straight into the store, for the report tests.

The figures are set by hand (not computed by the responses code), so each test's expectations can
be worked out on paper from the rows below.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from listener.store.tables import (
    departments,
    mention_routes,
    mention_tags,
    mentions,
    outbox,
    sources,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

BASELINE_CONFIG = """
[[baselines]]
name = "before-social"
start = 2026-01-01
end = 2026-01-31
"""
"""A config.toml section for the CLI report tests: the baseline January holds BASELINE_JANUARY."""


def run(config, *args) -> str:
    """`listener -c CONFIG ARGS…` as a user runs it; its output, after checking it succeeded."""
    from click.testing import CliRunner

    from listener.cli import cli

    result = CliRunner().invoke(cli, ["-c", str(config), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@dataclass
class R:
    """One route: department, response after (s, wall clock), business seconds, SLA due after (s)."""

    department: str
    response_s: float | None = None
    business_s: float | None = None
    due_after_s: float | None = None


@dataclass
class M:
    published_at: datetime
    label: str = "neutral"
    question: bool = False
    lag_s: float = 0
    own: bool = False
    routes: list[R] = field(default_factory=list)
    source: str = "blog"
    platform: str = "rss"
    lang: str = "sv"
    campaigns: tuple[str, ...] = ()
    author: str = "Kund"
    handle: str = "@kund"
    text: str = "Hej"
    alert_lag_s: float | None = None


def insert(engine, items: list[M]) -> list[int]:
    """Write mentions with their routes, tags and (sent) alerts; returns their ids in order."""
    ids = []
    with engine.begin() as conn:
        source_ids = _ids(conn, sources, {m.source for m in items}, lambda name: {
            "name": name, "connector": "rss", "url": "", "interval_s": 900, "next_poll_at": NOW, "created_at": NOW})
        department_ids = _ids(conn, departments, {r.department for m in items for r in m.routes},
                              lambda name: {"name": name})
        for n, m in enumerate(items):
            seen = m.published_at + timedelta(seconds=m.lag_s)
            mention_id = conn.execute(mentions.insert().values(
                source_id=source_ids[m.source], external_id=f"x-{n}-{m.published_at.timestamp()}", platform=m.platform,
                url=f"https://example.org/{n}", author_name=m.author, author_handle=m.handle, text=m.text,
                lang=m.lang, label=m.label, model_label=m.label, score=0.0, question=m.question,
                published_at=m.published_at, first_seen_at=seen, own=m.own, detection_lag_s=max(0.0, m.lag_s),
                content_hash=hashlib.sha256(f"{n}{m.text}".encode()).hexdigest(),
            ).returning(mentions.c.id)).scalar_one()
            ids.append(mention_id)
            for r in m.routes:
                responded = m.published_at + timedelta(seconds=r.response_s) if r.response_s is not None else None
                due = m.published_at + timedelta(seconds=r.due_after_s) if r.due_after_s is not None else None
                conn.execute(mention_routes.insert().values(
                    mention_id=mention_id, department_id=department_ids[r.department], priority="normal",
                    rule="test", first_response_at=responded, response_s=r.response_s,
                    business_response_s=r.business_s, due_at=due))
                if m.alert_lag_s is not None:
                    conn.execute(outbox.insert().values(
                        delivery_id=f"d{mention_id}-{r.department}", mention_id=mention_id,
                        department_id=department_ids[r.department], sink="mail", priority="normal", rule="test",
                        state="sent", next_attempt_at=seen, created_at=seen,
                        sent_at=seen + timedelta(seconds=m.alert_lag_s)))
            for campaign in m.campaigns:
                conn.execute(mention_tags.insert().values(mention_id=mention_id, kind="campaign", name=campaign))
    return ids


def _ids(conn, table, names, row) -> dict[str, int]:
    known = {r.name: r.id for r in conn.execute(select(table.c.name, table.c.id))}
    for name in sorted(names - set(known)):
        known[name] = conn.execute(table.insert().values(**row(name)).returning(table.c.id)).scalar_one()
    return known


def at(day: int, hour: int = 10, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


WEEK_47 = [
    M(at(16), "criticism", question=True, lag_s=60, routes=[R("cs", 3600, 1800, 4 * 3600)]),
    M(at(17), "criticism", lag_s=120, routes=[R("cs", 18000, 7200, 4 * 3600), R("comms", 18000, 18000)], source="forum",
      campaigns=("jul",)),
    M(at(18), "praise", lag_s=300, routes=[R("cs", due_after_s=4 * 3600)], lang="en"),
    M(at(22, 23), "neutral", question=True, lag_s=0, routes=[R("cs", due_after_s=4 * 86400)]),
    M(at(19), "praise", lag_s=30, routes=[R("comms", 600, 600)], platform="mastodon", campaigns=("jul",)),
    M(at(19, 11), "praise", own=True, routes=[R("comms", 60, 60)], author="Dramaten"),
    M(at(10), "neutral", lag_s=10, routes=[R("comms")]),
]
"""Five mentions in 2026-W47 that count, one own mention in it, one in W46 (see test_reports for the sums)."""

BASELINE_JANUARY = [
    M(at(5, month=1), "criticism", lag_s=600, routes=[R("cs", 7200, 7200, 4 * 3600)]),
    M(at(6, month=1), "praise", lag_s=0, routes=[R("cs", due_after_s=3600)]),
]
