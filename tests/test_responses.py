"""Own accounts, replies found by the pipeline, recorded responses and their times, on SQLite and PostgreSQL."""

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from conftest import write_config
from sqlalchemy import select

from listener.cli import cli
from listener.config import load_config
from listener.domain import Author, Item
from listener.pipeline import SourceRef, process
from listener.responses import OwnAccounts, UnknownMention, record_response
from listener.routing import Router
from listener.store import responses as response_store
from listener.store import routing as routing_store
from listener.store import sources as source_store
from listener.store.tables import (
    departments,
    mention_routes,
    mentions,
    outbox,
    responses,
)

STHLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 11, 23, 16, 0, tzinfo=STHLM)  # a Monday

CONFIG = """
[organization]
name = "Dramaten"
accounts = ["Dramaten", "mastodon:@dramaten@mastodon.social"]

[routing]
default_department = "cs"

[[departments]]
name = "cs"
sinks = ["team"]
sla = "4h"
hours = "mon-fri 08:00-12:00,13:00-17:00"
timezone = "Europe/Stockholm"
holidays = "SE"
escalate_after = "75%"
escalation_sinks = ["lead"]

[[departments]]
name = "press"
sinks = ["team"]

[[sinks]]
name = "team"
type = "console"

[[sinks]]
name = "lead"
type = "console"

[[routes]]
name = "questions"
match = { question = true }
department = ["cs", "press"]
"""


def local(*args) -> datetime:
    return datetime(*args, tzinfo=STHLM)


@pytest.fixture
def setup(tmp_path, engine, db_url):
    from listener.config import Source
    from listener.connector import NoOptions

    path = write_config(tmp_path, CONFIG, db_url)
    config = load_config(path)
    router = Router.from_config(config)
    with engine.begin() as conn:
        names = ("blog", "toots", "toots-search")
        source_store.sync(conn, [Source(n, "rss", "http://x", timedelta(minutes=15), True, NoOptions()) for n in names], NOW)
        routing_store.sync_departments(conn, router)
        ids = {s.name: s.id for s in source_store.all_states(conn)}

    def feed(source: str, *items: Item, now: datetime = NOW):
        return process(engine, SourceRef(ids[source], source), items, now, router, own=OwnAccounts.from_config(config))

    return config, feed, path


ASA_TOOT, ASA_COMMENT = Author("Åsa", "@asa@example.social"), Author("Åsa", "")


def toot(n, published, author=ASA_TOOT, reply_to=None, text="Hur gör jag?"):
    return Item(f"t{n}", f"https://example.social/@x/{n}", "", text, published, author, "mastodon", reply_to)


def comment(n, published, author=ASA_COMMENT, post="post-1", text="Varför kom biljetterna aldrig?"):
    return Item(f"c{n}", f"https://blog.example/p/1#comment-{n}", f"By: {author.name}", text, published, author,
                "wordpress", post)


OWN_TOOT = Author("Dramaten", "@Dramaten@mastodon.social")


def routes(engine, external_id):
    q = (select(departments.c.name, mention_routes.c.first_response_at, mention_routes.c.response_s,
                mention_routes.c.business_response_s, mention_routes.c.due_at, mention_routes.c.escalate_at)
         .join(departments, departments.c.id == mention_routes.c.department_id)
         .join(mentions, mentions.c.id == mention_routes.c.mention_id)
         .where(mentions.c.external_id == external_id).order_by(departments.c.name))
    with engine.connect() as conn:
        return {r.name: r for r in conn.execute(q)}


def mention_id(engine, external_id):
    with engine.connect() as conn:
        return conn.execute(select(mentions.c.id).where(mentions.c.external_id == external_id)).scalar_one()


def test_own_accounts_match_handle_or_platform_handle_case_insensitively():
    own = OwnAccounts(["Peter", "mastodon:@dramaten@mastodon.social", "bluesky:dramaten.bsky.social"])
    assert own.owns("wordpress", Author("peter", ""))
    assert own.owns("reddit", Author("", "@PETER"))
    assert own.owns("mastodon", Author("Dramaten", "dramaten@Mastodon.social"))
    assert not own.owns("bluesky", Author("", "dramaten@mastodon.social"))
    assert own.owns("bluesky", Author("", "@dramaten.bsky.social"))
    assert not own.owns("mastodon", Author("Petra", "petra"))


