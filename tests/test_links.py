"""The "answered" link: its signature and expiry, and the pages behind it (GET shows, POST records once)."""

import io
import re
from datetime import timedelta

import pytest
from alerting import COMPLAINT, poll_and_deliver, setup
from sqlalchemy import func, select
from starlette.testclient import TestClient

from listener import logs
from listener.store.tables import mention_routes, mentions, responses
from listener.web.app import build_app
from listener.web.links import LIFETIME, BadLink, ExpiredLink, sign, verify

KEY = "a-long-random-secret-for-tests"
WEB = '\n[web]\nsecret_env = "TEST_LINK_SECRET"\npublic_url = "https://listener.example.org/"\n'
HOSTILE = "<script>alert(1)</script> Min leverans är sen! <img src=https://evil.example/x>"


def test_a_token_says_which_mention_and_department_until_it_expires(clock):
    token = sign(KEY, 42, "kundtjänst", clock())
    claim = verify(KEY, token, clock() + LIFETIME - timedelta(seconds=1))
    assert (claim.mention_id, claim.department) == (42, "kundtjänst")
    assert claim.expires == clock() + timedelta(days=30)
    with pytest.raises(ExpiredLink):
        verify(KEY, token, clock() + LIFETIME)


@pytest.mark.parametrize("how", ["another mention", "signature changed", "signature cut off",
                                 "another installation", "garbage", "empty"])
def test_a_token_changed_in_any_way_is_refused(clock, how):
    token = sign(KEY, 42, "kundtjänst", clock())
    payload, _, mac = token.partition(".")
    tampered = {
        "another mention": sign(KEY, 43, "kundtjänst", clock()).partition(".")[0] + "." + mac,
        "signature changed": payload + "." + mac[::-1],
        "signature cut off": payload,
        "another installation": sign("another-installation", 42, "kundtjänst", clock()),
        "garbage": "garbage",
        "empty": "",
    }[how]
    with pytest.raises(BadLink):
        verify(KEY, tampered, clock())


@pytest.fixture
def linked(tmp_path, db_url, server, clock, monkeypatch):
    """A polled comment feed whose complaint was alerted with a link; the app over the same database."""
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")
    monkeypatch.setenv("TEST_LINK_SECRET", KEY)
    _, config, engine = setup(tmp_path, db_url, server, texts=(COMPLAINT,), extra=WEB)
    poll_and_deliver(config, engine, clock)
    with engine.begin() as conn:  # feeds lose their tags on the way in; another connector's text may not
        conn.execute(mentions.update().values(text=HOSTILE))
    (hook,) = server.received("/hook")
    url = hook.json()["answered_url"]
    client = TestClient(build_app(config, engine, clock), base_url="https://listener.example.org")
    yield url, client, engine
    engine.dispose()


def count_responses(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(responses)).scalar_one()


def test_the_alert_carries_a_link_that_get_only_shows(linked):
    url, client, engine = linked
    assert re.fullmatch(r"https://listener\.example\.org/answered/[\w-]+\.[\w-]+", url)
    for _ in range(3):  # a mail scanner fetching it, and a person opening it twice
        page = client.get(url)
        assert page.status_code == 200
    assert count_responses(engine) == 0
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>" not in page.text
    assert "<img" not in page.text and not re.search(r"<[^>]*\ssrc=", page.text)  # nothing loaded from anywhere
    assert re.findall(r'href="([^"]*)"', page.text) == ["https://blogg.example.se/p/#comment-100"]
    assert '<form method="post">' in page.text and "customer-service" in page.text


def test_post_records_the_response_once(linked, clock):
    url, client, engine = linked
    clock.advance(hours=2)
    first = client.post(url, data={"by": "Sara  Svensson"})
    assert first.status_code == 200 and "Recorded" in first.text
    assert first.headers["cache-control"] == "no-store"
    second = client.post(url)
    assert second.status_code == 200 and "Already answered" in second.text and "Sara Svensson" in second.text
    with engine.connect() as conn:
        kept = conn.execute(select(responses.c.via, responses.c.by, responses.c.responded_at)).all()
        route = conn.execute(select(mention_routes.c.first_response_at, mention_routes.c.response_s)).one()
        published = conn.execute(select(mentions.c.published_at)).scalar_one()
    assert [(v, b) for v, b, _ in kept] == [("link", "Sara Svensson")]
    assert route.first_response_at == clock() and route.response_s == (clock() - published).total_seconds()
    again = client.get(url)
    assert "Already answered" in again.text and "<form" not in again.text


def test_expired_tampered_and_unsigned_links_say_what_happened(linked, clock, monkeypatch):
    url, client, engine = linked
    mac = url.rpartition(".")[2]
    tampered = url.replace(mac, mac[::-1])
    for method in (client.get, client.post):
        refused = method(tampered)
        assert refused.status_code == 403 and "not valid" in refused.text
    clock.advance(days=31)
    for method in (client.get, client.post):
        expired = method(url)
        assert expired.status_code == 410 and "expired" in expired.text and "listener respond" in expired.text
    monkeypatch.delenv("TEST_LINK_SECRET")
    assert client.post(url).status_code == 503
    assert count_responses(engine) == 0


def test_a_link_to_a_deleted_mention_is_a_404(linked):
    url, client, engine = linked
    with engine.begin() as conn:
        conn.execute(mentions.delete())
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404


def test_without_a_secret_alerts_carry_no_link_and_the_log_says_so_once(tmp_path, db_url, server, clock, monkeypatch):
    log = io.StringIO()
    logs.configure("info", "json", log)
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")
    monkeypatch.delenv("TEST_LINK_SECRET", raising=False)
    _, config, engine = setup(tmp_path, db_url, server, extra=WEB)
    assert poll_and_deliver(config, engine, clock)[1] == 3
    assert [r.json()["answered_url"] for r in server.received("/hook")] == [None] * 3
    assert log.getvalue().count('"alerts.without_answered_link"') == 1
    engine.dispose()


def test_the_link_secret_may_be_a_systemd_credential(tmp_path, monkeypatch, clock):
    from conftest import write_config

    from listener.config import load_config
    from listener.web.links import Links

    monkeypatch.delenv("LISTENER_SECRET", raising=False)
    config = load_config(write_config(tmp_path, "[web]\nlisten = \"127.0.0.1:8750\"\n"))
    assert Links.of(config) is None
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "LISTENER_SECRET").write_text(KEY + "\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    url = Links.of(config).url(7, "cs", clock())
    assert url.startswith("http://127.0.0.1:8750/answered/")
    assert verify(KEY, url.rpartition("/")[2], clock()).mention_id == 7


def test_a_failing_handler_is_one_log_line_and_a_500_page(tmp_path, monkeypatch, clock):
    from conftest import write_config

    from listener.config import load_config
    from listener.store.engine import make_engine

    monkeypatch.setenv("LISTENER_SECRET", KEY)
    log = io.StringIO()
    logs.configure("info", "json", log)
    config = load_config(write_config(tmp_path, ""))
    empty = make_engine(f"sqlite:///{tmp_path / 'not-upgraded.db'}")  # no tables: every query fails
    client = TestClient(build_app(config, empty, clock), raise_server_exceptions=False)
    token = sign(KEY, 1, "cs", clock())
    page = client.get(f"/answered/{token}")
    assert page.status_code == 500 and "Something went wrong" in page.text
    (line,) = [entry for entry in log.getvalue().splitlines() if "web.failed" in entry]
    assert '"route": "/answered/{token}"' in line and token not in line
    empty.dispose()
