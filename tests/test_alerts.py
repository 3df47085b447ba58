import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from listener.cli import cli
from listener.store.tables import outbox

from alerting import COMPLAINT, PRAISE, QUESTION, deliver, poll_and_deliver, setup


@pytest.fixture(autouse=True)
def hook_secret(monkeypatch):
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")


def hook_requests(server):
    return server.received("/hook")


def states(engine):
    with engine.connect() as conn:
        return [(r.state, r.attempts) for r in conn.execute(select(outbox).order_by(outbox.c.id))]


def test_routed_alerts_reach_the_webhook_signed(tmp_path, db_url, server, clock):
    path, config, engine = setup(tmp_path, db_url, server)
    outcomes, sent = poll_and_deliver(config, engine, clock)
    assert outcomes[0].new == 3 and sent == 3
    bodies = {r.json()["mention"]["text"]: r for r in hook_requests(server)}
    complaint = bodies[COMPLAINT]
    body = complaint.json()
    assert body["department"] == "customer-service" and body["priority"] == "high" and body["rule"] == "complaints"
    assert body["mention"]["label"] == "criticism" and body["mention"]["lang"] == "sv"
    assert body["mention"]["published_at"] == "2026-11-23T00:00:00Z"
    assert set(body["mention"]) == {"id", "url", "title", "text", "author", "source", "platform", "lang", "label", "published_at"}
    assert complaint.headers["x-listener-delivery"] == body["delivery_id"]
    expected = hmac.new(b"s3cret", complaint.headers["x-listener-timestamp"].encode() + b"." + complaint.body,
                        hashlib.sha256).hexdigest()
    assert complaint.headers["x-listener-signature"] == f"sha256={expected}"
    assert bodies[PRAISE].json()["department"] == "communications" and bodies[PRAISE].json()["rule"] == "default"
    assert bodies[QUESTION].json()["rule"] == "questions"
    assert states(engine) == [("sent", 1)] * 3
    assert poll_and_deliver(config, engine, clock)[1] == 0  # nothing is sent twice


