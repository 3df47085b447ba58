"""`listener run` as an admin runs it: a real process, stopped by a signal."""

import signal
import time

from processes import blog_config, wait_for_mentions
from sqlalchemy import create_engine, text


def config_for(tmp_path, server, extra_sources=""):
    return blog_config(tmp_path, server, '[http]\ntimeout = "30s"\n\n' + extra_sources)


def stop(daemon, sig: int) -> float:
    """Signal the daemon, wait for a clean exit and return how long it took."""
    started = time.monotonic()
    assert daemon.stop(sig) == 0, daemon.output
    return time.monotonic() - started


def test_run_polls_and_stops_cleanly_on_sigterm(tmp_path, server, daemons):
    daemon = daemons(config_for(tmp_path, server))
    assert wait_for_mentions(tmp_path / "listener.db", 10, daemon) == 10
    assert stop(daemon, signal.SIGTERM) < 10
    events = [e["event"] for e in daemon.events()]
    assert events[0] == "daemon.started" and "poll.done" in events and events[-1] == "daemon.stopped"
    ua = server.received("/blog")[0].headers["user-agent"]
    assert ua.startswith("listener/")


def test_sigint_with_a_poll_in_flight_still_exits_within_ten_seconds(tmp_path, server, daemons):
    server.add("/hang", mode="hang")
    config = config_for(tmp_path, server, f"""
[[sources]]
name = "stuck"
connector = "rss"
url = "{server.url('/hang')}"
interval = "1m"
""")
    daemon = daemons(config)
    assert wait_for_mentions(tmp_path / "listener.db", 10, daemon) == 10
    deadline = time.monotonic() + 10
    while not server.received("/hang") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stop(daemon, signal.SIGINT) < 10
    assert daemon.events("daemon.cancelled_polls")
    engine = create_engine(f"sqlite:///{tmp_path / 'listener.db'}")
    with engine.connect() as conn:
        lease = conn.execute(text("select lease_until from sources where name = 'stuck'")).scalar_one()
    assert lease is None  # the cancelled poll gave its source back
