"""Bluesky through Jetstream: recorded frames played by a real local WebSocket server."""

import asyncio
import io
import json
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ANY_PORT, write_config
from jetstream import recorded_frames, time_us
from processes import wait_for_mentions
from sqlalchemy import select

from listener import logs
from listener.config import ConfigError, load_config
from listener.connectors.bluesky import REWIND_US, parse_event
from listener.http import HttpClient
from listener.registry import registry
from listener.scheduler import Poller
from listener.store import sources as source_store
from listener.store.engine import make_engine, upgrade
from listener.store.tables import mentions, sources
from listener.streaming import StreamSupervisor

FRAMES = recorded_frames()
FIXTURES = Path(__file__).parent / "fixtures" / "bluesky"
REDISTRICTING = 25
"""Every one of the 25 recorded search results for "redistricting" says it; no other post does."""
HALF = [i for i, f in enumerate(FRAMES) if "redistricting" in f.lower()][REDISTRICTING // 2]
"""A frame about halfway through the matching posts (the older author feed comes first)."""


@pytest.fixture
def events():
    buf = io.StringIO()
    logs.configure("debug", "json", buf)
    return lambda: [json.loads(line) for line in buf.getvalue().splitlines()]


def setup(tmp_path, db_url, url, query="redistricting", extra=""):
    config = load_config(write_config(tmp_path, ANY_PORT + f"""
[scheduler]
stream_idle = "0.5s"
stream_max_read = "10s"
stream_checkpoint = "0.2s"

[[sources]]
name = "bsky"
connector = "bluesky"
url = "{url}"
query = "{query}"
{extra}
""", db_url))
    engine = make_engine(config.database_url)
    upgrade(engine)
    with engine.begin() as conn:
        source_store.sync(conn, config.sources, datetime.now(UTC))
    return config, engine


def poll(config, engine):
    async def go():
        async with HttpClient(config.http) as http:
            poller = Poller(config, engine, http, rng=random.Random(1))
            [state] = poller.claim(names=["bsky"])
            return await poller.poll(state)

    return asyncio.run(go())


def stored(engine):
    with engine.connect() as conn:
        return conn.execute(select(mentions).order_by(mentions.c.id)).all()


def cursor(engine):
    with engine.connect() as conn:
        return source_store.get_state(conn, "bsky").cursor


def test_frames_become_posts_with_threads_and_authors_by_did():
    events = [parse_event(frame) for frame in FRAMES]
    posts = [e.item for e in events if e.item is not None]
    assert len(posts) == len(FRAMES) - 3  # not the identity, account and delete events
    record = json.loads(FRAMES[0])
    first = posts[0]
    assert first.external_id == f"at://{record['did']}/app.bsky.feed.post/{record['commit']['rkey']}"
    assert first.url == f"https://bsky.app/profile/{record['did']}/post/{record['commit']['rkey']}"
    assert first.author.handle == record["did"] and first.platform == "bluesky"
    assert first.text == record["commit"]["record"]["text"]
    replies = [json.loads(f) for f in FRAMES if '"reply":' in f]
    assert replies
    by_id = {p.external_id: p for p in posts}
    for reply in replies:
        post = by_id[f"at://{reply['did']}/app.bsky.feed.post/{reply['commit']['rkey']}"]
        assert post.in_reply_to == reply["commit"]["record"]["reply"]["parent"]["uri"]
        assert post.in_reply_to.startswith("at://")
    identity = parse_event(FRAMES[1])
    assert identity.handle == (record["did"], "chriskenny.bsky.social")
    assert parse_event(FRAMES[-1]).item is None  # a deletion
    assert parse_event(FRAMES[-1]).time_us == time_us(FRAMES[-1])


@pytest.mark.parametrize("frame", ['{"did":"did:plc:x","time_us":17', b"\xff\xfe garbage", "[]", '{"kind":"commit"}'])
def test_a_garbled_frame_is_refused_with_a_reason(frame):
    with pytest.raises(ValueError):
        parse_event(frame)


def test_options_are_checked_when_the_config_loads(tmp_path):
    path = write_config(tmp_path, """
[[sources]]
name = "a"
connector = "bluesky"

[[sources]]
name = "b"
connector = "bluesky"
query = "(dramaten"

[[sources]]
name = "c"
connector = "bluesky"
query = "x"
hashtags = ["x"]
""")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = "\n".join(info.value.problems)
    assert "sources[0]: query is missing; Jetstream sends every post on Bluesky" in text
    assert "sources[1].query:" in text
    assert "sources[2].hashtags: unknown key" in text


def test_poll_reads_until_quiet_stores_matches_and_resumes_from_its_cursor(tmp_path, db_url, jetstream):
    server = jetstream(published=HALF + 1)
    config, engine = setup(tmp_path, db_url, server.url)
    first = poll(config, engine)
    assert first.ok, first.error
    assert server.paths == ["/subscribe?wantedCollections=app.bsky.feed.post"]
    assert cursor(engine) == time_us(FRAMES[HALF])
    rows = stored(engine)
    early = len(rows)
    assert 0 < early < REDISTRICTING
    assert all("redistricting" in r.text.lower() for r in rows)
    assert {r.platform for r in rows} == {"bluesky"}

    server.publish(len(FRAMES))
    second = poll(config, engine)
    assert second.ok and second.new == REDISTRICTING - early
    assert server.cursors()[1] == time_us(FRAMES[HALF]) - REWIND_US
    rows = stored(engine)
    assert len(rows) == len({r.external_id for r in rows}) == REDISTRICTING
    assert cursor(engine) == time_us(FRAMES[-1])
    assert sum(1 for r in rows if r.in_reply_to) == sum(
        1 for f in FRAMES if '"reply":' in f and "redistricting" in f.lower() and "app.bsky.feed.post" in f
    )


def test_handle_told_by_an_identity_event_is_the_authors_name(tmp_path, db_url, jetstream):
    server = jetstream()
    config, engine = setup(tmp_path, db_url, server.url, query="bskyr")
    assert poll(config, engine).ok
    did = json.loads(FRAMES[0])["did"]
    names = {(r.author_handle, r.author_name) for r in stored(engine)}
    assert (did, "chriskenny.bsky.social") in names
    assert all(name == "" for handle, name in names if handle != did)  # no identity event told theirs


def test_a_garbled_frame_is_skipped_and_the_stream_goes_on(tmp_path, db_url, jetstream, events):
    frames = FRAMES[:10] + ['{"did":"did:plc:x","time_us":17'] + FRAMES[10:]
    server = jetstream(frames)
    config, engine = setup(tmp_path, db_url, server.url)
    assert poll(config, engine).ok
    assert len(stored(engine)) == REDISTRICTING
    assert [e for e in events() if e["event"] == "stream.bad_frame"]


def test_a_rejected_cursor_is_dropped_and_the_stream_starts_from_now(tmp_path, db_url, jetstream, events):
    server = jetstream()
    server.reject_cursors_below = time_us(FRAMES[-1]) + 1
    config, engine = setup(tmp_path, db_url, server.url)
    with engine.begin() as conn:
        source_store.save_cursor(conn, source_store.get_state(conn, "bsky").id, time_us(FRAMES[0]))
    assert poll(config, engine).ok
    assert server.cursors() == [time_us(FRAMES[0]) - REWIND_US, None]
    assert len(stored(engine)) == REDISTRICTING
    [warning] = [e for e in events() if e["event"] == "stream.cursor_rejected"]
    assert warning["status"] == 400


def test_an_unreachable_stream_fails_the_poll_with_one_line(tmp_path, db_url):
    config, engine = setup(tmp_path, db_url, "ws://127.0.0.1:9/subscribe")
    outcome = poll(config, engine)
    assert not outcome.ok
    assert outcome.error.startswith("cannot connect to 127.0.0.1")
    assert cursor(engine) is None


def supervise(config, engine, until, first_delay=0.05, timeout=20.0, clock=None):
    """Run one stream supervisor until ``until()`` holds, then stop it as the daemon does."""

    async def go():
        async with HttpClient(config.http) as http:
            source = config.source("bsky")
            poller = Poller(config, engine, http, **({"clock": clock} if clock else {}))
            supervisor = StreamSupervisor(config, engine, http, registry()["bluesky"](), source, poller.router,
                                          poller.clock, poller.alerts_written, first_delay=first_delay)
            task = asyncio.create_task(supervisor.run())
            deadline = time.monotonic() + timeout
            while not until() and time.monotonic() < deadline and not task.done():
                await asyncio.sleep(0.05)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    asyncio.run(go())


def test_supervisor_reconnects_after_a_dropped_connection_and_a_truncated_frame(tmp_path, db_url, jetstream, events):
    server = jetstream()
    server.drop_after = 20
    server.truncate_after = 10
    config, engine = setup(tmp_path, db_url, server.url)
    supervise(config, engine, lambda: len(stored(engine)) >= REDISTRICTING and len(server.paths) >= 3)
    rows = stored(engine)
    assert len(rows) == len({r.external_id for r in rows}) == REDISTRICTING
    assert len(server.paths) >= 3 and all(c is not None for c in server.cursors()[1:])
    assert cursor(engine) == time_us(FRAMES[-1])
    names = [e["event"] for e in events()]
    assert names.count("stream.disconnected") >= 2 and names.count("stream.connected") >= 3
    assert "stream.failing" not in names  # a dropped connection that comes back is not a failure
    with engine.connect() as conn:
        assert conn.execute(select(sources.c.lease_until)).scalar_one() is None  # given back at shutdown


def test_supervisor_that_cannot_connect_says_failing_once_and_keeps_trying(tmp_path, db_url, events):
    config, engine = setup(tmp_path, db_url, "ws://127.0.0.1:9/subscribe")

    def failures():
        with engine.connect() as conn:
            return source_store.get_state(conn, "bsky").failures

    supervise(config, engine, lambda: failures() >= 3, first_delay=0.01)
    assert failures() >= 3
    names = [e["event"] for e in events()]
    assert names.count("stream.failing") == 1 and names.count("stream.retry") >= 3
    with engine.connect() as conn:
        state = source_store.get_state(conn, "bsky")
    assert state.last_error.startswith("cannot connect to 127.0.0.1")


def test_supervisor_stores_at_shutdown_and_a_restart_resumes_without_gap_or_duplicate(tmp_path, db_url, jetstream):
    server = jetstream(published=HALF + 1)
    config, engine = setup(tmp_path, db_url, server.url)
    supervise(config, engine, lambda: cursor(engine) == time_us(FRAMES[HALF]))
    early = {r.external_id for r in stored(engine)}
    assert cursor(engine) == time_us(FRAMES[HALF])

    server.publish(len(FRAMES))
    supervise(config, engine, lambda: len(stored(engine)) >= REDISTRICTING)
    rows = stored(engine)
    assert len(rows) == len({r.external_id for r in rows}) == REDISTRICTING
    assert early < {r.external_id for r in rows}
    assert server.cursors() == [None, time_us(FRAMES[HALF]) - REWIND_US]


def test_a_stream_quiet_for_longer_than_usual_is_silent_once_and_active_again(tmp_path, db_url, jetstream,
                                                                               events, clock):
    first_match = next(i for i, f in enumerate(FRAMES) if "redistricting" in f.lower())
    server = jetstream(published=first_match // 2)  # posts, none of them a match
    config, engine = setup(tmp_path, db_url, server.url)
    with engine.begin() as conn:  # a stream that has brought something new about once a day
        conn.execute(sources.update().values(polls_with_new=11, first_new_at=clock() - timedelta(days=10),
                                             last_new_at=clock()))

    def bsky():
        with engine.connect() as conn:
            return source_store.get_state(conn, "bsky")

    def story() -> bool:
        """Quiet for six days (no event at all), then unmatched posts, then matching ones."""
        state = bsky()
        if state.cursor == time_us(FRAMES[first_match // 2 - 1]) and clock() < start + timedelta(days=6):
            clock.advance(days=6)
        elif state.silent and server.published == first_match // 2:
            assert source_store.state_word(state) == "silent"
            server.publish(first_match)
        elif state.cursor == time_us(FRAMES[first_match - 1]) and server.published == first_match:
            assert state.silent
            server.publish(len(FRAMES))
        return len(stored(engine)) == REDISTRICTING and not state.silent

    start = clock()
    supervise(config, engine, story, clock=clock)
    assert server.published == len(FRAMES)
    silent = [e for e in events() if e["event"] == "source.silent"]
    assert len(silent) == 1 and silent[0]["source"] == "bsky" and silent[0]["usual_gap_s"] == 86400
    [active] = [e for e in events() if e["event"] == "source.active"]
    assert active["source"] == "bsky" and active["new"] > 0
    assert source_store.state_word(bsky()) == "ok"


def test_listener_run_streams_stores_at_sigterm_and_resumes_after_restart(tmp_path, jetstream, daemons):
    server = jetstream(published=HALF + 1)
    db = tmp_path / "listener.db"
    config, engine = setup(tmp_path, f"sqlite:///{db}", server.url)
    daemon = daemons(config.path, "first")
    assert wait_for_mentions(db, REDISTRICTING // 2 + 1, daemon) == REDISTRICTING // 2 + 1
    assert daemon.stop() == 0, daemon.output
    names = [e["event"] for e in daemon.events()]
    assert "stream.connected" in names and "poll.done" not in names  # supervised, never polled
    assert cursor(engine) == time_us(FRAMES[HALF])

    server.publish(len(FRAMES))
    daemon = daemons(config.path, "second")
    assert wait_for_mentions(db, REDISTRICTING, daemon) == REDISTRICTING
    assert daemon.stop() == 0, daemon.output
    rows = stored(engine)
    assert len(rows) == len({r.external_id for r in rows}) == REDISTRICTING
    assert server.cursors() == [None, time_us(FRAMES[HALF]) - REWIND_US]
    assert cursor(engine) == time_us(FRAMES[-1])


def test_sources_test_shows_what_would_be_stored_and_stores_nothing(tmp_path, db_url, jetstream, server):
    from click.testing import CliRunner

    from listener.cli import cli

    stream = jetstream()
    feed = server.add_fixture("/blog", "wordpress/wp_posts_feed_foolcontrol_v6.6.2.rss.xml")
    config, engine = setup(tmp_path, db_url, stream.url, extra=f"""
[[sources]]
name = "blog"
connector = "rss"
url = "{feed}"

[[sources]]
name = "down"
connector = "bluesky"
url = "ws://127.0.0.1:9/subscribe"
query = "x"
""")
    with engine.begin() as conn:
        source_store.save_cursor(conn, source_store.get_state(conn, "bsky").id, time_us(FRAMES[HALF]))
    runner = CliRunner()
    result = runner.invoke(cli, ["-c", str(config.path), "sources", "test", "bsky", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len([f for f in FRAMES[HALF:] if "redistricting" in f.lower()])
    assert all(row["new"] and row["external_id"].startswith("at://") for row in rows)
    assert stream.cursors() == [time_us(FRAMES[HALF]) - REWIND_US]

    result = runner.invoke(cli, ["-c", str(config.path), "sources", "test", "blog"])
    assert result.exit_code == 0 and "nothing stored" in result.stderr
    assert len(result.stdout.splitlines()) > 2

    result = runner.invoke(cli, ["-c", str(config.path), "sources", "test", "down"])
    assert result.exit_code == 1
    assert result.stdout.startswith("down: FAILED: cannot connect to 127.0.0.1")

    assert stored(engine) == []
    assert cursor(engine) == time_us(FRAMES[HALF])
    result = runner.invoke(cli, ["-c", str(config.path), "sources"])
    assert result.exit_code == 0 and "bsky" in result.stdout


def test_search_mode_signs_in_and_pages_through_searchposts(tmp_path, db_url, server, monkeypatch):
    from feedserver import Route, json_route

    monkeypatch.setenv("BSKY_APP_PASSWORD", "app-pass-1234")
    # No recording of createSession exists; its answer's fields are those the lexicon defines.
    session = b'{"accessJwt":"jwt-access-abc","refreshJwt":"jwt-refresh","handle":"me.example","did":"did:plc:me"}'
    server.add("/xrpc/com.atproto.server.createSession", body=session, content_type="application/json", etag=False)
    pages = {
        None: json_route("bluesky/searchPosts_q-redistricting.json"),
        "25": json_route("bluesky/getQuotes.json"),  # a second real page of posts, with no cursor: the end
    }
    server.add("/xrpc/app.bsky.feed.searchPosts", Route(respond=lambda r: pages[r.query.get("cursor")]))
    config, engine = setup(tmp_path, db_url, server.base, query="texas OR maps", extra="""mode = "search"
search = "redistricting"
identifier = "me.example"
password_env = "BSKY_APP_PASSWORD"
""")
    outcome = poll(config, engine)
    assert outcome.ok, outcome.error
    [login] = server.received("/xrpc/com.atproto.server.createSession")
    assert login.json() == {"identifier": "me.example", "password": "app-pass-1234"}
    searches = server.received("/xrpc/app.bsky.feed.searchPosts")
    assert [r.query.get("cursor") for r in searches] == [None, "25"]
    assert all(r.headers["authorization"] == "Bearer jwt-access-abc" for r in searches)
    assert searches[0].query["q"] == "redistricting" and "since" not in searches[0].query
    recorded = json.loads((FIXTURES / "searchPosts_q-redistricting.json").read_text())["posts"]
    newest = max(p["indexedAt"] for p in recorded)
    assert cursor(engine) == newest
    rows = stored(engine)
    assert rows and all(any(w in r.text.lower() for w in ("texas", "maps")) for r in rows)
    by_uri = {p["uri"]: p for p in recorded}
    for row in rows:
        post = by_uri[row.external_id]
        assert row.author_handle == post["author"]["did"]
        assert row.author_name == (post["author"].get("displayName") or post["author"]["handle"])
        assert row.in_reply_to == (post["record"].get("reply") or {}).get("parent", {}).get("uri")

    poll(config, engine)
    assert server.received("/xrpc/app.bsky.feed.searchPosts")[-1].query["since"] == newest
    assert len(stored(engine)) == len(rows)


def test_search_mode_without_its_password_is_an_authentication_problem(tmp_path, db_url, server, monkeypatch):
    monkeypatch.delenv("BSKY_APP_PASSWORD", raising=False)
    config, engine = setup(tmp_path, db_url, server.base, extra="""mode = "search"
search = "x"
identifier = "me.example"
password_env = "BSKY_APP_PASSWORD"
""")
    outcome = poll(config, engine)
    assert not outcome.ok and "set the environment variable BSKY_APP_PASSWORD" in outcome.error
    assert server.requests == []


def test_the_commented_example_in_config_toml_validates(tmp_path):
    text = (Path(__file__).parent.parent / "config.toml").read_text(encoding="utf-8")
    begin = text.index('# [[sources]]\n# name = "bluesky"')
    block = text[begin:text.index("\n\n", begin)]
    lines = [line[2:] for line in block.splitlines() if line.startswith(("# [[", "# ")) and " = " in line
             or line.startswith("# [[")]
    stream = [line for line in lines if not line.startswith(("mode", "search", "identifier", "password_env"))]
    for variant in (stream, lines):
        config = load_config(write_config(tmp_path, "\n".join(variant) + "\n"))
        [source] = config.sources
        assert source.connector == "bluesky" and source.options.query == "dramaten OR #dramaten"
    assert source.options.mode == "search"
