"""The wordpress connector against WordPress core's own REST answers (wp-api-generated.js) and a
real WordPress comment feed, served by the loopback server."""

import json

from feedserver import FIXTURES, Route, json_route
from polling import poll, setup, state, stored

from listener.connectors.wordpress import parse_comments
from listener.store.tables import sources

POSTS = "wordpress/wp_v2_posts_collection_wpcore.json"
COMMENTS = "wordpress/wp_v2_comments_collection_wpcore.json"


def source(url):
    return f'[[sources]]\nname = "blog"\nconnector = "wordpress"\nurl = "{url}"\n'


def test_two_polls_page_by_after_and_total_pages(tmp_path, server, clock):
    answers = {"posts": [], "comments": []}

    def respond(kind, fixture):
        def answer(received):
            answers[kind].append(received.query)
            if received.query.get("after") and received.query.get("include") is None:
                body = b"[]" if kind == "posts" else (FIXTURES / fixture).read_bytes()
                return Route(body=body, content_type="application/json", headers={"X-WP-TotalPages": "2"}, etag=False)
            return json_route(fixture)
        return answer

    server.add("/wp-json/wp/v2/posts", Route(respond=respond("posts", POSTS)))
    server.add("/wp-json/wp/v2/comments", Route(respond=respond("comments", COMMENTS)))
    config, engine = setup(tmp_path, clock, source(server.base))

    assert poll(config, engine, clock)["blog"].new == 2
    assert answers["posts"][0] == {"per_page": "100", "orderby": "date", "_embed": "author", "order": "desc", "page": "1"}
    assert state(engine, "blog").cursor == {"posts": "2017-02-14T00:00:00", "comments": "2017-02-14T00:00:00"}
    post, comment = stored(engine)
    assert post["url"] == "http://example.org/?p=4"
    assert (post["platform"], post["title"], post["text"]) == ("wordpress", "REST API Client Fixture: Post", "Updated post content.")
    assert comment["in_reply_to"] == "http://example.org/?p=4"  # a top-level comment replies to its post
    assert comment["author"] == "Internet of something or other" and comment["text"] == "This is a comment"

    clock.advance(minutes=15)
    assert poll(config, engine, clock)["blog"].ok
    later = answers["comments"][1:]
    assert [(q["after"], q["order"], q["page"]) for q in later] == [
        ("2017-02-13T23:59:59", "asc", "1"), ("2017-02-13T23:59:59", "asc", "2")]
    lookup = [q for q in answers["posts"] if "include" in q]  # the commented post was not in this poll
    assert lookup == [{"include": "4", "per_page": "100", "_fields": "id,guid,link"}]
    assert len(stored(engine)) == 2


def test_a_reply_names_its_parent_comment():
    comment = json.loads((FIXTURES / COMMENTS).read_text(encoding="utf-8"))[0]
    reply = {**comment, "id": 3, "parent": 2}
    top, answer = parse_comments([comment, reply], {}, "https://blog.example.se")
    assert top.in_reply_to == "https://blog.example.se/?p=4"
    assert answer.external_id == "https://blog.example.se/?p=4#comment-3"
    assert answer.in_reply_to == top.external_id


def test_rest_api_off_falls_back_to_the_comment_feed(tmp_path, server, clock):
    server.add("/wp-json/wp/v2/posts", status=401, body=b'{"code":"rest_login_required"}', content_type="application/json")
    server.add_fixture("/comments/feed/", "wordpress/wp_comments_feed_battlefieldanomalies.rss.xml")
    config, engine = setup(tmp_path, clock, source(server.base))
    outcome = poll(config, engine, clock)["blog"]
    assert outcome.ok and outcome.new == 10
    rows = stored(engine)
    assert {r["platform"] for r in rows} == {"wordpress"} and all(r["in_reply_to"] for r in rows)


def test_a_rejected_cursor_is_dropped_and_the_newest_page_read(tmp_path, server, clock):
    def posts(received):
        if "after" in received.query:
            return Route(status=400, body=b'{"code":"rest_invalid_param"}', content_type="application/json")
        return json_route(POSTS)

    server.add("/wp-json/wp/v2/posts", Route(respond=posts))
    server.add_json("/wp-json/wp/v2/comments", COMMENTS)
    config, engine = setup(tmp_path, clock, source(server.base))
    poll(config, engine, clock)
    with engine.begin() as conn:
        conn.execute(sources.update().values(cursor={"posts": "not a date", "comments": "2017-02-14T00:00:00"}))
    outcome = poll(config, engine, clock)["blog"]
    assert outcome.ok
    assert state(engine, "blog").cursor["posts"] == "2017-02-14T00:00:00"
    assert [r.query.get("after") for r in server.received("/wp-json/wp/v2/posts")][-2:] == ["not a date", None]


def test_server_errors_and_malformed_json_fail_the_poll(tmp_path, server, clock):
    server.add("/wp-json/wp/v2/posts", status=500, body=b"<html>error</html>")
    config, engine = setup(tmp_path, clock, source(server.base))
    assert "HTTP 500" in poll(config, engine, clock)["blog"].error
    server.add("/wp-json/wp/v2/posts", body=b"<html>not json</html>", content_type="text/html")
    assert "malformed JSON" in poll(config, engine, clock)["blog"].error
    assert stored(engine) == []
