import asyncio
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from alerting import COMPLAINT, PRAISE, QUESTION, deliver, poll_and_deliver, setup
from click.testing import CliRunner
from processes import wait_until
from sqlalchemy import select

from listener.cli import cli
from listener.store.tables import outbox


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


DIGEST = """
[[departments]]
name = "press"
sinks = ["hook"]
digest = "0 8,13 * * mon-fri"

[[routes]]
name = "praise-to-press"
match = {{ label = "praise" }}
department = "press"
priority = "{priority}"
"""


@pytest.mark.parametrize("priority, immediate", [("high", 1), ("normal", 0), ("low", 0)])
def test_digest_departments_batch_non_urgent_alerts(tmp_path, db_url, server, clock, priority, immediate):
    from listener.alerts.worker import Deliverer

    path, config, engine = setup(tmp_path, db_url, server, texts=(PRAISE,))
    path.write_text(path.read_text().replace("[[sources]]", DIGEST.format(priority=priority) + "\n[[sources]]", 1))
    from listener.config import load_config

    config = load_config(path)
    assert poll_and_deliver(config, engine, clock)[1] == immediate
    if immediate:
        return

    async def digest():
        deliverer = Deliverer(config, engine, clock)
        try:
            return await deliverer.send_digest("press")
        finally:
            await deliverer.aclose()

    assert asyncio.run(digest()) == 1
    assert hook_requests(server)[0].json()["department"] == "press"
    assert states(engine) == [("sent", 1)]


def test_low_priority_without_a_digest_makes_no_alert(tmp_path, db_url, server, clock):
    path, config, engine = setup(tmp_path, db_url, server, texts=(QUESTION,))
    path.write_text(path.read_text().replace('department = "customer-service"\npriority = "normal"',
                                             'department = "customer-service"\npriority = "low"'))
    from listener.config import load_config

    assert poll_and_deliver(load_config(path), engine, clock)[1] == 0
    assert states(engine) == []


def test_the_issue_example_config_is_accepted(tmp_path):
    from conftest import write_config

    path = write_config(tmp_path, EXAMPLE)
    result = CliRunner().invoke(cli, ["-c", str(path), "check-config"])
    assert result.exit_code == 0, result.output
    broken = write_config(tmp_path, EXAMPLE.replace('sinks = ["cs-mail", "cs-chat"]', 'sinks = ["cs-mail", "cs-chatt"]')
                          .replace('department = "customer-service"\npriority', 'department = "customer-servis"\npriority'))
    result = CliRunner().invoke(cli, ["-c", str(broken), "check-config"])
    assert result.exit_code == 2
    assert 'config.toml: departments[0].sinks[1]: no sink named "cs-chatt"; known: cs-chat, cs-mail, partner-hook' in result.output
    assert 'config.toml: routes[0].department: no department named "customer-servis"; known: communications, customer-service' in result.output


EXAMPLE = """
[routing]
default_department = "communications"

[[departments]]
name = "customer-service"
sinks = ["cs-mail", "cs-chat"]
digest = "0 8,13 * * mon-fri"

[[sinks]]
name = "cs-chat"
type = "slack"
url_env = "CS_SLACK_WEBHOOK"

[[sinks]]
name = "cs-mail"
type = "email"
smtp = "smtp://alerts@mail.example.org:587"
password_env = "CS_SMTP_PASSWORD"
tls = "starttls"
from = "listener@example.org"
to = ["kundservice@example.org"]

[[sinks]]
name = "partner-hook"
type = "webhook"
url = "https://hooks.example.org/listener"
secret_env = "PARTNER_HOOK_SECRET"

[[routes]]
name = "complaints"
match = { label = "criticism", query = "leverans OR levering OR delivery" }
department = "customer-service"
priority = "high"
continue = false

[[queries]]
name = "brand"
query = '"Dramaten" OR @dramaten NOT jobb'

[[campaigns]]
name = "jul"
query = "jul* OR christmas"
start = 2026-12-01
end = 2026-12-31
"""


def test_crash_between_send_and_commit_resends_with_the_same_delivery_id(tmp_path, server):
    """The worker is killed after the receiver has the alert and before the worker records it:
    after a restart the alert arrives again, with the same delivery id; it is never lost."""
    path, config, engine = setup(tmp_path, None, server, texts=(COMPLAINT,))
    pid_file = tmp_path / "pid"
    killed = []

    def kill_the_sender(request):
        if not killed:
            killed.append(request)
            os.kill(int(pid_file.read_text()), signal.SIGKILL)
            time.sleep(0.3)

    server.routes["/hook"].hook = kill_the_sender
    env = {**os.environ, "TEST_HOOK_SECRET": "s3cret"}
    first = subprocess.Popen([sys.executable, "-m", "listener", "-c", str(path), "poll"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    pid_file.write_text(str(first.pid))
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL
    assert states(engine) == [("pending", 0)]  # sent, but not recorded

    time.sleep(1.2)  # the dead worker's lease ([alerts] lease = "1s") runs out
    second = subprocess.run([sys.executable, "-m", "listener", "-c", str(path), "poll"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert "alerts: 1 sent" in second.stdout
    deliveries = [r.headers["x-listener-delivery"] for r in hook_requests(server)]
    assert len(deliveries) == 2 and deliveries[0] == deliveries[1]
    assert states(engine) == [("sent", 1)]


def test_listener_run_delivers_alerts_within_a_second_of_the_poll(tmp_path, server, daemons):
    path, config, engine = setup(tmp_path, None, server, texts=(COMPLAINT,))
    path.write_text(path.read_text() + '\n[scheduler]\ntick = "1s"\n\n[web]\nlisten = "127.0.0.1:0"\n')
    daemon = daemons(path, env={"TEST_HOOK_SECRET": "s3cret"})
    wait_until(lambda: hook_requests(server), 20, 0.05, "the alert")
    assert daemon.stop() == 0, daemon.output
    (request,) = hook_requests(server)
    feed_fetched = server.received("/comments")[0].at
    assert request.at - feed_fetched < 1.0
    assert states(engine) == [("sent", 1)]
