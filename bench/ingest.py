"""Ingest throughput: feed bytes to committed rows.

Over the same generated WordPress-style feeds (50 items of ~1-2 KB HTML each), each run into its
own fresh SQLite file (WAL), in one process, it prints mentions/s and ratios for:
- the stages of the walking skeleton (parse, normalise, dedupe, store) against what one writes
  first: feedparser with its defaults and one ORM commit per row;
- the whole pipeline, classification included, against the same naive baseline plus TextBlob
  (the naive pipeline of PERFORMANCE.md);
- a JSON-API connector: Mastodon tag-timeline pages (40 statuses each, shaped as a recorded
  status from tests/fixtures/mastodon) through parse, normalise, dedupe and store, against
  json.loads and one ORM commit per row.

    python bench/ingest.py [--feeds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import feedparser
from sqlalchemy.orm import DeclarativeBase, Session
from textblob import TextBlob

from listener.config import Source
from listener.connector import NoOptions
from listener.connectors.mastodon import parse_statuses
from listener.connectors.rss import parse_feed
from listener.cpu import CpuPool
from listener.pipeline import SourceRef, dedupe, normalise, process, process_off_loop, store
from listener.routing import Router
from listener.store import sources as source_store
from listener.store.engine import make_engine, upgrade
from listener.store.tables import mentions
from listener.text import content_hash, html_to_text

WORDS = ("leverans kundtjänst snabb bra dålig tack problem order paket svar hjälp fantastisk "
         "levering kundeservice hurtig god dårlig pakke hjælp delivery service great awful").split()
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def paragraph(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(25, 45))
    words[3] = f'<a href="https://example.org/{rng.randint(1, 999)}">{words[3]}</a>'
    words[8] = f"<strong>{words[8]}</strong>"
    return "<p>" + " ".join(words) + ".</p>"


def feed(n: int, rng: random.Random) -> bytes:
    items = []
    for i in range(50):
        when = format_datetime(NOW - timedelta(minutes=n * 50 + i))
        html = "\n".join(paragraph(rng) for _ in range(rng.randint(4, 7)))
        items.append(f"""<item>