def test_own_mentions_are_stored_but_never_routed_nor_alerted(engine, setup):
    _, feed, _ = setup
    feed("toots", toot(1, local(2026, 11, 23, 9)), toot(2, local(2026, 11, 23, 10), OWN_TOOT, text="Välkommen!"))
    with engine.connect() as conn:
        own = dict(conn.execute(select(mentions.c.external_id, mentions.c.own)).all())
        alerted = set(conn.execute(select(mentions.c.external_id).join(outbox, outbox.c.mention_id == mentions.c.id)).scalars())
    assert own == {"t1": False, "t2": True}
    assert alerted == {"t1"}
    assert routes(engine, "t2") == {}


def test_a_reply_by_an_own_account_is_the_response_in_each_departments_hours(engine, setup):
    _, feed, _ = setup
    feed("toots", toot(1, local(2026, 11, 23, 11)))  # a question: routed to cs and press
    before = routes(engine, "t1")
    assert before["cs"].due_at == local(2026, 11, 23, 16) and before["cs"].escalate_at == local(2026, 11, 23, 15)
    assert before["press"].due_at is None and before["press"].escalate_at is None
    feed("toots-search", toot(2, local(2026, 11, 23, 14), OWN_TOOT, reply_to="t1"))  # seen through another source
    after = routes(engine, "t1")
    assert {r.first_response_at for r in after.values()} == {local(2026, 11, 23, 14)}
    assert after["cs"].response_s == after["press"].response_s == 3 * 3600
    assert after["cs"].business_response_s == 2 * 3600  # lunch is not counted
    assert after["press"].business_response_s == 3 * 3600  # no hours: the clock always runs
    with engine.connect() as conn:
        (r,) = response_store.of_mention(conn, mention_id(engine, "t1"))
    assert (r.via, r.by, r.url) == ("auto", "Dramaten", "https://example.social/@x/2")


def test_a_reply_seen_before_its_mention_waits_and_is_matched_when_it_arrives(engine, setup):
    _, feed, _ = setup
    feed("toots", toot(2, local(2026, 11, 23, 14), OWN_TOOT, reply_to="t1"))
    with engine.connect() as conn:
        waiting = conn.execute(select(responses.c.mention_id, responses.c.reply_to)).all()
    assert [tuple(w) for w in waiting] == [(None, "t1")]
    feed("toots", toot(1, local(2026, 11, 23, 11)), now=NOW + timedelta(minutes=15))
    assert routes(engine, "t1")["cs"].first_response_at == local(2026, 11, 23, 14)
    with engine.connect() as conn:
        assert conn.execute(select(responses.c.mention_id)).scalars().all() == [mention_id(engine, "t1")]


def test_an_own_comment_answers_every_earlier_unanswered_comment_of_a_flat_thread(engine, setup):
    _, feed, _ = setup
    own = Author("Dramaten", "")
    feed("blog", comment(1, local(2026, 11, 23, 9)), comment(2, local(2026, 11, 23, 9, 30)),
         comment(3, local(2026, 11, 23, 10), own, text="Vi har skickat dem igen."),
         comment(4, local(2026, 11, 23, 10, 30)), comment(9, local(2026, 11, 23, 9), post="post-2"))
    answered = {c: routes(engine, c)["cs"].first_response_at for c in ("c1", "c2", "c4", "c9")}
    assert answered == {"c1": local(2026, 11, 23, 10), "c2": local(2026, 11, 23, 10), "c4": None, "c9": None}
    feed("blog", comment(5, local(2026, 11, 23, 11), own, text="Och nu svarar vi dig också."))
    assert routes(engine, "c4")["cs"].first_response_at == local(2026, 11, 23, 11)
    assert routes(engine, "c1")["cs"].first_response_at == local(2026, 11, 23, 10)  # the first answer still counts
    # a comment the feed shows late, published before our first answer, is answered by it
    feed("blog", comment(0, local(2026, 11, 23, 8, 45)), now=NOW + timedelta(hours=1))
    assert routes(engine, "c0")["cs"].first_response_at == local(2026, 11, 23, 10)


