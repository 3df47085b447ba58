"""The mastodon connector against recorded Mastodon answers (Mastodon.py's cassettes), served by
the loopback server, polled through the real Poller into a real store."""

import io
import json

import pytest
from feedserver import FIXTURES, Route, json_route
from polling import poll, setup, state, stored

from listener import logs
from listener.config import ConfigError, load_config
from listener.connectors.mastodon import parse_statuses

TAG = "fgiztsshwiaqqiztpmmjbtvmescsculuvmgjgopwoeidbcrixp"  # the tag of the paging recording
PAGE1 = "mastodon/timeline_tag_page1_limit10_local.json"  # newest ten
PAGE2 = "mastodon/timeline_tag_page2_limit10_local.json"  # the ten before
EMPTY = "mastodon/timeline_tag_page_empty_local.json"
TOKEN = "s3cr3t-m4st0d0n-t0k3n"


def source(url, **options):
    body = f'[[sources]]\nname = "masto"\nconnector = "mastodon"\nurl = "{url}"\n'
    for key, value in options.items():
        body += f"{key} = {json.dumps(value)}\n"
    return body


def tag_server(server):
    """A tag timeline that answers by min_id as Mastodon does: the page just above it."""
    pages = {None: PAGE2, "117020582169338211": PAGE1, "117020582251615632": EMPTY}

    def respond(received):
        return json_route(pages[received.query.get("min_id")], base=server.base)

    server.add(f"/api/v1/timelines/tag/{TAG}", Route(respond=respond))


def test_two_polls_follow_the_cursor_and_the_link_header(tmp_path, server, clock):
    tag_server(server)
    config, engine = setup(tmp_path, clock, source(server.base, hashtags=[f"#{TAG}"]))

    first = poll(config, engine, clock)["masto"]
    assert first.ok and first.new == 10
    (request,) = server.received(f"/api/v1/timelines/tag/{TAG}")
    assert request.query == {"limit": "40"}  # a new source reads only the newest page
    assert "authorization" not in request.headers
    assert state(engine, "masto").cursor == {f"tag:{TAG}": "117020582169338211"}

    clock.advance(minutes=15)
    second = poll(config, engine, clock)["masto"]
    assert second.ok and second.new == 10
    later = server.received(f"/api/v1/timelines/tag/{TAG}")[1:]
    assert [r.query.get("min_id") for r in later] == ["117020582169338211", "117020582251615632"]
    assert state(engine, "masto").cursor == {f"tag:{TAG}": "117020582251615632"}

    rows = stored(engine)
    assert len(rows) == 20 and {r["platform"] for r in rows} == {"mastodon"}
    newest = max(rows, key=lambda r: r["published_at"])
    assert newest["text"] == f"Toot number 29! #{TAG}"
    assert newest["author_handle"] == "@mastodonpy_test_2@localhost:3000"
    assert newest["url"] == "http://localhost:3000/@mastodonpy_test_2/117020582251615632"
    assert newest["in_reply_to"] is None


def test_search_sends_the_token_and_threads_replies_by_the_parents_uri(tmp_path, server, clock, monkeypatch):
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    server.add_json("/api/v2/search", "mastodon/search_v2_mastodon_social_q-halcy.json")
    server.add_json("/api/v1/statuses/116387872475672523", "mastodon/status_mastodon_social_110446183735368325.json")
    config, engine = setup(tmp_path, clock, source(server.base, query="halcy", token_env="MASTODON_TOKEN"))

    assert poll(config, engine, clock)["masto"].ok
    (search,) = server.received("/api/v2/search")
    assert search.headers["authorization"] == f"Bearer {TOKEN}"
    assert search.query["q"] == "halcy" and search.query["type"] == "statuses"
    lookups = sorted(r.route for r in server.requests if r.route.startswith("/api/v1/statuses/"))
    assert lookups == ["/api/v1/statuses/116387872475672523", "/api/v1/statuses/116387888508422624"]
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in server.requests)

    rows = {r["author_handle"]: r for r in stored(engine)}
    jo = rows["@Jo@social.sublingual.xyz"]
    assert jo["in_reply_to"] == "https://mastodon.social/users/halcy/statuses/110446183735368325"
    assert jo["author"] == "Sublingual Multimedia"
    assert jo["url"] == "https://social.sublingual.xyz/@Jo/116388107097123650"
    greg = rows["@greg@icosahedron.website"]  # its parent is gone (404): named by its address
    assert greg["in_reply_to"] == f"{server.base}/api/v1/statuses/116387888508422624"


