"""Each sink against a real local receiver: formatting, and hostile text defused."""

import asyncio
import email
import email.policy
import re
import socket
from datetime import UTC, datetime, timedelta

import pytest
from aiosmtpd.controller import Controller
from conftest import Inbox

from listener.alerts.email import EmailSink
from listener.alerts.render import card
from listener.alerts.sinks import make_sink
from listener.alerts.slack import mattermost_payload, slack_payload
from listener.alerts.teams import teams_payload
from listener.config import SinkConfig
from listener.store.routing import Pending

HOSTILE = ("<!channel> <!here> <@U024BE7LH> @here @channel @all *bold* _it_ ~x~ `code` "
           "[click](https://evil.example/x) <https://evil.example|press> https://evil.example/y www.evil.example "
           "<script>alert(1)</script> <b>html</b> &amp; \u202eevil\u202c")


def alert(text=HOSTILE, title="Subject\r\nBcc: victim@example.org", n=1, priority="high", url="https://blogg.example.se/p/#c1"):
    return Pending(
        id=n, delivery_id=f"d{n:031d}", sink="s", department="customer-service", priority=priority, rule="complaints",
        attempts=0,
        mention={"id": n, "url": url, "title": title, "text": text, "author": "Åsa <@U1>", "author_handle": "@asa",
                 "source": "blogg", "platform": "wordpress", "lang": "sv", "label": "criticism", "score": -0.8,
                 "question": False, "published_at": datetime(2026, 11, 23, 9, 30, tzinfo=UTC)},
    )


def strings(payload):
    if isinstance(payload, dict):
        for v in payload.values():
            yield from strings(v)
    elif isinstance(payload, list):
        for v in payload:
            yield from strings(v)
    elif isinstance(payload, str):
        yield payload


def test_every_alert_shows_the_promised_facts():
    c = card(alert())
    facts = dict(c.facts)
    assert set(facts) == {"Department", "Priority", "Label", "Language", "Source", "Author", "Published", "Rule"}
    assert facts["Published"] == "2026-11-23 09:30 UTC" and facts["Rule"] == "complaints"
    assert c.url == "https://blogg.example.se/p/#c1"
    assert "\n" not in c.headline and "\r" not in c.headline
    assert card(alert(text="x" * 5000)).text.endswith("…") and len(card(alert(text="x" * 5000)).text) == 600
    assert card(alert(url="javascript:alert(1)")).url is None


