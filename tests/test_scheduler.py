import asyncio
import io
import json
import random
from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import write_config

from listener import logs
from listener.config import load_config
from listener.http import HttpClient
from listener.scheduler import Poller, backoff
from listener.silence import is_silent
from listener.store import mentions as mention_store
from listener.store import sources as source_store
from listener.store.engine import make_engine, upgrade


@pytest.fixture
def events():
    buf = io.StringIO()
    logs.configure("debug", "json", buf)

    def read():
        return [json.loads(line) for line in buf.getvalue().splitlines()]

    return read


def make_poller(tmp_path, db_url, clock, sources: dict[str, str], **scheduler):
    body = "[scheduler]\n" + "".join(f"{k} = {v!r}\n" for k, v in scheduler.items())
    for name, url in sources.items():
        body += f'\n[[sources]]\nname = "{name}"\nconnector = "rss"\nurl = "{url}"\ninterval = "15m"\n'
    config = load_config(write_config(tmp_path, body, db_url))
    engine = make_engine(config.database_url)
    upgrade(engine)
    with engine.begin() as conn:
        source_store.sync(conn, config.sources, clock())
    return config, engine


def poll_once(config, engine, clock, names=None):
    async def go():
        async with HttpClient(config.http) as http:
            poller = Poller(config, engine, http, clock, random.Random(1))
            states = poller.claim(names=names or [s.name for s in config.sources])
            return {o.source: o for o in await asyncio.gather(*(poller.poll(s) for s in states))}

    return asyncio.run(go())


def state(engine, name):
    with engine.connect() as conn:
        return source_store.get_state(conn, name)


def test_poll_stores_mentions_and_uses_conditional_get(tmp_path, db_url, server, clock, events):
    url = server.add_fixture("/comments", "wordpress/wp_comments_feed_battlefieldanomalies.rss.xml")
    config, engine = make_poller(tmp_path, db_url, clock, {"blog": url})
    outcome = poll_once(config, engine, clock)["blog"]
    assert (outcome.ok, outcome.seen, outcome.new) == (True, 10, 10)
    s = state(engine, "blog")
    assert s.last_success_at == clock() and s.failures == 0 and s.etag
    assert timedelta(minutes=13) < s.next_poll_at - clock() < timedelta(minutes=17)

    clock.advance(minutes=16)
    again = poll_once(config, engine, clock)["blog"]
    assert again.ok and again.not_modified and again.new == 0
    assert server.received("/comments")[1].headers["if-none-match"] == s.etag
    with engine.connect() as conn:
        assert mention_store.count(conn) == 10
    done = [e for e in events() if e["event"] == "poll.done"]
    assert done[0]["source"] == "blog" and done[0]["new"] == 10 and "ms" in done[0]


def test_failures_back_off_are_logged_once_and_recover(tmp_path, db_url, server, clock, events):
    url = server.add("/feed", status=500)
    config, engine = make_poller(tmp_path, db_url, clock, {"blog": url})
    delays = []
    for _ in range(4):
        outcome = poll_once(config, engine, clock)["blog"]
        assert not outcome.ok and outcome.error.startswith("HTTP 500 from")
        delays.append(outcome.next_poll_at - clock())
        clock.now = outcome.next_poll_at
    assert delays == sorted(delays) and delays[-1] > 6 * delays[0]
    s = state(engine, "blog")
    assert s.failures == 4 and s.last_error.startswith("HTTP 500")

    server.add_fixture("/feed", "atom/bearblog_herman.atom.xml")
    assert poll_once(config, engine, clock)["blog"].ok
    assert state(engine, "blog").failures == 0
    names = [e["event"] for e in events()]
    assert names.count("source.failing") == 1
    assert names.count("poll.failed") == 4
    assert names.count("source.recovered") == 1


def test_retry_after_is_respected(tmp_path, db_url, server, clock):
    url = server.add("/feed", status=429, headers={"Retry-After": "7200"})
    config, engine = make_poller(tmp_path, db_url, clock, {"blog": url})
    outcome = poll_once(config, engine, clock)["blog"]
    assert outcome.next_poll_at - clock() >= timedelta(hours=2)


