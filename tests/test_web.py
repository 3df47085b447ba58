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
    assert f'"web": "127.0.0.1:{port}"' in err.splitlines()[0]
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
