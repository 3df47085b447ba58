"""SIGHUP reloads config.toml in a running `listener run`, keeping polling state and queued alerts."""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime

from conftest import write_config
from processes import DAEMON, running, wait_until
from sqlalchemy import create_engine, text

from listener.config import load_config
from listener.reload import changes

BASE = DAEMON + """
[alerts]
backoff = "1s"
max_backoff = "1s"
max_attempts = 1000

[routing]
default_department = "communications"

[[departments]]
name = "communications"
sinks = ["hook"]

[[departments]]
name = "support"
sinks = ["support-hook"]

[[sinks]]
name = "support-hook"
type = "webhook"
url = "{base}/support"

[[sources]]
name = "blog"
connector = "rss"
url = "{base}/blog"
interval = "1h"
"""


def rows(db, sql: str) -> list[tuple]:
    engine = create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def test_sighup_applies_sources_routes_and_sinks_and_survives_a_broken_config(tmp_path, server, daemons):
    server.add_fixture("/blog", "wordpress/wp_posts_feed_foolcontrol_v6.6.2.rss.xml")
    server.add_fixture("/herman", "atom/bearblog_herman.atom.xml")
    server.add_fixture("/news", "rss/ghost_404media.rss.xml")
    server.add("/down", status=500, content_type="text/plain", body=b"down")
    server.add("/hook", status=204, content_type="text/plain")
    server.add("/support", status=204, content_type="text/plain")
    db = tmp_path / "listener.db"
    base = BASE.format(base=server.base)
    broken_sink = '[[sinks]]\nname = "hook"\ntype = "webhook"\nurl = "{}"\n'
    path = write_config(tmp_path, base + broken_sink.format(server.url("/down")))
    daemon = daemons(path)

    # 1. the blog's ten alerts fail at a sink that answers 500, and wait in the outbox
    daemon.wait_for("poll.done", source="blog")
    wait_until(lambda: len(server.received("/down")) >= 10)
    assert rows(db, "select count(*) from outbox where state = 'pending'") == [(10,)]
    blog_before = rows(db, "select etag, next_poll_at, last_success_at from sources where name = 'blog'")

    # 2. a fixed sink URL, a new source and a route for it, live
    herman = '[[sources]]\nname = "herman"\nconnector = "rss"\nurl = "{}"\ninterval = "1h"\n'.format(
        server.url("/herman"))
    route = '[[routes]]\nname = "to-support"\nmatch = {{ source = "{}" }}\ndepartment = "support"\n'
    good = base + broken_sink.format(server.url("/hook")) + herman + route.format("herman")
    path.write_text(good)
    daemon.signal(signal.SIGHUP)
    (reloaded,) = daemon.wait_for("config.reloaded")
    assert reloaded["sources_added"] == ["herman"]
    assert reloaded["changed"] == ["sinks", "routes"]
    daemon.wait_for("poll.done", source="herman", timeout=10)  # polled at once, not in an hour
    wait_until(lambda: len(server.received("/hook")) == 10 and len(server.received("/support")) == 10)
    assert {r.json()["mention"]["source"] for r in server.received("/hook")} == {"blog"}
    assert {r.json()["mention"]["source"] for r in server.received("/support")} == {"herman"}
    assert rows(db, "select count(*) from outbox where state != 'sent'") == [(0,)]
    # the blog kept its validators and schedule: no refetch, no reset cursor
    assert rows(db, "select etag, next_poll_at, last_success_at from sources where name = 'blog'") == blog_before
    assert len(server.received("/blog")) == 1

    # 3. a broken config: every problem is logged, the daemon keeps the old one
    path.write_text(good + '[[sources]]\nname = "bad"\nconnector = "rss"\nurl = "{}"\ninterval = "5x"\n'
                    'colour = "red"\n'.format(server.url("/news")))
    daemon.signal(signal.SIGHUP)
    (kept,) = daemon.wait_for("config.kept")
    problems = [e["problem"] for e in daemon.events("config.invalid")]
    assert kept["problems"] == 2 and len(problems) == 2
    assert any("sources[2].interval" in p and '"5x" is not a duration' in p for p in problems)
    assert any("sources[2].colour: unknown key" in p for p in problems)
    assert daemon.proc.poll() is None
    assert rows(db, "select name from sources order by name") == [("blog",), ("herman",)]

    # 4. fixed: the route now takes the new source "news" to support; herman falls back to the default
    path.write_text(good.replace(route.format("herman"), route.format("news"))
                    + '[[sources]]\nname = "news"\nconnector = "rss"\nurl = "{}"\ninterval = "1h"\n'.format(
                        server.url("/news")))
    daemon.signal(signal.SIGHUP)
    second = daemon.wait_for("config.reloaded", count=2)[-1]
    assert second == {**second, "sources_added": ["news"], "changed": ["routes"]}
    daemon.wait_for("poll.done", source="news", timeout=10)
    ((news,),) = rows(db, "select count(*) from mentions join sources on sources.id = source_id "
                          "where sources.name = 'news'")
    assert news > 0
    wait_until(lambda: len(server.received("/support")) == 10 + news)
    assert {r.json()["mention"]["source"] for r in server.received("/support")[10:]} == {"news"}
    assert daemon.stop() == 0


