"""The reddit connector against PRAW's recorded Reddit answers, served by the loopback server:
the app token, listings, pacing by x-ratelimit-*, threads and error paths."""

import base64
import io
import json

import pytest
from feedserver import FIXTURES, Route, json_route
from polling import poll, setup, state, stored

from listener import logs
from listener.connectors import reddit
from listener.store.tables import sources

CLIENT_ID = "cl13nt-1d-value"
SECRET = "cl13nt-s3cr3t-value"
TOKEN = "t0k3n-fr0m-r3dd1t"


@pytest.fixture(autouse=True)
def credentials(monkeypatch):
    monkeypatch.setenv("REDDIT_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("REDDIT_CLIENT_SECRET", SECRET)
    reddit._tokens.clear()
    yield
    reddit._tokens.clear()


def token_route(**kwargs):
    body = {"access_token": TOKEN, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
    return Route(body=json.dumps(body).encode(), content_type="application/json", etag=False, **kwargs)


def source(server, **options):
    body = (f'[[sources]]\nname = "reddit"\nconnector = "reddit"\nurl = "{server.base}"\n'
            f'token_url = "{server.url("/api/v1/access_token")}"\n'
            'client_id_env = "REDDIT_CLIENT_ID"\nclient_secret_env = "REDDIT_CLIENT_SECRET"\n')
    for key, value in options.items():
        body += f"{key} = {json.dumps(value)}\n"
    return body


def serve_kakapo(server):
    server.add("/api/v1/access_token", token_route())
    server.add_json("/search", "reddit/search_r_all_q-praw-oauth-search.json")
    server.add_json("/r/kakapo/new", "reddit/comments_2gmzqe.json")
    server.add_json("/r/kakapo/comments", "reddit/r_kakapo_comments_limit100.json")


def test_app_token_listings_and_threads(tmp_path, server, clock):
    serve_kakapo(server)
    config, engine = setup(tmp_path, clock, source(server, subreddits=["r/kakapo"], query="praw oauth"))
    outcome = poll(config, engine, clock)["reddit"]
    assert outcome.ok and outcome.new == 6 + 3 + 16

    (grant,) = server.received("/api/v1/access_token")
    assert grant.form == {"grant_type": "client_credentials"}
    assert grant.headers["authorization"] == "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
    search, new, comments = (server.received(p)[0] for p in ("/search", "/r/kakapo/new", "/r/kakapo/comments"))
    for request in (search, new, comments):
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        assert request.headers["user-agent"].startswith("server:listener:")
        assert request.query["raw_json"] == "1" and request.query["limit"] == "100"
    assert search.query["q"] == "praw oauth" and search.query["sort"] == "new"

    rows = {r["url"].rstrip("/").rsplit("/", 1)[-1]: r for r in stored(engine)}
    reply = rows["dgauydy"]
    assert reply["in_reply_to"] == "t1_dg7dqfd" and reply["text"] == "i lick it"
    assert reply["author"] == reply["author_handle"] == "butt_woman" and reply["platform"] == "reddit"
    assert rows["dg7dqfd"]["in_reply_to"] == "t3_654eqk"  # a top-level comment replies to its post
    assert state(engine, "reddit").cursor["r/kakapo/comments"] == 1492274908.0


def test_the_token_is_kept_until_it_expires_and_the_cursor_pages_back(tmp_path, server, clock):
    serve_kakapo(server)
    pages = []

    def comments(received):
        pages.append(received.query.get("after"))
        if received.query.get("after"):
            return json_route("reddit/r_kakapo_comments_before_empty.json")
        listing = json.loads((FIXTURES / "reddit/r_kakapo_comments_limit100.json").read_text(encoding="utf-8"))
        listing["data"]["after"] = "t1_dg3s290"  # as a full page names the next, older one
        return Route(body=json.dumps(listing).encode(), content_type="application/json", etag=False)

    server.add("/r/kakapo/comments", Route(respond=comments))
    config, engine = setup(tmp_path, clock, source(server, subreddits=["kakapo"]))
    poll(config, engine, clock)
    assert pages == [None]  # a new source reads one page
    with engine.begin() as conn:
        conn.execute(sources.update().values(cursor={"r/kakapo/comments": 1.0, "r/kakapo/new": 1.0}))
    clock.advance(minutes=15)
    assert poll(config, engine, clock)["reddit"].ok
    assert pages == [None, None, "t1_dg3s290"]
    assert len(server.received("/api/v1/access_token")) == 1
    clock.advance(days=2)
    poll(config, engine, clock)
    assert len(server.received("/api/v1/access_token")) == 2


def test_a_spent_rate_limit_ends_the_poll_and_moves_the_next_one(tmp_path, server, clock):
    serve_kakapo(server)
    server.add("/search", json_route("reddit/search_r_all_q-praw-oauth-search.json",
                                     headers={"x-ratelimit-remaining": "0.0", "x-ratelimit-used": "600",
                                              "x-ratelimit-reset": "300"}))
    config, engine = setup(tmp_path, clock, source(server, subreddits=["kakapo"], query="praw"))
    outcome = poll(config, engine, clock)["reddit"]
    assert outcome.ok and outcome.new == 6  # what was read is kept
    assert server.received("/r/kakapo/new") == []
    assert (state(engine, "reddit").next_poll_at - clock()).total_seconds() >= 290
    assert "r/kakapo/new" not in state(engine, "reddit").cursor


def test_recorded_rate_limit_headers_are_read():
    from datetime import UTC, datetime

    from feedserver import recorded_headers

    from listener.http import parse_rate_limit

    rate = parse_rate_limit({k.lower(): v for k, v in recorded_headers("reddit/comments_ablzuq_limit1_with_more.json").items()},
                            datetime.now(UTC))
    assert rate.remaining == 598.0 and rate.used == 2 and rate.reset_in.total_seconds() == 298


def test_refused_credentials_say_which_variables_and_never_show_them(tmp_path, server, clock):
    buf = io.StringIO()
    logs.configure("debug", "json", buf)
    server.add("/api/v1/access_token", status=401, body=b'{"message": "Unauthorized", "error": 401}',
               content_type="application/json")
    server.add_json("/r/kakapo/new", "reddit/comments_2gmzqe.json")
    config, engine = setup(tmp_path, clock, source(server, subreddits=["kakapo"]))
    outcome = poll(config, engine, clock)["reddit"]
    assert "authentication problem" in outcome.error and "REDDIT_CLIENT_ID" in outcome.error
    assert server.received("/r/kakapo/new") == []
    for secret in (CLIENT_ID, SECRET, base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()):
        assert secret not in buf.getvalue() and secret not in outcome.error


def test_a_token_the_api_refuses_is_fetched_again_once(tmp_path, server, clock):
    serve_kakapo(server)
    server.add("/r/kakapo/new", status=401, body=b"{}", content_type="application/json")
    config, engine = setup(tmp_path, clock, source(server, subreddits=["kakapo"], comments=False))
    outcome = poll(config, engine, clock)["reddit"]
    assert not outcome.ok and "REDDIT_CLIENT_ID" in outcome.error and TOKEN not in outcome.error
    assert len(server.received("/api/v1/access_token")) == 2 and len(server.received("/r/kakapo/new")) == 2


@pytest.mark.parametrize(("route", "expect"), [
    (Route(status=429, headers={"Retry-After": "120"}, body=b""), "retry after 120s"),
    (Route(status=503, body=b"down"), "HTTP 503"),
    (Route(body=b'{"kind": "Listing", "data": {', content_type="application/json"), "malformed JSON"),
])
def test_error_paths(tmp_path, server, clock, route, expect):
    serve_kakapo(server)
    server.add("/r/kakapo/new", route)
    config, engine = setup(tmp_path, clock, source(server, subreddits=["kakapo"]))
    outcome = poll(config, engine, clock)["reddit"]
    assert not outcome.ok and expect in outcome.error
    assert stored(engine) == []


def test_a_missing_secret_is_named(tmp_path, server, clock, monkeypatch):
    monkeypatch.delenv("REDDIT_CLIENT_SECRET")
    serve_kakapo(server)
    config, engine = setup(tmp_path, clock, source(server, subreddits=["kakapo"]))
    outcome = poll(config, engine, clock)["reddit"]
    assert "set the environment variable REDDIT_CLIENT_SECRET" in outcome.error
    assert server.received("/api/v1/access_token") == []


def test_a_credentials_directory_is_read(tmp_path, server, clock, monkeypatch):
    monkeypatch.delenv("REDDIT_CLIENT_SECRET")
    folder = tmp_path / "creds"
    folder.mkdir()
    (folder / "REDDIT_CLIENT_SECRET").write_text(SECRET + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(folder))
    serve_kakapo(server)
    config, engine = setup(tmp_path, clock, source(server, subreddits=["kakapo"], comments=False))
    assert poll(config, engine, clock)["reddit"].ok
    (grant,) = server.received("/api/v1/access_token")
    assert grant.headers["authorization"] == "Basic " + base64.b64encode(f"{CLIENT_ID}:{SECRET}".encode()).decode()
