"""Shared set-up for the alert tests: a Swedish comment feed, routing config, one poll-and-deliver."""

from __future__ import annotations

import asyncio
import random

from conftest import write_config

from listener.alerts.worker import Deliverer
from listener.config import load_config
from listener.http import HttpClient
from listener.scheduler import Poller
from listener.store import routing as routing_store
from listener.store import sources as source_store
from listener.store.engine import make_engine, upgrade

COMMENTS = """<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
 xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Kommentarer</title><link>https://blogg.example.se/</link>
<generator>https://wordpress.org/?v=6.6.2</generator>
{items}
</channel></rss>"""

ITEM = """<item><title>Av: {author}</title><link>https://blogg.example.se/p/#comment-{n}</link>
<dc:creator><![CDATA[{author}]]></dc:creator><pubDate>Mon, 23 Nov 2026 0{h}:00:00 +0000</pubDate>
<guid isPermaLink="false">https://blogg.example.se/?p=1#comment-{n}</guid>
<content:encoded><![CDATA[<p>{text}</p>]]></content:encoded></item>"""

COMPLAINT = "Min leverans är tre veckor sen och ingen svarar. Helt värdelös kundtjänst, jag är så besviken."
PRAISE = "Tack för den fantastiska hjälpen i butiken i går, ni är bäst!"
QUESTION = "Hur lång tid tar en leverans till Kiruna?"


def feed(*texts: str) -> bytes:
    items = "".join(ITEM.format(n=100 + i, author=f"Person {i}", h=i % 9, text=t) for i, t in enumerate(texts))
    return COMMENTS.format(items=items).encode()


ROUTING = """
[alerts]
backoff = "10s"
max_backoff = "1m"
max_attempts = 3
lease = "1s"
concurrency = {concurrency}

[routing]
default_department = "communications"

[[departments]]
name = "customer-service"
sinks = ["hook"]

[[departments]]
name = "communications"
sinks = ["hook"]

[[sinks]]
name = "hook"
type = "webhook"
url = "{hook}"
secret_env = "TEST_HOOK_SECRET"

[[routes]]
name = "complaints"
match = {{ label = "criticism", query = "leverans OR levering OR delivery" }}
department = "customer-service"
priority = "high"

[[routes]]
name = "questions"
match = {{ question = true }}
department = "customer-service"
priority = "normal"

[[sources]]
name = "blogg"
connector = "rss"
url = "{feed}"
lang = "sv"
"""


def setup(tmp_path, db_url, server, texts=(COMPLAINT, PRAISE, QUESTION), concurrency=4, extra=""):
    feed_url = server.add("/comments", body=feed(*texts))
    hook = server.add("/hook", body=b"ok", content_type="text/plain", etag=False)
    path = write_config(tmp_path, ROUTING.format(hook=hook, feed=feed_url, concurrency=concurrency) + extra, db_url)
    config = load_config(path)
    engine = make_engine(config.database_url)
    upgrade(engine)
    return path, config, engine


def poll_and_deliver(config, engine, clock, deliver=True):
    async def go():
        async with HttpClient(config.http) as http:
            poller = Poller(config, engine, http, clock, random.Random(1))
            deliverer = Deliverer(config, engine, clock)
            try:
                with engine.begin() as conn:
                    source_store.sync(conn, config.sources, clock())
                    routing_store.sync_departments(conn, poller.router)
                outcomes = [await poller.poll(s) for s in poller.claim(names=[s.name for s in config.sources])]
                sent = await deliverer.deliver_due() if deliver else 0
                return outcomes, sent
            finally:
                await deliverer.aclose()

    return asyncio.run(go())


def deliver(config, engine, clock):
    async def go():
        deliverer = Deliverer(config, engine, clock)
        try:
            return await deliverer.deliver_due()
        finally:
            await deliverer.aclose()

    return asyncio.run(go())
