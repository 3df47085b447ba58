"""Scheduled reports, mailed to a real SMTP server (aiosmtpd): the page with its charts as CID parts."""

import asyncio
import email
import email.policy
import re

import pytest
from conftest import FakeClock, write_config
from processes import running
from reporting import BASELINE_JANUARY, NOW, WEEK_47, M, R, at, insert

from listener.config import load_config
from listener.reports.delivery import ReportMailer
from listener.store.engine import make_engine, upgrade

CONFIG = """
[report]
timezone = "Europe/Stockholm"

[[baselines]]
name = "before-social"
start = 2026-01-01
end = 2026-01-31

[[sinks]]
name = "managers-mail"
type = "email"
smtp = "smtp://127.0.0.1:{port}"
tls = "none"
from = "listener@example.org"
to = ["chef@example.org"]

[[reports]]
name = "weekly"
cron = "0 7 * * mon"
period = "last-week"
baseline = "before-social"
sinks = ["managers-mail"]
"""


@pytest.fixture
def setup(tmp_path, smtp):
    port, inbox = smtp
    path = write_config(tmp_path, CONFIG.format(port=port), f"sqlite:///{tmp_path / 'listener.db'}")
    config = load_config(path)
    engine = make_engine(config.database_url)
    upgrade(engine)
    yield config, engine, inbox
    engine.dispose()


def test_the_report_mail_carries_the_page_and_its_charts_as_related_parts(setup):
    config, engine, inbox = setup
    hostile = "<img src=https://evil.example/pixel.gif>"
    insert(engine, WEEK_47 + BASELINE_JANUARY + [M(at(18), "criticism", routes=[R(hostile, 60, 60, 3600)])])
    sent = asyncio.run(ReportMailer(config, engine, FakeClock(NOW)).send("weekly"))
    assert sent == 1
    ((_, rcpts, raw),) = inbox.messages
    assert rcpts == ["chef@example.org"]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Subject"] == "listener report weekly: last-week"
    plain = msg.get_body(("plain",)).get_content()
    assert "last-week (2026-11-16 – 2026-11-22), against before-social" in plain
    related = next(part for part in msg.iter_parts() if part.get_content_type() == "multipart/related")
    html_part, *images = list(related.iter_parts())
    page = html_part.get_content()
    assert html_part.get_content_type() == "text/html" and len(images) == 4
    assert all(i.get_content_type() == "image/png" and i.get_content()[:8] == b"\x89PNG\r\n\x1a\n" for i in images)
    referenced = set(re.findall(r'src="cid:([^"]+)"', page))
    assert referenced == {i["Content-ID"].strip("<>") for i in images}
    assert "data:" not in page and "evil.example/pixel" not in page.replace("&lt;img src=https://evil.example/pixel.gif&gt;", "")
    assert "&lt;img src=https://evil.example/pixel.gif&gt;" in page


def test_a_dead_smtp_server_is_logged_and_nothing_raises(setup, tmp_path):
    config, engine, _ = setup
    config = load_config(write_config(tmp_path, CONFIG.format(port=9), f"sqlite:///{tmp_path / 'listener.db'}"))
    assert asyncio.run(ReportMailer(config, engine, FakeClock(NOW)).send("weekly")) == 0


def test_listener_run_schedules_each_report_on_its_cron_in_the_report_time_zone(setup):
    config, engine, _ = setup

    async def jobs():
        async with running(config, engine) as daemon:
            return {job.id: job for job in daemon.scheduler.get_jobs()}

    job = asyncio.run(jobs())["report:weekly"]
    assert str(job.trigger.timezone) == "Europe/Stockholm"
    assert str(job.trigger) == "cron[month='*', day='*', day_of_week='mon', hour='7', minute='0']"
    assert job.args == ("weekly",)