def test_the_same_status_on_two_instances_is_linked_by_its_uri(tmp_path, server, clock):
    server.add_json("/one/api/v1/timelines/tag/hoot", "mastodon/timeline_tag_hoot_local.json")
    server.add_json("/two/api/v1/timelines/tag/hoot", "mastodon/timeline_tag_hoot_local.json")
    body = source(server.base + "/one", hashtags=["hoot"]) + source(server.base + "/two", hashtags=["hoot"]).replace(
        'name = "masto"', 'name = "masto2"')
    config, engine = setup(tmp_path, clock, body)
    poll(config, engine, clock, ["masto"])
    poll(config, engine, clock, ["masto2"])
    first, second = stored(engine)
    assert first["text"] == "#hoot (hashtag toot)"  # too short for the text fingerprint to count
    assert second["duplicate_of"] == first["id"] and first["duplicate_of"] is None


def test_a_reply_in_the_recording_names_its_parent():
    status = json.loads((FIXTURES / "mastodon/status_reply_local.json").read_text(encoding="utf-8"))
    (item,) = parse_statuses([status], "http://localhost:3000", {"117020583245459824": "http://localhost:3000/ap/x/1"})
    assert item.in_reply_to == "http://localhost:3000/ap/x/1"
    assert item.text == "@mastodonpy_test_2 same!"
    assert item.author.handle == "@admin@localhost:3000"


@pytest.fixture
def captured():
    buf = io.StringIO()
    logs.configure("debug", "json", buf)
    return buf


def test_a_refused_token_is_one_authentication_problem_that_never_shows_the_token(tmp_path, server, clock,
                                                                                  monkeypatch, captured):
    monkeypatch.setenv("MASTODON_TOKEN", TOKEN)
    server.add("/api/v2/search", status=401, body=b'{"error":"The access token is invalid"}',
               content_type="application/json")
    config, engine = setup(tmp_path, clock, source(server.base, query="halcy", token_env="MASTODON_TOKEN"))
    outcome = poll(config, engine, clock)["masto"]
    assert not outcome.ok
    assert "authentication problem" in outcome.error and "MASTODON_TOKEN" in outcome.error
    after = state(engine, "masto")
    assert after.next_poll_at - clock() >= config.scheduler.max_backoff  # retried only at the cap
    clock.advance(hours=7)
    poll(config, engine, clock)
    events = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert [e["event"] for e in events].count("source.auth_failed") == 1
    assert "source.failing" not in [e["event"] for e in events]
    assert TOKEN not in captured.getvalue() and TOKEN not in outcome.error + (after.last_error or "")


@pytest.mark.parametrize(("route", "expect"), [
    (Route(status=429, headers={"Retry-After": "600"}, body=b""), "retry after 600s"),
    (Route(status=502, body=b"bad gateway"), "HTTP 502"),
    (Route(body=b'[{"id": "1", "uri": ', content_type="application/json"), "malformed JSON"),
])
def test_error_paths_fail_the_poll_with_one_line_and_store_nothing(tmp_path, server, clock, route, expect):
    server.add("/api/v1/timelines/tag/hoot", route)
    config, engine = setup(tmp_path, clock, source(server.base, hashtags=["hoot"]))
    outcome = poll(config, engine, clock)["masto"]
    assert not outcome.ok and expect in outcome.error and "\n" not in outcome.error
    assert stored(engine) == []
    if route.status == 429:
        assert (state(engine, "masto").next_poll_at - clock()).total_seconds() >= 600


def test_options_are_checked_when_the_config_loads(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('[[sources]]\nname = "m"\nconnector = "mastodon"\nquery = "x"\n\n'
                    '[[sources]]\nname = "n"\nconnector = "mastodon"\n\n'
                    '[[sources]]\nname = "o"\nconnector = "mastodon"\nhashtags = ["two words"]\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    problems = err.value.problems
    assert any("sources[0]" in p and "token_env" in p for p in problems)
    assert any("sources[1]" in p and "hashtags" in p for p in problems)
    assert any("sources[2].hashtags" in p and "one word" in p for p in problems)
    ok = tmp_path / "ok.toml"
    ok.write_text('[[sources]]\nname = "m"\nconnector = "mastodon"\nhashtags = ["dramaten"]\n')
    assert load_config(ok).sources[0].url == "https://mastodon.social"
