import csv
import io
import json
import re

import pytest
from click.testing import CliRunner
from conftest import write_config

from listener.cli import cli


@pytest.fixture
def setup(tmp_path, server, db_url):
    comments = server.add_fixture("/comments", "wordpress/wp_comments_feed_battlefieldanomalies.rss.xml")
    broken = server.add("/broken", status=500)
    path = write_config(tmp_path, f"""
[[sources]]
name = "comments"
connector = "rss"
url = "{comments}"

[[sources]]
name = "broken"
connector = "rss"
url = "{broken}"
""", db_url)

    def run(*args):
        return CliRunner().invoke(cli, ["-c", str(path), *args], catch_exceptions=False)

    return run


def test_poll_prints_a_line_per_source_and_fails_if_any_failed(setup):
    result = setup("poll")
    assert result.exit_code == 1
    lines = sorted(result.stdout.strip().splitlines())
    assert lines[0].startswith("broken: FAILED: HTTP 500 from http://127.0.0.1:")
    assert lines[1].startswith("comments: ok, 10 items, 10 new, ")
    result = setup("poll", "--source", "comments")
    assert result.exit_code == 0
    assert result.stdout.startswith("comments: ok, not modified (304)")


def test_poll_unknown_source(setup):
    result = setup("poll", "--source", "nope")
    assert result.exit_code == 2 and 'no source named "nope"; known: comments, broken' in result.output


def test_mentions_json_has_the_promised_fields(setup):
    setup("poll")
    result = setup("mentions", "--format", "json")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 10
    first = rows[0]
    for key in ("id", "source", "platform", "url", "author", "title", "text", "lang", "label",
                "published_at", "first_seen_at", "in_reply_to"):
        assert key in first
    assert first["published_at"] == "2025-11-11T07:46:27Z"
    assert first["source"] == "comments" and first["platform"] == "wordpress"
    assert first["in_reply_to"] == "https://battlefieldanomalies.com/?page_id=1073"
    assert first["lang"] == "en" and first["label"] == "praise" and first["score"] > 0


def test_mentions_filters_and_formats(setup):
    setup("poll")
    assert len(setup("mentions", "--format", "json", "--limit", "3").stdout.splitlines()) == 3
    found = setup("mentions", "--format", "json", "--search", "nags head").stdout.splitlines()
    assert len(found) == 1 and "Nags Head" in json.loads(found[0])["text"]
    assert setup("mentions", "--since", "2025-11-11", "--format", "json").stdout.count("\n") == 1
    assert setup("mentions", "--since", "1d").stdout == "(nothing)\n"
    table = setup("mentions").stdout.splitlines()
    assert table[0].split() == ["id", "published_at", "source", "lang", "label", "author", "title", "text"]
    assert len(table) == 11
    rows = list(csv.DictReader(io.StringIO(setup("mentions", "--format", "csv").stdout)))
    assert len(rows) == 10 and rows[0]["author"] == "Graham Morris"
    bad = setup("mentions", "--since", "last tuesday")
    assert bad.exit_code == 2 and "neither a duration" in bad.output


def test_hostile_text_is_defused_in_table_and_csv(tmp_path, server, db_url):
    feed = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            '<item><guid>1</guid><title>=HYPERLINK("http://evil")</title>'
            '<description>clear screen \x1b[2J&#27;[31m red &#155;2J</description></item></channel></rss>')
    url = server.add("/evil", body=feed.encode())
    path = write_config(tmp_path, f'[[sources]]\nname = "evil"\nconnector = "rss"\nurl = "{url}"\n', db_url)
    def run(*a):
        return CliRunner().invoke(cli, ["-c", str(path), *a])
    assert run("poll").exit_code == 0
    table = run("mentions").stdout
    assert "\x1b" not in table and "\x9b" not in table
    rows = list(csv.DictReader(io.StringIO(run("mentions", "--format", "csv").stdout)))
    assert rows[0]["title"] == "'=HYPERLINK(\"http://evil\")"


def test_sources_shows_polling_state(setup):
    setup("poll")
    rows = {r["name"]: r for r in map(json.loads, setup("sources", "--format", "json").stdout.splitlines())}
    assert rows["broken"]["state"] == "failing" and rows["broken"]["failures"] == 1
    assert rows["broken"]["last_error"].startswith("HTTP 500")
    assert rows["comments"]["state"] == "ok" and rows["comments"]["last_success"].endswith("Z")
    table = setup("sources").stdout
    assert table.splitlines()[0].split()[:4] == ["name", "connector", "state", "last_success"]


def test_connectors_self_describe():
    result = CliRunner().invoke(cli, ["connectors"])
    assert result.exit_code == 0
    for kind in ("rss", "wordpress", "mastodon", "reddit", "hackernews", "youtube"):
        assert f"\n{kind}\n" in "\n" + result.stdout and f'connector = "{kind}"' in result.stdout
    assert "client_id_env: environment variable holding the app's client id (required)" in result.stdout
    assert "url: the address to read (default 'https://hn.algolia.com/api/v1')" in result.stdout


def test_db_upgrade(setup):
    result = setup("db", "upgrade")
    assert result.exit_code == 0 and re.fullmatch(r"schema at revision \w+\n", result.stdout)


def test_poll_refuses_a_disabled_source(tmp_path, db_url):
    path = write_config(tmp_path, '[[sources]]\nname = "off"\nconnector = "rss"\nurl = "http://127.0.0.1:9/"\nenabled = false\n', db_url)
    result = CliRunner().invoke(cli, ["-c", str(path), "poll", "--source", "off"])
    assert result.exit_code == 2 and 'source "off" has enabled = false in config.toml' in result.output
    result = CliRunner().invoke(cli, ["-c", str(path), "poll"])
    assert result.exit_code == 1 and "no enabled sources" in result.output
