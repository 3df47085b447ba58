"""Polling configured sources through the real Poller, and reading back what was stored."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from conftest import write_config

from listener.config import Config, load_config
from listener.http import HttpClient
from listener.scheduler import Poller, PollOutcome
from listener.store import mentions as mention_store
from listener.store import sources as source_store
from listener.store.engine import make_engine, upgrade


def setup(tmp_path: Path, clock, body: str, db_url: str | None = None):
    config = load_config(write_config(tmp_path, body, db_url or f"sqlite:///{tmp_path / 'listener.db'}"))
    engine = make_engine(config.database_url)
    upgrade(engine)
    with engine.begin() as conn:
        source_store.sync(conn, config.sources, clock())
    return config, engine


def poll(config: Config, engine, clock, names: list[str] | None = None) -> dict[str, PollOutcome]:
    """One poll of each named source (all by default), due or not, with a fresh HTTP client."""

    async def go():
        async with HttpClient(config.http) as http:
            poller = Poller(config, engine, http, clock, random.Random(1))
            states = poller.claim(names=names or [s.name for s in config.sources])
            return {o.source: o for o in await asyncio.gather(*(poller.poll(s) for s in states))}

    return asyncio.run(go())


def stored(engine, source: str | None = None) -> list[dict]:
    with engine.connect() as conn:
        rows = mention_store.query(conn, mention_store.MentionFilter(source=source, limit=10_000))
    return sorted(rows, key=lambda r: r["id"])


def state(engine, name: str):
    with engine.connect() as conn:
        return source_store.get_state(conn, name)
