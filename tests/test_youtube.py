"""The youtube connector: a recorded channel feed, and Data API commentThreads answers written
from the API reference (no recording of them exists; see fixtures/README.md)."""

import io
import json

from feedserver import Route, json_route
from polling import poll, setup, state, stored

from listener import logs
from listener.connectors.youtube import parse_videos
from listener.store.tables import sources

CHANNEL = "UC5NOEUbkLheQcaaRldYW5GA"
KEY = "AIzaSyTESTKEY-not-a-real-one-123"


def source(server, **options):
    body = (f'[[sources]]\nname = "yt"\nconnector = "youtube"\nurl = "{server.base}"\nchannel_id = "{CHANNEL}"\n'
            f'api_url = "{server.url("/youtube/v3")}"\n')
    return body + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())


def serve(server):
    server.add_fixture("/feeds/videos.xml", "youtube/youtube_channel_feeddeck.atom.xml",
                       content_type="application/atom+xml; charset=UTF-8")

    def threads(received):
        page = "page2" if received.query.get("pageToken") else "page1"
        return json_route(f"youtube/commentThreads_{page}_written.json")

    server.add("/youtube/v3/commentThreads", Route(respond=threads))


def test_videos_with_their_description_and_comments_threaded(tmp_path, server, clock, monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    serve(server)
    config, engine = setup(tmp_path, clock, source(server, api_key_env="YOUTUBE_API_KEY"))
    outcome = poll(config, engine, clock)["yt"]
    assert outcome.ok and outcome.new == 2 + 3
    (feed,) = server.received("/feeds/videos.xml")
    assert feed.query == {"channel_id": CHANNEL}
    (api,) = server.received("/youtube/v3/commentThreads")
    assert api.query["key"] == KEY and api.query["allThreadsRelatedToChannelId"] == CHANNEL
    assert api.query["part"] == "snippet,replies" and api.query["order"] == "time"

    rows = {r["url"]: r for r in stored(engine)}
    video = rows["https://www.youtube.com/watch?v=oiBPyTi7lvM"]
    assert video["platform"] == "youtube" and video["text"].startswith("Bundeskanzler Olaf Scholz hat sich")
    assert video["author"] == "tagesschau"
    question = rows["https://www.youtube.com/watch?v=oiBPyTi7lvM&lc=UgzKp3v9wq1LZ8nF0cF4AaABAg"]
    assert question["in_reply_to"] == "yt:video:oiBPyTi7lvM" and question["author_handle"] == "@kritischerbuerger"
    answer = rows["https://www.youtube.com/watch?v=oiBPyTi7lvM&lc=UgzKp3v9wq1LZ8nF0cF4AaABAg.AaABAg9zQx1"]
    assert answer["in_reply_to"] == "yt:comment:UgzKp3v9wq1LZ8nF0cF4AaABAg" and answer["author_handle"] == "@tagesschau"
    assert state(engine, "yt").cursor == {"day": "2026-11-23", "units": 1, "comments": "2023-12-11T16:20:05+00:00"}

    with engine.begin() as conn:  # comments older than the cursor's: the next poll pages to them
        conn.execute(sources.update().values(cursor={"day": "2026-11-23", "units": 1,
                                                     "comments": "2023-12-11T15:00:00+00:00"}))
    clock.advance(minutes=15)
    assert poll(config, engine, clock)["yt"].new == 1
    tokens = [r.query.get("pageToken") for r in server.received("/youtube/v3/commentThreads")]
    assert tokens == [None, None, "QURTSl9pM2xQZzNvTmxPT0x"]
    assert state(engine, "yt").cursor["units"] == 3


def test_the_daily_quota_is_never_exceeded(tmp_path, server, clock, monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    serve(server)
    buf = io.StringIO()
    logs.configure("debug", "json", buf)
    config, engine = setup(tmp_path, clock, source(server, api_key_env="YOUTUBE_API_KEY", daily_quota=2))
    for _ in range(3):
        assert poll(config, engine, clock)["yt"].ok
        clock.advance(minutes=15)
    assert len(server.received("/youtube/v3/commentThreads")) == 2
    assert "youtube.quota_spent" in buf.getvalue()
    clock.advance(days=1)
    poll(config, engine, clock)
    assert len(server.received("/youtube/v3/commentThreads")) == 3
    assert state(engine, "yt").cursor["units"] == 1 and state(engine, "yt").cursor["day"] == "2026-11-24"
    assert len(server.received("/feeds/videos.xml")) == 4


def test_a_refused_key_is_named_but_never_shown(tmp_path, server, clock, monkeypatch):
    monkeypatch.setenv("YOUTUBE_API_KEY", KEY)
    buf = io.StringIO()
    logs.configure("debug", "json", buf)
    serve(server)
    server.add("/youtube/v3/commentThreads", status=403, content_type="application/json",
               body=b'{"error": {"code": 403, "message": "The request cannot be completed because you have exceeded your quota."}}')
    config, engine = setup(tmp_path, clock, source(server, api_key_env="YOUTUBE_API_KEY"))
    outcome = poll(config, engine, clock)["yt"]
    assert "authentication problem" in outcome.error and "YOUTUBE_API_KEY" in outcome.error
    assert "commentThreads?" in outcome.error and "key=" not in outcome.error
    server.add("/youtube/v3/commentThreads", status=500, body=b"backend error")
    later = poll(config, engine, clock)["yt"]
    assert "HTTP 500" in later.error
    for text in (outcome.error, later.error, buf.getvalue(), state(engine, "yt").last_error):
        assert KEY not in text


def test_without_a_key_only_videos_are_read(tmp_path, server, clock):
    serve(server)
    config, engine = setup(tmp_path, clock, source(server))
    assert poll(config, engine, clock)["yt"].new == 2
    assert server.received("/youtube/v3/commentThreads") == []


def test_media_description_of_a_recorded_feed():
    from feedserver import FIXTURES

    items = parse_videos((FIXTURES / "youtube/youtube_channel_artoftheproblem.atom.xml").read_bytes())
    assert len(items) == 15 and all(i.external_id.startswith("yt:video:") for i in items)
    assert items[0].text.startswith("FULL VIDEO: https://www.youtube.com/watch?v=f8O3XMrC8hg")
