"""The HTTP server inside `listener run`: a real process on a real port."""

import socket
import subprocess

import httpx
from conftest import write_config
from processes import LISTENER, wait_until


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def daemon_config(tmp_path, port: int, extra: str = ""):
    return write_config(tmp_path, f"""
[logging]
format = "json"

[web]
listen = "127.0.0.1:{port}"
{extra}
""")


def test_listener_run_serves_http_and_stops_it_with_the_daemon(tmp_path, daemons):
    port = free_port()
    daemon = daemons(daemon_config(tmp_path, port))
    assert daemon.started()["web"] == f"127.0.0.1:{port}"
    response = httpx.get(f"http://127.0.0.1:{port}/no-such-page", timeout=5)
    assert response.status_code == 404
    assert daemon.stop() == 0, daemon.output
    with socket.socket() as s:  # the port is free again
        s.bind(("127.0.0.1", port))


def test_a_port_in_use_is_one_clear_error_at_start(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run([*LISTENER, "-c", str(daemon_config(tmp_path, port)), "run"],
                                check=False, capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert f"127.0.0.1:{port}" in lines[0] and "in use" in lines[0]


def test_an_alert_link_answered_through_the_real_server(tmp_path, server, daemons):
    """End to end: `listener run` polls, alerts with a link, and the link served by the same process records."""
    from alerting import COMPLAINT, ROUTING, feed
    from sqlalchemy import create_engine, text

    port = free_port()
    feed_url = server.add("/comments", body=feed(COMPLAINT))
    hook = server.add("/hook", body=b"ok", content_type="text/plain", etag=False)
    path = write_config(tmp_path, ROUTING.format(hook=hook, feed=feed_url, concurrency=2) + f"""
[scheduler]
tick = "1s"

[logging]
format = "json"

[web]
listen = "127.0.0.1:{port}"
secret_env = "TEST_LINK_SECRET"
""")
    daemon = daemons(path, env={"TEST_HOOK_SECRET": "s3cret", "TEST_LINK_SECRET": "end-to-end-secret"})
    (alert,) = wait_until(lambda: server.received("/hook"), 30, what="the alert")
    url = alert.json()["answered_url"]
    assert url.startswith(f"http://127.0.0.1:{port}/answered/")
    shown = httpx.get(url, timeout=10)
    assert shown.status_code == 200 and "Mark this mention as answered?" in shown.text
    engine = create_engine(f"sqlite:///{tmp_path / 'listener.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from responses")).scalar_one() == 0
    recorded = httpx.post(url, data={"by": "Sara"}, timeout=10)
    assert recorded.status_code == 200 and "Recorded" in recorded.text
    assert "Already answered" in httpx.post(url, timeout=10).text
    with engine.connect() as conn:
        rows = conn.execute(text("select via, by from responses")).all()
        first = conn.execute(text("select first_response_at from mention_routes")).scalar_one()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("link", "Sara")] and first is not None
    assert daemon.stop() == 0, daemon.output