def test_the_earliest_response_counts_and_every_response_is_kept(engine, setup):
    config, feed, _ = setup
    feed("toots", toot(1, local(2026, 11, 20, 16)))  # Friday 16:00
    mid = mention_id(engine, "t1")
    with engine.begin() as conn:
        late = record_response(conn, config, mid, at=local(2026, 11, 24, 9), by="Sara", via="cli", now=NOW)
        early = record_response(conn, config, mid, at=local(2026, 11, 23, 9), by="Olle", via="cli", url="https://x/1",
                                note="answered by phone", now=NOW)
    assert late.first and not early.first and early.previous.by == "Sara"
    cs = routes(engine, "t1")["cs"]
    assert cs.first_response_at == local(2026, 11, 23, 9)
    assert cs.response_s == 65 * 3600            # Friday 16:00 → Monday 09:00
    assert cs.business_response_s == 2 * 3600    # Friday 16-17 and Monday 08-09
    with engine.connect() as conn:
        kept = response_store.of_mention(conn, mid)
    assert [(r.by, r.note) for r in kept] == [("Olle", "answered by phone"), ("Sara", "")]


def test_record_response_once_records_nothing_when_answered_and_refuses_unknown_input(engine, setup):
    config, feed, _ = setup
    feed("toots", toot(1, local(2026, 11, 23, 9)))
    mid = mention_id(engine, "t1")
    with engine.begin() as conn:
        assert record_response(conn, config, mid, at=NOW, by="", via="link", once=True).first
        again = record_response(conn, config, mid, at=NOW, by="", via="link", once=True)
    assert again.response_id is None and again.previous.via == "link"
    with engine.begin() as conn, pytest.raises(UnknownMention):
        record_response(conn, config, 9999, at=NOW, by="", via="cli")
    with engine.begin() as conn, pytest.raises(ValueError, match="via must be one of"):
        record_response(conn, config, mid, at=NOW, by="", via="email")


def test_listener_respond_records_a_response(engine, setup):
    _, feed, path = setup
    feed("toots", toot(1, local(2026, 11, 23, 9)))
    mid = mention_id(engine, "t1")
    result = CliRunner().invoke(cli, ["-c", str(path), "respond", str(mid), "--at", "2026-11-23T10:30:00+01:00",
                                      "--by", "Sara", "--url", "https://x/r", "--note", "phoned"])
    assert result.exit_code == 0, result.output
    assert "1h 30m" in result.output and "cs" in result.output
    cs = routes(engine, "t1")["cs"]
    assert cs.first_response_at == local(2026, 11, 23, 10, 30) and cs.business_response_s == 5400
    result = CliRunner().invoke(cli, ["-c", str(path), "respond", "9999"])
    assert result.exit_code != 0 and "no mention with id 9999" in result.output
    result = CliRunner().invoke(cli, ["-c", str(path), "respond", str(mid), "--at", "yesterday"])
    assert result.exit_code == 2 and "--at" in result.output


def test_listener_mentions_shows_own_and_response_fields(engine, setup):
    _, feed, path = setup
    feed("toots", toot(1, local(2026, 11, 23, 11)), toot(2, local(2026, 11, 23, 14), OWN_TOOT, reply_to="t1"))

    def listed(*args):
        result = CliRunner().invoke(cli, ["-c", str(path), "mentions", "--format", "json", *args])
        assert result.exit_code == 0, result.output
        return {row["id"]: row for row in map(json.loads, result.output.splitlines())}

    rows = listed()
    t1, t2 = rows[mention_id(engine, "t1")], rows[mention_id(engine, "t2")]
    assert (t1["own"], t2["own"]) == (False, True)
    assert t1["departments"] == ["cs", "press"] and t2["departments"] == []
    assert t1["first_response_at"] == "2026-11-23T13:00:00Z"
    assert t1["response_time_s"] == 3 * 3600
    assert t1["business_response_time_s"] == {"cs": 2 * 3600, "press": 3 * 3600}
    assert (t1["response_by"], t1["response_via"]) == ("Dramaten", "auto")
    assert t2["first_response_at"] is None and t2["response_via"] is None
    assert t1["text"] and "in_reply_to" in t1  # the fields that were there stay
    assert set(listed("--own")) == {mention_id(engine, "t2")}
    assert set(listed("--no-own")) == {mention_id(engine, "t1")}


def test_two_clicks_at_once_record_one_response(engine, setup):
    import threading

    config, feed, _ = setup
    feed("toots", toot(1, local(2026, 11, 23, 9)))
    mid = mention_id(engine, "t1")
    barrier, results = threading.Barrier(4), []

    def click():
        barrier.wait()
        with engine.begin() as conn:
            results.append(record_response(conn, config, mid, at=NOW, by="", via="link", once=True).response_id)

    threads = [threading.Thread(target=click) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and sum(r is not None for r in results) == 1
    with engine.connect() as conn:
        assert len(response_store.of_mention(conn, mid)) == 1
