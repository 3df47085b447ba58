"""`listener demo`: a newcomer's first command shows the inbox working, then cleans up after itself."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_serves_a_routed_inbox_and_deletes_its_store(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "listener", "demo", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        first = proc.stdout.readline()
        login = re.search(r"open (http://127\.0\.0\.1:\d+)/login and sign in as demo / (\S+)", first)
        assert login, first
        base, password = login.groups()
        folder = Path(re.search(r"store in (\S+);", proc.stdout.readline()).group(1))
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 90
            inbox = ""
            while time.monotonic() < deadline and "Leveransen" not in inbox:
                time.sleep(0.5)
                assert proc.poll() is None, proc.stderr.read()
                try:
                    page = client.get("/login")
                except httpx.TransportError:
                    continue
                if 'name="csrf"' in page.text:
                    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
                    client.post("/login", data={"username": "demo", "password": password, "csrf": csrf})
                inbox = client.get("/?department=customer-service").text
            assert "Leveransen är försenad" in inbox and "Inbox: customer-service" in inbox
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert not folder.exists()
    finally:
        proc.kill()
        proc.wait()