def test_slack_cannot_ping_or_link():
    payload = slack_payload([alert()])
    assert "<!" not in payload["text"] and "<@" not in payload["text"]
    for block in payload["blocks"]:
        for obj in [block.get("text")] + block.get("fields", []):
            assert obj is None or obj["type"] == "plain_text"  # never mrkdwn for stranger text
    texts = list(strings(payload))
    assert not any("https://evil" in t or "www.evil" in t for t in texts)
    buttons = [e for b in payload["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["url"] for b in buttons] == ["https://blogg.example.se/p/#c1"]


def test_mattermost_cannot_ping_or_format():
    payload = mattermost_payload([alert()])
    texts = list(strings(payload))
    assert not any(re.search(r"(?<![\w\u200b])@(here|channel|all|asa)\b", t) for t in texts)
    a = payload["attachments"][0]
    assert "\\*bold\\*" in a["text"] and "\\[click\\]" in a["text"] and "\\<script\\>" in a["text"]
    assert not any("https://evil" in t for t in texts)
    assert a["title_link"] == "https://blogg.example.se/p/#c1"


def test_teams_card_escapes_markdown():
    payload = teams_payload([alert()])
    content = payload["attachments"][0]["content"]
    assert content["type"] == "AdaptiveCard" and payload["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    body_text = [b["text"] for b in content["body"] if b["type"] == "TextBlock"]
    assert any("\\*bold\\*" in t and "\\[click\\]" in t for t in body_text)
    assert not any("https://evil" in t for t in strings(payload))
    assert content["actions"] == [{"type": "Action.OpenUrl", "title": "Open the original", "url": "https://blogg.example.se/p/#c1"}]


@pytest.mark.parametrize("kind, path", [("slack", "/slack"), ("mattermost", "/mm"), ("teams", "/teams")])
def test_chat_sinks_post_their_payload(server, kind, path):
    url = server.add(path, body=b"ok", content_type="text/plain", etag=False)

    async def go():
        import httpx

        async with httpx.AsyncClient() as http:
            await make_sink(SinkConfig(name="c", type=kind, url=url), http).send([alert()])

    asyncio.run(go())
    (request,) = server.received(path)
    payload = request.json()
    assert request.headers["content-type"] == "application/json"
    expected = {"slack": slack_payload, "mattermost": mattermost_payload, "teams": teams_payload}[kind]([alert()])
    assert payload == expected


def send_mail(port, alerts, tls="none"):
    config = SinkConfig.model_validate({
        "name": "mail", "type": "email", "smtp": f"smtp://127.0.0.1:{port}",
        "tls": tls, "from": "listener@example.org", "to": ["kundservice@example.org", "pr@example.org"],
    })
    asyncio.run(EmailSink(config).send(alerts))


def test_email_has_plain_and_html_parts_and_a_stable_message_id(smtp):
    port, inbox = smtp
    send_mail(port, [alert()])
    send_mail(port, [alert()])  # a resend after a crash
    (sender, rcpts, raw), (_, _, raw_again) = inbox.messages
    assert sender == "listener@example.org" and rcpts == ["kundservice@example.org", "pr@example.org"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    again = email.message_from_bytes(raw_again, policy=email.policy.default)
    assert msg["Message-ID"] == again["Message-ID"] == f"<{'d' + '0' * 30 + '1'}@example.org>"
    subject = " ".join(msg["Subject"].split())  # unfolded
    assert "Bcc" not in msg and subject.startswith("[high] criticism for customer-service: Subject Bcc:")
    plain = msg.get_body(("plain",)).get_content()
    html_part = msg.get_body(("html",)).get_content()
    assert "Department: customer-service" in plain and "Original: https://blogg.example.se/p/#c1" in plain
    assert "<script>" not in html_part and "&lt;script&gt;" in html_part
    assert html_part.count("<a href=") == 1 and 'href="https://blogg.example.se/p/#c1"' in html_part


def test_email_digest_is_one_message(smtp):
    port, inbox = smtp
    send_mail(port, [alert(n=1), alert(n=2, priority="normal"), alert(n=3, priority="low")])
    assert len(inbox.messages) == 1
    msg = email.message_from_bytes(inbox.messages[0][2], policy=email.policy.default)
    assert msg["Subject"] == "listener digest for customer-service: 3 mentions"
    assert msg.get_body(("plain",)).get_content().count("Department: customer-service") == 3


def test_dead_smtp_server_is_a_retryable_error():
    from listener.alerts.sink import DeliveryError

    config = SinkConfig.model_validate({"name": "mail", "type": "email", "smtp": "smtp://127.0.0.1:9", "tls": "none",
                                        "from": "a@example.org", "to": ["b@example.org"], "timeout": "2s"})
    with pytest.raises(DeliveryError) as err:
        asyncio.run(EmailSink(config).send([alert()]))
    assert not err.value.permanent and "SMTP 127.0.0.1:9" in str(err.value)


def test_console_sink_prints_defused_text(capsys):
    from listener.alerts.console import ConsoleSink

    asyncio.run(ConsoleSink(SinkConfig(name="c", type="console")).send([alert(text="ring \x1b[31m https://evil.example")]))
    out = capsys.readouterr().out
    assert "\x1b" not in out and "https://evil" not in out and "Department: customer-service" in out


def test_retry_after_header_as_date():
    from listener.http import parse_retry_after

    now = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 23 Nov 2026 12:01:00 GMT", now) == timedelta(minutes=1)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, trusted through SSL_CERT_FILE for these tests."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                       serialization.NoEncryption()))
    return folder / "cert.pem", folder / "key.pem"


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_email_over_tls_with_login(certificate, monkeypatch, tls):
    import ssl

    from aiosmtpd.smtp import AuthResult

    cert, key = certificate
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "hunter2")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"hunter2")

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # aiosmtpd only knows STARTTLS as "TLS" for its auth_require_tls; implicit TLS is TLS from the first byte
    options = ({"tls_context": context, "require_starttls": True, "auth_require_tls": True} if tls == "starttls"
               else {"ssl_context": context, "auth_require_tls": False})
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=authenticator, **options)
    controller.start()
    try:
        config = SinkConfig.model_validate({
            "name": "mail", "type": "email", "smtp": f"smtp://alerts@127.0.0.1:{port}", "tls": tls,
            "password_env": "TEST_SMTP_PASSWORD", "from": "listener@example.org", "to": ["cs@example.org"],
        })
        asyncio.run(EmailSink(config).send([alert()]))
    finally:
        controller.stop()
    assert logins == [(b"alerts", b"hunter2")]
    assert len(inbox.messages) == 1


