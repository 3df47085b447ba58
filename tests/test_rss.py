import json
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest
from polling import poll, setup, stored

from listener.connectors.rss import FeedError, parse_feed, unwrap_redirect

FIXTURES = Path(__file__).parent / "fixtures"
ALL_FEEDS = sorted(
    p for d in ("rss", "atom", "wordpress", "youtube", "hostile") for p in (FIXTURES / d).iterdir()
)


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("path", ALL_FEEDS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_recorded_feed_is_parsed_or_refused_clearly(path):
    """Never a crash, never an entity expansion, bounded memory."""
    body = path.read_bytes()
    tracemalloc.start()
    try:
        items = parse_feed(body)
    except FeedError as exc:
        assert str(exc).startswith(("not a readable feed: ", "empty response")), exc
        items = []
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert peak < 20 * len(body) + 5_000_000
    for item in items:
        assert item.external_id
        assert item.published_at is None or item.published_at.tzinfo == UTC
        assert "<p>" not in item.text and "<br" not in item.text
        assert "lol" * 10 not in item.text and "lol" * 10 not in item.title


@pytest.mark.parametrize("name", [
    "hostile/defusedxml_xmlbomb.xml", "hostile/defusedxml_xmlbomb2.xml", "hostile/defusedxml_quadratic.xml",
    "hostile/defusedxml_external.xml", "hostile/defusedxml_cyclic.xml", "hostile/defusedxml_dtd.xml",
])
def test_entity_attacks_are_refused(name):
    with pytest.raises(FeedError, match="not a readable feed"):
        parse_feed(read(name))


def test_external_entity_never_reads_local_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    feed = f"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>t</title>
<item><title>&xxe;</title><link>http://x/1</link><description>&xxe;</description></item>
</channel></rss>""".encode()
    items = parse_feed(feed)
    assert all("TOP-SECRET" not in i.title + i.text for i in items)


def test_wordpress_comment_points_at_its_post():
    items = parse_feed(read("wordpress/wp_comments_feed_battlefieldanomalies.rss.xml"))
    assert len(items) == 10
    first = items[0]
    assert first.external_id == "https://battlefieldanomalies.com/?page_id=1073#comment-210335"
    assert first.in_reply_to == "https://battlefieldanomalies.com/?page_id=1073"
    assert first.platform == "wordpress"
    assert first.author.name == "Graham Morris"
    assert first.published_at == datetime(2025, 11, 11, 7, 46, 27, tzinfo=UTC)
    assert first.text.startswith("In reply to Brett Bentley-Leek.\nThanks for contacting me Brett.")
    assert first.url == "https://battlefieldanomalies.com/comment-page-1/#comment-210335"


def test_wordpress_post_feed():
    items = parse_feed(read("wordpress/wp_posts_feed_notevenwrong_wfw_slash.rss.xml"))
    assert len(items) == 10
    assert {i.platform for i in items} == {"wordpress"}
    assert all(i.in_reply_to is None for i in items)
    assert items[0].title == "Weil Anima"


def test_html_is_plain_text_and_entities_decoded():
    items = parse_feed(read("atom/google_alerts_slack.atom.xml"))
    assert "<b>" not in items[0].title and "&amp;" not in items[0].text
    feed = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><guid>g1</guid><title>Caf&#233; &amp; Bar</title>
<description><![CDATA[<p>Hej&nbsp;&amp; <b>v\xc3\xa4lkommen</b></p><script>alert(1)</script><p>  rad   tv\xc3\xa5 </p>]]></description>
</item></channel></rss>"""
    (item,) = parse_feed(feed)
    assert item.title == "Caf\u00e9 & Bar"
    assert item.text == "Hej & v\u00e4lkommen\nrad tv\u00e5"


def test_external_id_falls_back_to_link_then_content_hash():
    feed = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>only link</title><link>http://example.org/a</link></item>
<item><title>no id</title><description>words</description></item>
</channel></rss>"""
    linked, hashed = parse_feed(feed)
    assert linked.external_id == "http://example.org/a"
    assert hashed.external_id.startswith("sha256:") and len(hashed.external_id) == 71
    assert parse_feed(feed)[1].external_id == hashed.external_id


def test_rss10_atom_and_json_feed():
    assert len(parse_feed(read("rss/dw_rss10.rdf.xml"))) == 141
    atom = parse_feed(read("wordpress/wp_posts_feed_langorigami.atom.xml"))
    assert atom[0].title == "The Eaton Fire" and atom[0].author.name == "bugfolder"
    items = parse_feed(read("rss/jsonfeed_v1_humanwhocodes.json"))
    assert len(items) == 10 and "<p>" not in items[0].text and items[0].text.startswith("Supabase uses JWT")
    assert json.loads(read("rss/jsonfeed_v1_feedjira.json"))["items"][0]["id"] == parse_feed(read("rss/jsonfeed_v1_feedjira.json"))[0].external_id


def test_http_charset_decides_when_the_document_does_not():
    body = '<rss version="2.0"><channel><title>t</title><item><guid>1</guid><title>Smörgåsbord</title></item></channel></rss>'
    (item,) = parse_feed(body.encode("iso-8859-1"), charset="iso-8859-1")
    assert item.title == "Smörgåsbord"
    (item,) = parse_feed(body.encode("iso-8859-1"), charset="utf-8")  # the server lied
    assert item.title == "Smörgåsbord"


def test_declared_encodings_are_honoured():
    items = parse_feed(read("hostile/miniflux_encoding_windows-1251.xml"))
    assert items[0].title == "Цитата #17703"
    assert parse_feed(read("hostile/utf16_encoded_small.xml"))[0].title == "UTF-16 Entry 1"


@pytest.mark.parametrize("body", [b"", b"   ", b"<html><body>Moved</body></html>", b"{\"not\": \"a feed\"}", b"\x00\xff garbage"])
def test_not_a_feed(body):
    with pytest.raises(FeedError):
        parse_feed(body)


def test_google_alerts_links_are_unwrapped_and_highlighting_removed(tmp_path, server, clock):
    server.add_fixture("/alert", "atom/google_alerts_slack.atom.xml", content_type="application/atom+xml")
    body = f'[[sources]]\nname = "alert"\nconnector = "rss"\nurl = "{server.url("/alert")}"\nunwrap_redirects = true\n'
    config, engine = setup(tmp_path, clock, body)
    assert poll(config, engine, clock)["alert"].ok
    rows = stored(engine)
    assert rows and not any("google.com/url" in r["url"] for r in rows)
    assert "https://investorplace.com/2019/07/slack-stock-truly-compelling/" in {r["url"] for r in rows}
    raw = read("atom/google_alerts_slack.atom.xml").decode()
    assert "&lt;b&gt;" in raw or "<b>" in raw
    assert not any("<b>" in r["title"] + r["text"] or "&lt;b" in r["title"] + r["text"] for r in rows)
    assert any("Slack" in r["title"] for r in rows)


def test_unwrapping_leaves_other_links_alone():
    assert unwrap_redirect("https://example.org/?url=https://elsewhere.example") == "https://example.org/?url=https://elsewhere.example"
    assert unwrap_redirect("https://www.google.se/url?q=https://blog.example.se/a&sa=U") == "https://blog.example.se/a"
    assert unwrap_redirect("https://www.google.com/url?url=javascript:alert(1)") == "https://www.google.com/url?url=javascript:alert(1)"
