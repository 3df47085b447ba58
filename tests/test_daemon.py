"""`listener run` as an admin runs it: a real process, stopped by a signal."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import write_config
from sqlalchemy import create_engine, text

LISTENER = [sys.executable, "-m", "listener"]


@pytest.fixture
def start():
    """Starts `listener run`; whatever a failing test leaves running is killed afterwards."""
    started: list[subprocess.Popen] = []

    def run(config: Path) -> subprocess.Popen:
        proc = subprocess.Popen(
            [*LISTENER, "-c", str(config), "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        started.append(proc)
        return proc

    yield run
    for proc in started:
        proc.kill()
        proc.wait()


def stop(proc: subprocess.Popen, sig: int) -> tuple[str, float]:
    """Signal the daemon and wait for it; returns its log and how long it took to exit."""
    proc.send_signal(sig)
    started = time.monotonic()
    _, err = proc.communicate(timeout=12)
    return err, time.monotonic() - started


def wait_for_mentions(db: Path, n: int, proc: subprocess.Popen, timeout: float = 20) -> int:
    engine = create_engine(f"sqlite:///{db}")
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            with engine.connect() as conn:
                count = conn.execute(text("select count(*) from mentions")).scalar_one()
        except Exception:
            count = 0
        if count >= n:
            break
        time.sleep(0.2)
    engine.dispose()
    return count


def config_for(tmp_path, server, extra_sources=""):
    good = server.add_fixture("/blog", "wordpress/wp_posts_feed_foolcontrol_v6.6.2.rss.xml")
    return write_config(tmp_path, f"""
[scheduler]
tick = "1s"

[http]
timeout = "30s"

[logging]
format = "json"

[web]
listen = "127.0.0.1:0"

[[sources]]
name = "blog"
connector = "rss"
url = "{good}"
interval = "1m"
{extra_sources}
""")


def test_run_polls_and_stops_cleanly_on_sigterm(tmp_path, server, start):
    config = config_for(tmp_path, server)
    proc = start(config)
    assert wait_for_mentions(tmp_path / "listener.db", 10, proc) == 10
    err, seconds = stop(proc, signal.SIGTERM)
    assert proc.returncode == 0, err
    assert seconds < 10
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert events[0] == "daemon.started" and "poll.done" in events and events[-1] == "daemon.stopped"
    ua = server.received("/blog")[0].headers["user-agent"]
    assert ua.startswith("listener/")


def test_sigint_with_a_poll_in_flight_still_exits_within_ten_seconds(tmp_path, server, start):
    server.add("/hang", mode="hang")
    config = config_for(tmp_path, server, f"""
[[sources]]
name = "stuck"
connector = "rss"
url = "{server.url('/hang')}"
interval = "1m"
""")
    proc = start(config)
    assert wait_for_mentions(tmp_path / "listener.db", 10, proc) == 10
    deadline = time.monotonic() + 10
    while not server.received("/hang") and time.monotonic() < deadline:
        time.sleep(0.1)
    err, seconds = stop(proc, signal.SIGINT)
    assert proc.returncode == 0, err
    assert seconds < 10
    assert "daemon.cancelled_polls" in err
    engine = create_engine(f"sqlite:///{tmp_path / 'listener.db'}")
    with engine.connect() as conn:
        lease = conn.execute(text("select lease_until from sources where name = 'stuck'")).scalar_one()
    assert lease is None  # the cancelled poll gave its source back