def test_one_broken_source_does_not_stop_the_others(tmp_path, db_url, server, clock):
    good = server.add_fixture("/good", "rss/ghost_404media.rss.xml")
    bomb = server.add_fixture("/bomb", "hostile/defusedxml_xmlbomb.xml")
    html = server.add("/html", body=b"<html><body>We moved!</body></html>", content_type="text/html")
    config, engine = make_poller(tmp_path, db_url, clock, {"good": good, "bomb": bomb, "html": html})
    outcomes = poll_once(config, engine, clock)
    assert outcomes["good"].ok and outcomes["good"].new == 15
    assert not outcomes["bomb"].ok and "not a readable feed" in outcomes["bomb"].error
    assert not outcomes["html"].ok and state(engine, "html").failures == 1


def test_backoff_doubles_up_to_the_cap_and_never_gives_up():
    interval, cap = timedelta(minutes=15), timedelta(hours=6)
    delays = [backoff(n, interval, cap) for n in range(1, 40)]
    assert delays[0] == timedelta(minutes=3, seconds=45)
    assert delays[1] == 2 * delays[0]
    assert max(delays) == cap and delays[-1] == cap
    assert backoff(1, timedelta(days=1), cap) <= timedelta(days=1)


def test_silence_is_judged_against_the_usual_gap(tmp_path, clock):
    s = source_store.SourceState(
        id=1, name="a", connector="rss", url="", enabled=True, in_config=True, interval=timedelta(minutes=15),
        next_poll_at=clock(), etag=None, last_modified=None, cursor=None, failures=0, last_error=None,
        last_error_at=None, last_success_at=None, last_new_at=clock(), first_new_at=clock() - timedelta(days=10),
        polls_with_new=11, silent=False,
    )  # something new about once a day
    assert not is_silent(s, clock() + timedelta(days=3))
    assert is_silent(s, clock() + timedelta(days=5))
    assert not is_silent(replace(s, polls_with_new=2), clock() + timedelta(days=50))  # no history yet


def test_a_server_that_lies_about_the_charset(tmp_path, db_url, server, clock):
    body = ('<rss version="2.0"><channel><title>t</title><item><guid>1</guid><title>Smörgåsbord på Åre</title>'
            '</item></channel></rss>').encode("iso-8859-1")
    url = server.add("/latin1", body=body, content_type="application/rss+xml; charset=utf-8")
    config, engine = make_poller(tmp_path, db_url, clock, {"blog": url})
    assert poll_once(config, engine, clock)["blog"].new == 1
    with engine.connect() as conn:
        (row,) = mention_store.query(conn, mention_store.MentionFilter())
    assert row["title"] == "Smörgåsbord på Åre"


def test_silence_is_logged_once_and_its_end_once(tmp_path, db_url, server, clock, events):
    url = server.add_fixture("/feed", "atom/bearblog_herman.atom.xml")
    config, engine = make_poller(tmp_path, db_url, clock, {"blog": url})
    with engine.begin() as conn:  # a source that has brought something new about once a day
        conn.execute(source_store.sources.update().values(
            polls_with_new=11, first_new_at=clock() - timedelta(days=10), last_new_at=clock()))
    server.routes["/feed"].etag = False
    server.routes["/feed"].body = b'<rss version="2.0"><channel><title>t</title></channel></rss>'
    for days in (2, 4, 1):  # quiet for 2, then 6 (past four usual gaps), then 7 days
        clock.advance(days=days)
        assert poll_once(config, engine, clock)["blog"].ok
    assert state(engine, "blog").silent
    server.add_fixture("/feed", "atom/bearblog_herman.atom.xml")
    poll_once(config, engine, clock)
    names = [e["event"] for e in events()]
    assert names.count("source.silent") == 1 and names.count("source.active") == 1
    assert not state(engine, "blog").silent
