"""The HTTP server inside `listener run`: a real process on a real port."""

import signal
import socket
import subprocess
import sys
import time

import httpx
from conftest import write_config

LISTENER = [sys.executable, "-m", "listener"]


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


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 20) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"no HTTP answer at {url}; daemon exit code {proc.poll()}")


def test_listener_run_serves_http_and_stops_it_with_the_daemon(tmp_path):
    port = free_port()
    proc = subprocess.Popen([*LISTENER, "-c", str(daemon_config(tmp_path, port)), "run"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        response = wait_for_http(f"http://127.0.0.1:{port}/no-such-page", proc)
        assert response.status_code == 404
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=12)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    started = [line for line in err.splitlines() if '"daemon.started"' in line]
    assert len(started) == 1 and f'"web": "127.0.0.1:{port}"' in started[0]
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


def test_an_alert_link_answered_through_the_real_server(tmp_path, server):
    """End to end: `listener run` polls, alerts with a link, and the link served by the same process records."""
    import os

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
    env = {**os.environ, "TEST_HOOK_SECRET": "s3cret", "TEST_LINK_SECRET": "end-to-end-secret"}
    proc = subprocess.Popen([*LISTENER, "-c", str(path), "run"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        deadline = time.monotonic() + 30
        while not server.received("/hook") and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        (alert,) = server.received("/hook")
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
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=12)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