<title>Post {n}-{i} &#8211; om leveranser</title>
<link>https://blog.example.se/{n}/{i}/</link>
<dc:creator><![CDATA[Författare {i % 7}]]></dc:creator>
<pubDate>{when}</pubDate>
<guid isPermaLink="false">https://blog.example.se/?p={n * 1000 + i}</guid>
<description><![CDATA[{html[:300]}]]></description>
<content:encoded><![CDATA[{html}]]></content:encoded>
</item>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Blogg {n}</title><link>https://blog.example.se/</link>
<generator>https://wordpress.org/?v=6.6.2</generator>
{''.join(items)}
</channel></rss>""".encode()


STATUS = Path(__file__).parent.parent / "tests/fixtures/mastodon/status_mastodon_social_110446223051565765.json"
INSTANCE = "https://mastodon.social"


def timeline_page(n: int, rng: random.Random) -> bytes:
    """A tag-timeline page of 40 statuses, each the recorded status with its own id, author and words."""
    template = json.loads(STATUS.read_text(encoding="utf-8"))
    page = []
    for i in range(40):
        status = copy.deepcopy(template)
        sid = str(110_000_000_000_000_000 + n * 100 + i)
        user = f"user{rng.randint(1, 500)}"
        status.update(id=sid, uri=f"https://example.social/users/{user}/statuses/{sid}",
                      url=f"https://example.social/@{user}/{sid}", content=paragraph(rng),
                      created_at=(NOW - timedelta(minutes=n * 40 + i)).isoformat().replace("+00:00", "Z"),
                      in_reply_to_id=str(int(sid) - 1) if i % 3 else None)
        status["account"] = {**status["account"], "acct": f"{user}@example.social", "username": user,
                             "display_name": f"User {user}", "url": f"https://example.social/@{user}"}
        page.append(status)
    return json.dumps(page).encode()


def ours_json_stages(pages: list[bytes], engine, source_id: int) -> int:
    stored = 0
    for body in pages:
        items = parse_statuses(json.loads(body), INSTANCE)
        stored += len(store(engine, source_id, dedupe(normalise(items, "blog", NOW)))[0])
    return stored


def naive_json(pages: list[bytes], engine, source_id: int) -> int:
    stored = 0
    with Session(engine) as session:
        for body in pages:
            for status in json.loads(body):
                text = html_to_text(status["content"])
                session.add(MentionRow(
                    source_id=source_id, external_id=status["uri"], platform="mastodon", url=status["url"],
                    author_name=status["account"]["display_name"], author_handle="@" + status["account"]["acct"],
                    title="", text=text, published_at=datetime.fromisoformat(status["created_at"]), first_seen_at=NOW,
                    content_hash=content_hash("", text), in_reply_to=status["in_reply_to_id"],
                ))
                session.commit()
                stored += 1
    return stored


def fresh_store(folder: Path, name: str):
    engine = make_engine(f"sqlite:///{folder / name}.db")
    upgrade(engine)
    with engine.begin() as conn:
        source_store.sync(conn, [Source("blog", "rss", "http://x", timedelta(minutes=15), True, NoOptions())], NOW)
        source_id = source_store.get_state(conn, "blog").id
    return engine, source_id


class Base(DeclarativeBase):
    pass


class MentionRow(Base):
    __table__ = mentions


def ours_stages(feeds: list[bytes], engine, source_id: int) -> int:
    stored = 0
    for body in feeds:
        stored += len(store(engine, source_id, dedupe(normalise(parse_feed(body), "blog", NOW)))[0])
    return stored


def ours_pipeline(feeds: list[bytes], engine, source_id: int) -> int:
    stored = 0
    for body in feeds:
        stored += process(engine, SourceRef(source_id, "blog"), parse_feed(body), NOW).new
    return stored


def ours_pipeline_pooled(feeds: list[bytes], engine, source_id: int) -> int:
    """As the daemon runs it: parsing and classifying in one worker process per core, a few feeds
    in flight at once, storing on the event loop."""

    async def run() -> int:
        slots = asyncio.Semaphore(4)

        async def one(body: bytes) -> int:
            async with slots:
                items = await cpu.run(parse_feed, body)
                return (await process_off_loop(engine, SourceRef(source_id, "blog"), items, NOW, Router(), cpu)).new

        return sum(await asyncio.gather(*(one(body) for body in feeds)))

    cpu = POOL[0]
    return asyncio.run(run())


POOL: list[CpuPool] = []
"""Started (forked, classifier loaded) before the clock runs, as the daemon does at start."""


def naive(feeds: list[bytes], engine, source_id: int, sentiment: bool = False) -> int:
    stored = 0
    with Session(engine) as session:
        for body in feeds:
            for entry in feedparser.parse(body).entries:
                text = html_to_text(entry.get("content", [{}])[0].get("value", ""))
                polarity = TextBlob(text).sentiment.polarity if sentiment else None
                session.add(MentionRow(
                    source_id=source_id, external_id=entry.id, platform="wordpress", url=entry.link,
                    author_name=entry.get("author", ""), author_handle="", title=entry.title, text=text,
                    published_at=datetime(*entry.published_parsed[:6], tzinfo=UTC), first_seen_at=NOW,
                    content_hash=content_hash(entry.title, text), score=polarity,
                ))
                session.commit()
                stored += 1
    return stored


def naive_with_textblob(feeds: list[bytes], engine, source_id: int) -> int:
    return naive(feeds, engine, source_id, sentiment=True)


def measure(fn, feeds, engine, source_id) -> tuple[int, float]:
    started = time.perf_counter()
    stored = fn(feeds, engine, source_id)
    return stored, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=40, help="feeds of 50 items each (default 40)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each variant; the best counts (default 3)")
    args = parser.parse_args()
    rng = random.Random(42)
    feeds = [feed(n, rng) for n in range(args.feeds)]
    size = sum(map(len, feeds)) / (50 * len(feeds))
    print(f"{len(feeds)} feeds x 50 items, {size / 1024:.1f} KB of feed per item; best of {args.repeat} runs each")
    runs = (
        ("naive: feedparser defaults + ORM commit per row", naive),
        ("listener: parse, normalise, dedupe, store", ours_stages),
        ("naive + TextBlob", naive_with_textblob),
        ("listener: whole pipeline, with classification", ours_pipeline),
        ("listener: whole pipeline, worker processes", ours_pipeline_pooled),
    )
    POOL.append(CpuPool())
    asyncio.run(POOL[0].start())
    pages = [timeline_page(n, rng) for n in range(args.feeds)]
    json_size = sum(map(len, pages)) / (40 * len(pages))
    with tempfile.TemporaryDirectory() as tmp:
        rates = [best_rate(Path(tmp), n, name, fn, feeds, args.repeat) for n, (name, fn) in enumerate(runs)]
        print(f"{len(pages)} Mastodon timeline pages x 40 statuses, {json_size / 1024:.1f} KB of JSON per status")
        json_rates = [best_rate(Path(tmp), 10 + n, name, fn, pages, args.repeat) for n, (name, fn) in enumerate((
            ("naive: json.loads + ORM commit per row", naive_json),
            ("listener mastodon: parse, normalise, dedupe, store", ours_json_stages),
        ))]
    print(f"ratio, stages: {rates[1] / rates[0]:.1f}x the naive baseline (target >= 10x)")
    print(f"ratio, whole pipeline: {rates[3] / rates[2]:.1f}x the naive baseline with TextBlob")
    print(f"ratio, Mastodon JSON stages: {json_rates[1] / json_rates[0]:.1f}x the naive baseline")
    POOL[0].close()
    print(f"ratio, whole pipeline in worker processes: {rates[4] / rates[2]:.1f}x the naive baseline with TextBlob "
          f"(target >= 10x; {os.cpu_count()} cores)")


def best_rate(folder: Path, n: int, name: str, fn, inputs: list[bytes], repeat: int) -> float:
    best = None
    for attempt in range(repeat):  # best of N: a shared machine only ever slows a run down
        engine, source_id = fresh_store(folder, f"run{n}-{attempt}")
        stored, seconds = measure(fn, inputs, engine, source_id)
        engine.dispose()
        best = min(best or seconds, seconds)
    print(f"{name:50s} {stored:6d} rows in {best:6.2f} s = {stored / best:8,.0f} mentions/s")
    return stored / best

if __name__ == "__main__":
    main()
