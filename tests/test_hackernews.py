"""The hackernews connector against a loopback Algolia: it answers ``search_by_date`` over the real
items of a recorded HN thread (shazow/communal's ``/items/8828543``), filtering by
``numericFilters`` and paging as Algolia does, with its cap on reachable hits."""

import json
from datetime import UTC, datetime

import pytest
from conftest import FakeClock
from feedserver import FIXTURES, Route
from polling import poll, setup, state, stored

from listener.connectors import hackernews
from listener.connectors.hackernews import parse_hits
from listener.store.tables import sources


def thread_hits() -> list[dict]:
    """The recorded thread as Algolia hits: the story, and every comment with its parent."""
    story = json.loads((FIXTURES / "hackernews/algolia_items_8828543_comment_tree.json").read_text(encoding="utf-8"))
    hits = [{"objectID": str(story["id"]), "created_at": story["created_at"], "created_at_i": story["created_at_i"],
             "author": story["author"], "title": story["title"], "url": story["url"], "story_text": story.get("text"),
             "_tags": ["story", f"author_{story['author']}", f"story_{story['id']}"]}]

    def walk(node):
        for child in node.get("children") or []:
            hits.append({"objectID": str(child["id"]), "created_at": child["created_at"],
                         "created_at_i": child["created_at_i"], "author": child["author"],
                         "comment_text": child["text"], "parent_id": child["parent_id"],
                         "story_id": child["story_id"], "story_title": story["title"],
                         "_tags": ["comment", f"author_{child['author']}", f"story_{story['id']}"]})
            walk(child)

    walk(story)
    return hits


HITS = thread_hits()
STORY_AT = HITS[0]["created_at_i"]


def algolia(cap: int = 1000):
    def respond(received):
        q = received.query
        keep = list(HITS)
        for condition in filter(None, q.get("numericFilters", "").split(",")):
            if ">" in condition and "=" not in condition:
                keep = [h for h in keep if h["created_at_i"] > int(condition.split(">")[1])]
            elif "<=" in condition:
                keep = [h for h in keep if h["created_at_i"] <= int(condition.split("<=")[1])]
            else:
                return Route(status=400, body=b'{"message":"invalid numericFilters","status":400}',
                             content_type="application/json")
        keep.sort(key=lambda h: -h["created_at_i"])
        per_page, page = int(q.get("hitsPerPage", 20)), int(q.get("page", 0))
        reachable = keep[:cap]
        body = {"hits": reachable[page * per_page:(page + 1) * per_page], "nbHits": len(keep), "page": page,
                "nbPages": -(-len(reachable) // per_page), "hitsPerPage": per_page, "query": q.get("query", "")}
        return Route(body=json.dumps(body).encode(), content_type="application/json", etag=False)

    return Route(respond=respond)


def source(**options):
    body = '[[sources]]\nname = "hn"\nconnector = "hackernews"\nquery = "ssh"\nurl = "URL"\n'
    return body + "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())


@pytest.fixture
def later():
    return FakeClock(datetime(2015, 1, 10, tzinfo=UTC))


def test_first_poll_reads_the_newest_page_and_keeps_threads(tmp_path, server, later):
    server.add("/api/v1/search_by_date", algolia())
    config, engine = setup(tmp_path, later, source().replace("URL", server.url("/api/v1")))
    assert poll(config, engine, later)["hn"].new == 100
    (request,) = server.requests
    assert request.query == {"query": "ssh", "tags": "(story,comment)", "hitsPerPage": "100", "page": "0"}
    assert state(engine, "hn").cursor == max(h["created_at_i"] for h in HITS)
    first = next(r for r in stored(engine) if r["url"].endswith("=8829186"))
    assert first["in_reply_to"] == "8828543" and first["platform"] == "hackernews"
    assert first["text"].startswith("Somewhat relevant: I think Mosh solves")
    assert "https://news.ycombinator.com/item?id=8252093" in first["text"]  # entities decoded, tags gone
    assert first["author"] == first["author_handle"] == "silbak04"


def test_slices_by_time_past_the_hit_cap_oldest_first(tmp_path, server, later, monkeypatch):
    monkeypatch.setattr(hackernews, "HIT_CAP", 20)
    server.add("/api/v1/search_by_date", algolia(cap=20))
    config, engine = setup(tmp_path, later, source(hits_per_page=10).replace("URL", server.url("/api/v1")))
    with engine.begin() as conn:
        conn.execute(sources.update().values(cursor=STORY_AT))
    outcome = poll(config, engine, later)["hn"]
    assert outcome.ok and outcome.new == len(HITS) - 1  # every comment, none lost to the cap
    filters = [r.query["numericFilters"] for r in server.requests]
    assert all(f.startswith("created_at_i>") and ",created_at_i<=" in f for f in filters)
    assert all(int(r.query["page"]) * 10 < 20 for r in server.requests)
    lows = [int(f.split(",")[0].split(">")[1]) for f in filters]
    assert lows[0] == STORY_AT and lows == sorted(lows)  # slices are read oldest first
    assert state(engine, "hn").cursor == int(later().timestamp()) - hackernews.INDEX_LAG

    later.advance(minutes=15)
    assert poll(config, engine, later)["hn"].new == 0
    assert server.requests[-1].query["numericFilters"].startswith(f"created_at_i>{int(later().timestamp()) - 960}")


def test_a_rejected_cursor_starts_afresh(tmp_path, server, later):
    def answer(received):
        if "numericFilters" in received.query:
            return Route(status=400, body=b'{"message":"invalid","status":400}', content_type="application/json")
        return algolia().respond(received)

    server.add("/api/v1/search_by_date", Route(respond=answer))
    config, engine = setup(tmp_path, later, source().replace("URL", server.url("/api/v1")))
    with engine.begin() as conn:
        conn.execute(sources.update().values(cursor=STORY_AT))
    assert poll(config, engine, later)["hn"].ok
    assert state(engine, "hn").cursor is None
    assert poll(config, engine, later)["hn"].new == 100


@pytest.mark.parametrize(("route", "expect"), [
    (Route(status=429, headers={"Retry-After": "30"}, body=b""), "retry after 30s"),
    (Route(status=500, body=b"oops"), "HTTP 500"),
    (Route(body=b'{"hits": [', content_type="application/json"), "malformed JSON"),
    (Route(body=b'{"message": "no hits here"}', content_type="application/json"), "no hits"),
])
def test_error_paths(tmp_path, server, clock, route, expect):
    server.add("/api/v1/search_by_date", route)
    config, engine = setup(tmp_path, clock, source().replace("URL", server.url("/api/v1")))
    outcome = poll(config, engine, clock)["hn"]
    assert not outcome.ok and expect in outcome.error


def test_recorded_search_hits_parse():
    data = json.loads((FIXTURES / "hackernews/algolia_search_restrictSearchableAttributes-url.json").read_text(encoding="utf-8"))
    items = parse_hits(data["hits"])
    assert len(items) == 4 and items[0].title == "Why aren’t we using SSH for everything?"
    assert all(i.in_reply_to is None and i.platform == "hackernews" for i in items)