def test_changes_name_what_a_reload_applies_and_what_needs_a_restart(tmp_path):
    body = '[[sources]]\nname = "a"\nconnector = "rss"\nurl = "http://127.0.0.1:9/a"\n'
    old = load_config(write_config(tmp_path, body))
    new = load_config(write_config(
        tmp_path, '[store]\nurl = "sqlite:///other.db"\n[http]\ntimeout = "5s"\n[scheduler]\ntick = "2s"\n'
        + body.replace("/a", "/a2") + body.replace('"a"', '"b"')))
    diff = changes(old, new)
    assert diff.sources_added == ("b",) and diff.sources_changed == ("a",) and diff.sources_removed == ()
    assert diff.sections == ("scheduler",)
    assert diff.needs_restart == ("store", "http")
    assert changes(new, old).sources_removed == ("b",)


def test_a_reload_schedules_new_digests_and_drops_removed_ones_but_not_other_jobs(tmp_path):
    import asyncio

    from listener.store.engine import make_engine, upgrade

    digest = '[[departments]]\nname = "{}"\ndigest = "0 8 * * mon-fri"\n'
    path = write_config(tmp_path, digest.format("press"))
    engine = make_engine(f"sqlite:///{tmp_path / 'listener.db'}")
    upgrade(engine)

    async def reload():
        async with running(load_config(path), engine) as daemon:
            before = sorted(job.id for job in daemon.scheduler.get_jobs())
            path.write_text(digest.format("support"))
            daemon.apply(load_config(path))
            return before, sorted(job.id for job in daemon.scheduler.get_jobs())

    before, after = asyncio.run(reload())
    others = [job for job in before if not job.startswith("digest:")]
    assert "escalation" in others and "poll-tick" in others
    assert before == sorted(["digest:press", *others])
    assert after == sorted(["digest:support", *others])


