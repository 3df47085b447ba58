"""Feeds whose bytes are not UTF-8 and that declare no charset (neither in HTTP nor in XML) are
decoded by detection. The fixtures under encoding/ are real feed text re-encoded (see
fixtures/README.md); feedparser_chardet_shiftjis.xml is a recording as found."""

import pytest
from feedserver import FIXTURES
from polling import poll, setup, stored

from listener.connectors.rss import parse_feed


def original_text(fixture: str, encoding: str) -> str:
    return (FIXTURES / fixture).read_bytes().decode(encoding)


@pytest.mark.parametrize(("fixture", "encoding", "expect"), [
    ("encoding/wp_comments_windows-1252_no_charset.rss.xml", "cp1252", "ç"),
    ("encoding/eucjp_feed_as_shift_jis_no_charset.rss.xml", "shift_jis", "ゲーム三昧な正月"),
    ("encoding/big5_feedparser_text_as_rss_item_no_charset.rss.xml", "big5", "我希望"),
    ("hostile/feedparser_chardet_shiftjis.xml", "shift_jis", "DrecomRSSに記事投稿が反映されない…"),
    ("hostile/feedparser_chardet_koi8r.xml", "koi8_r", "Как пережить новогоднюю ночь"),
])
def test_undeclared_encodings_are_detected(fixture, encoding, expect):
    items = parse_feed((FIXTURES / fixture).read_bytes(), charset=None)
    words = " ".join(i.title + " " + i.text for i in items)
    assert expect in words
    assert "\ufffd" not in words
    text = original_text(fixture, encoding)
    assert all(i.title in text for i in items if i.title and not i.title.startswith("By: "))


def test_windows_1252_punctuation_survives(tmp_path, server, clock):
    """Served with no charset at all, polled and stored: curly quotes and dashes, not mojibake."""
    server.add_fixture("/feed", "encoding/wp_comments_windows-1252_no_charset.rss.xml", content_type="application/rss+xml")
    config, engine = setup(tmp_path, clock,
                           f'[[sources]]\nname = "blog"\nconnector = "rss"\nurl = "{server.url("/feed")}"\n')
    assert poll(config, engine, clock)["blog"].new == 10
    texts = " ".join(r["text"] for r in stored(engine))
    assert "’" in texts and "–" in texts and "â€" not in texts


def test_a_declared_http_charset_still_wins_when_the_bytes_fit_it():
    body = (FIXTURES / "encoding/wp_comments_windows-1252_no_charset.rss.xml").read_bytes()
    items = parse_feed(body, charset="cp1252")
    assert any("’" in i.text for i in items)


def test_a_short_latin_text_is_read_as_windows_1252():
    body = "<rss><channel><item><title>Smörgåsbord på Åre – “bäst”</title></item></channel></rss>".encode("cp1252")
    (item,) = parse_feed(body, charset=None)
    assert item.title == "Smörgåsbord på Åre – “bäst”"