def test_route_explain_says_why(tmp_path, db_url, server, clock):
    path, config, engine = setup(tmp_path, db_url, server)
    poll_and_deliver(config, engine, clock, deliver=False)
    with engine.connect() as conn:
        complaint_id = conn.execute(select(outbox.c.mention_id).where(outbox.c.rule == "complaints")).scalar_one()
    result = CliRunner().invoke(cli, ["-c", str(path), "route", "--explain", str(complaint_id)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "stored routes: customer-service (high, rule 'complaints')" in out
    assert "rule 'complaints': MATCHED → customer-service (high)" in out
    assert "✓ query 'leverans OR levering OR delivery'" in out
    assert "rule 'questions': not tried" in out
    missing = CliRunner().invoke(cli, ["-c", str(path), "route", "--explain", "9999"])
    assert missing.exit_code == 1 and "no mention with id 9999" in missing.output


def test_route_dry_run_shows_what_new_rules_would_change(tmp_path, db_url, server, clock):
    path, config, engine = setup(tmp_path, db_url, server)
    poll_and_deliver(config, engine, clock, deliver=False)
    text = path.read_text().replace('name = "questions"', 'name = "questions-to-press"').replace(
        'department = "customer-service"\npriority = "normal"', 'department = "communications"\npriority = "low"')
    path.write_text(text)
    result = CliRunner().invoke(cli, ["-c", str(path), "route", "--dry-run", "--since", "2026-01-01"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "1 of 3 mentions would be routed differently"
    assert "customer-service (normal, 'questions') → communications (low, 'questions-to-press')" in lines[0]


def test_failures_retry_with_backoff_then_dead_letter_and_retry(tmp_path, db_url, server, clock):
    path, config, engine = setup(tmp_path, db_url, server, texts=(COMPLAINT,))
    server.routes["/hook"].status = 500
    poll_and_deliver(config, engine, clock)
    assert states(engine) == [("pending", 1)]
    with engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
    assert timedelta(seconds=8) < row.next_attempt_at - clock() < timedelta(seconds=12)
    assert row.last_error == "sink hook: HTTP 500"
    assert deliver(config, engine, clock) == 0  # not due yet: no request made
    assert len(hook_requests(server)) == 1
    for _ in range(2):
        clock.advance(minutes=2)
        deliver(config, engine, clock)
    assert states(engine) == [("dead", 3)]
    assert len({r.headers["x-listener-delivery"] for r in hook_requests(server)}) == 1  # one delivery id throughout

    run = lambda *a: CliRunner().invoke(cli, ["-c", str(path), *a])  # noqa: E731
    dead = [json.loads(line) for line in run("alerts", "--dead", "--format", "json").stdout.splitlines()]
    assert len(dead) == 1 and dead[0]["last_error"] == "sink hook: HTTP 500" and dead[0]["attempts"] == 3
    assert run("alerts", "retry").exit_code == 2
    assert run("alerts", "retry", "--all-dead").stdout == "1 dead letters queued again\n"
    server.routes["/hook"].status = 200
    clock.now = clock.now.replace(year=clock.now.year + 1)  # the CLI queued it at the real time
    assert deliver(config, engine, clock) == 1
    assert states(engine) == [("sent", 1)]


def test_retry_after_is_respected(tmp_path, db_url, server, clock):
    path, config, engine = setup(tmp_path, db_url, server, texts=(COMPLAINT,))
    server.routes["/hook"].status = 429
    server.routes["/hook"].headers = {"Retry-After": "300"}
    poll_and_deliver(config, engine, clock)
    with engine.connect() as conn:
        row = conn.execute(select(outbox)).one()
    assert row.next_attempt_at - clock() >= timedelta(seconds=300)


def test_a_rejected_alert_is_not_retried(tmp_path, db_url, server, clock):
    path, config, engine = setup(tmp_path, db_url, server, texts=(COMPLAINT,))
    server.routes["/hook"].status = 404
    poll_and_deliver(config, engine, clock)
    assert states(engine) == [("dead", 1)]
    with engine.connect() as conn:
        assert "not retried" in conn.execute(select(outbox.c.last_error)).scalar_one()


def test_outage_then_recovery_delivers_everything_high_priority_first(tmp_path, db_url, server, clock):
    texts = (PRAISE, QUESTION, COMPLAINT, PRAISE + " Igen!", COMPLAINT + " Igen!")
    path, config, engine = setup(tmp_path, db_url, server, texts=texts, concurrency=1)
    server.routes["/hook"].status = 503
    poll_and_deliver(config, engine, clock)
    clock.advance(seconds=30)
    deliver(config, engine, clock)  # still down: every alert has now failed twice
    assert {s for s in states(engine)} == {("pending", 2)}
    server.routes["/hook"].status = 200
    before = len(hook_requests(server))
    clock.advance(minutes=5)
    assert deliver(config, engine, clock) == 5
    delivered = [r.json() for r in hook_requests(server)[before:]]
    assert [d["priority"] for d in delivered] == ["high", "high", "normal", "normal", "normal"]
    assert {s for s in states(engine)} == {("sent", 3)}


def test_a_missing_secret_is_a_clear_error(tmp_path, db_url, server, clock, monkeypatch):
    monkeypatch.delenv("TEST_HOOK_SECRET")
    path, config, engine = setup(tmp_path, db_url, server, texts=(COMPLAINT,))
    poll_and_deliver(config, engine, clock)
    assert hook_requests(server) == []
    with engine.connect() as conn:
        error = conn.execute(select(outbox.c.last_error)).scalar_one()
    assert error == "sink hook: environment variable TEST_HOOK_SECRET is not set (nor a systemd credential of that name)"


def test_secrets_from_systemd_credentials(tmp_path, db_url, server, clock, monkeypatch):
    monkeypatch.delenv("TEST_HOOK_SECRET")
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "TEST_HOOK_SECRET").write_text("from-systemd\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    path, config, engine = setup(tmp_path, db_url, server, texts=(COMPLAINT,))
    assert poll_and_deliver(config, engine, clock)[1] == 1
    request = hook_requests(server)[0]
    expected = hmac.new(b"from-systemd", request.headers["x-listener-timestamp"].encode() + b"." + request.body,
                        hashlib.sha256).hexdigest()
    assert request.headers["x-listener-signature"] == f"sha256={expected}"