def test_a_comment_is_headlined_by_its_words_not_its_by_line():
    comment = alert(text="Leveransen är sen igen", title="Av: Åsa")
    comment.mention["in_reply_to"] = "https://blogg.example.se/?p=1"
    assert card(comment).headline == "[high] criticism for customer-service: Leveransen är sen igen"
    assert card(alert(text="Leveransen är sen igen", title="Om leveranser")).headline.endswith(": Om leveranser")


def test_a_bad_secret_url_is_not_repeated_in_the_error(monkeypatch):
    from listener.alerts.sink import DeliveryError

    monkeypatch.setenv("TEST_CHAT_URL", "http://127.0.0.1:s3cr3t/services")  # a mangled secret URL

    async def go():
        import httpx

        async with httpx.AsyncClient() as http:
            await make_sink(SinkConfig(name="c", type="slack", url_env="TEST_CHAT_URL"), http).send([alert()])

    with pytest.raises(DeliveryError) as err:
        asyncio.run(go())
    assert "s3cr3t" not in str(err.value)


LINK = "https://listener.example.org/answered/WzEsImNzIiwxXQ.c2lnbmF0dXJl"


def linked(**kw):
    from dataclasses import replace

    return replace(alert(**kw), answered_url=LINK)


def test_every_sink_carries_the_answered_link():
    from listener.alerts.console import render
    from listener.alerts.webhook import body

    assert card(linked()).answered_url == LINK and card(alert()).answered_url is None
    assert f"Mark as answered: {LINK}" in render(linked()) and "answered" not in render(alert())
    slack_buttons = [e for b in slack_payload([linked()])["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["text"]["text"], b["url"]) for b in slack_buttons] == [
        ("Open the original", "https://blogg.example.se/p/#c1"), ("Mark as answered", LINK)]
    fields = mattermost_payload([linked()])["attachments"][0]["fields"]
    assert {"short": False, "title": "Answered?", "value": f"[Mark as answered]({LINK})"} in fields
    actions = teams_payload([linked()])["attachments"][0]["content"]["actions"]
    assert {"type": "Action.OpenUrl", "title": "Mark as answered", "url": LINK} in actions
    assert body(linked())["answered_url"] == LINK and body(alert())["answered_url"] is None
    digest = teams_payload([linked(n=1), linked(n=2)])["attachments"][0]["content"]["body"]
    assert sum(1 for b in digest if b["type"] == "ActionSet" for a in b["actions"] if a["url"] == LINK) == 2


def test_email_carries_the_answered_link_in_both_parts(smtp):
    port, inbox = smtp
    send_mail(port, [linked()])
    msg = email.message_from_bytes(inbox.messages[0][2], policy=email.policy.default)
    assert f"Mark as answered: {LINK}" in msg.get_body(("plain",)).get_content()
    assert f'<a href="{LINK}">Mark as answered</a>' in msg.get_body(("html",)).get_content()


def test_an_escalation_says_how_long_it_has_waited():
    from dataclasses import replace

    from listener.alerts.console import render
    from listener.alerts.webhook import body

    escalation = replace(alert(), kind="escalation", notice="Unanswered for 3h 10m, SLA 4h")
    c = card(escalation)
    assert c.headline.startswith("[escalation] Unanswered for 3h 10m, SLA 4h, criticism for customer-service")
    assert c.facts[0] == ("Escalation", "Unanswered for 3h 10m, SLA 4h")
    assert "Unanswered for 3h 10m, SLA 4h" in render(escalation)
    assert body(escalation)["kind"] == "escalation" and body(escalation)["escalation"] == "Unanswered for 3h 10m, SLA 4h"
    assert "escalation" not in body(alert())
