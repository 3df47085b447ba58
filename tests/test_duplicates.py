"""The same post through two sources is one mention, alerted once."""

import asyncio
import random
from datetime import UTC, datetime

from conftest import write_config
from sqlalchemy import func, select

from listener.config import load_config
from listener.http import HttpClient
from listener.scheduler import Poller
from listener.store import sources as source_store
from listener.store.engine import make_engine, upgrade
from listener.store.tables import mentions, outbox, sources

FEED = "wordpress/wp_posts_feed_foolcontrol_v6.6.2.rss.xml"


def test_a_post_seen_through_a_second_source_is_linked_and_not_alerted_again(tmp_path, db_url, server):
    blog = server.add_fixture("/feed", FEED)
    aggregated = server.add_fixture("/alerts", FEED)
    config = load_config(write_config(tmp_path, f"""
[[departments]]
name = "communications"
sinks = ["log"]

[[sinks]]
name = "log"
type = "console"

[[sources]]
name = "blog"
connector = "rss"
url = "{blog}"

[[sources]]
name = "alerts"
connector = "rss"
url = "{aggregated}"
""", db_url))
    engine = make_engine(config.database_url)
    upgrade(engine)
    with engine.begin() as conn:
        source_store.sync(conn, config.sources, datetime.now(UTC))

    async def poll(name):
        async with HttpClient(config.http) as http:
            poller = Poller(config, engine, http, rng=random.Random(1))
            [state] = poller.claim(names=[name])
            return await poller.poll(state)

    first = asyncio.run(poll("blog"))
    second = asyncio.run(poll("alerts"))
    assert first.ok and second.ok and first.new == second.new == 10

    with engine.connect() as conn:
        rows = conn.execute(
            select(sources.c.name, mentions.c.id, mentions.c.external_id, mentions.c.duplicate_of)
            .join(sources, sources.c.id == mentions.c.source_id)
        ).all()
        alerted = conn.execute(
            select(sources.c.name, func.count()).select_from(outbox)
            .join(mentions, mentions.c.id == outbox.c.mention_id)
            .join(sources, sources.c.id == mentions.c.source_id).group_by(sources.c.name)
        ).all()
    originals = {r.external_id: r.id for r in rows if r.name == "blog"}
    copies = {r.external_id: r.duplicate_of for r in rows if r.name == "alerts"}
    assert all(r.duplicate_of is None for r in rows if r.name == "blog")
    assert copies == originals  # every sighting points at the first copy of its words
    assert dict(alerted) == {"blog": 10}  # one alert per post, none for the second sighting