def test_sighup_starts_restarts_and_stops_a_stream_keeping_its_cursor(tmp_path, jetstream, daemons):
    from jetstream import recorded_frames, time_us

    from listener.connectors.bluesky import REWIND_US

    frames = recorded_frames()
    half = [i for i, f in enumerate(frames) if "redistricting" in f.lower()][12]
    texas_post = json.loads(next(f for f in frames if "texas" in f.lower() and "app.bsky.feed.post" in f))
    late = texas_post | {"time_us": time_us(frames[-1]) + 1, "commit": texas_post["commit"] | {"rkey": "late1"}}
    stream = jetstream(frames + [json.dumps(late)], published=half + 1)
    db = tmp_path / "listener.db"
    head = DAEMON.replace('tick = "1s"\n', 'tick = "1s"\nstream_checkpoint = "0.2s"\n')
    source = '[[sources]]\nname = "bsky"\nconnector = "bluesky"\nurl = "{}"\nquery = "{}"\n'
    path = write_config(tmp_path, head)
    daemon = daemons(path)
    daemon.started()

    def cursor():
        return rows(db, "select cursor from sources where name = 'bsky'")[0][0]

    def texts():
        return [t for (t,) in rows(db, "select text from mentions order by id")]

    # 1. added: streamed at once, from the start, and never polled
    path.write_text(head + source.format(stream.url, "redistricting"))
    daemon.signal(signal.SIGHUP)
    assert daemon.wait_for("config.reloaded")[0]["sources_added"] == ["bsky"]
    daemon.wait_for("stream.connected", source="bsky", timeout=10)
    wait_until(lambda: cursor() == time_us(frames[half]), what="the first checkpoint")
    early = texts()
    assert len(early) == 13 and all("redistricting" in t.lower() for t in early)

    # 2. changed: restarted with the new query from the stored cursor
    path.write_text(head + source.format(stream.url, "texas"))
    daemon.signal(signal.SIGHUP)
    assert daemon.wait_for("config.reloaded", count=2)[1]["sources_changed"] == ["bsky"]
    daemon.wait_for("stream.stopped", source="bsky")
    daemon.wait_for("stream.connected", count=2, source="bsky")
    assert stream.cursors() == [None, time_us(frames[half]) - REWIND_US]
    stream.publish(len(frames))
    wait_until(lambda: cursor() == time_us(frames[-1]), what="the rest of the stream")
    texas = texts()[len(early):]
    assert texas and all("texas" in t.lower() for t in texas)
    assert len(texas) == sum(1 for f in frames[half + 1:] if "texas" in f.lower() and "app.bsky.feed.post" in f)

    # 3. removed: stopped, its source given back, nothing more read
    path.write_text(head)
    daemon.signal(signal.SIGHUP)
    assert daemon.wait_for("config.reloaded", count=3)[2]["sources_removed"] == ["bsky"]
    daemon.wait_for("stream.stopped", count=2, source="bsky")
    assert rows(db, "select lease_until, in_config from sources where name = 'bsky'") == [(None, 0)]
    stream.publish(len(frames) + 1)  # a late post that the old query would have kept
    time.sleep(1.5)
    assert len(stream.paths) == 2
    assert daemon.stop() == 0
    assert len(texts()) == len(early) + len(texas)
    assert not daemon.events("poll.done") and not daemon.events("stream.crashed")


def test_the_web_pages_follow_a_reload(tmp_path, daemons):
    """A department, its route and a baseline added by SIGHUP show in the inbox, on the mention
    page's routing explanation and on the dashboard, with no restart."""
    import httpx
    from website import PASSWORD, csrf_of, fill
    from website import write_config as website_config

    path = website_config(tmp_path, f"sqlite:///{tmp_path / 'listener.db'}", port=0)
    ids = fill(path, datetime.now(UTC))
    daemon = daemons(path, env={"LISTENER_TEST_SECRET": "reload-test-secret-0123456789"})
    web = httpx.Client(base_url=daemon.web_url(), timeout=10)
    login = web.post("/login", data={"username": "admin", "password": PASSWORD,
                                     "csrf": csrf_of(web.get("/login").text)})
    assert login.status_code == 303, login.text

    def pages() -> tuple[str, str, str, int]:
        inbox = web.get("/").text
        mention = web.get(f"/mentions/{ids['c1']}").text
        dashboard = web.get("/dashboard").text
        return inbox, mention, dashboard, web.get("/", params={"department": "newsroom"}).status_code

    inbox, mention, dashboard, newsroom = pages()
    assert "newsroom" not in inbox + mention and "before-launch" not in dashboard and newsroom == 403

    path.write_text(path.read_text() + """
[[departments]]
name = "newsroom"
sla = "2h"

[[routes]]
name = "blog-to-newsroom"
match = { source = "blog" }
department = "newsroom"

[[baselines]]
name = "before-launch"
start = 2026-01-01
end = 2026-03-31
""")
    daemon.signal(signal.SIGHUP)
    reloaded = daemon.wait_for("config.reloaded")[0]
    assert {"departments", "routes"} <= set(reloaded["changed"])
    inbox, mention, dashboard, newsroom = pages()
    assert "<option>newsroom</option>" in inbox and newsroom == 200
    assert "newsroom" in mention.split('class="explain"')[1].split("</pre>")[0]
    assert '<option value="before-launch">' in dashboard
    assert daemon.stop() == 0
