"""Fault (d): the disk under the SQLite store fills up while `listener run` works. The daemon says
so in plain words and stays up, the file is not corrupted, and what was published meanwhile is
stored once space returns. The small disk is a 4 MB tmpfs mounted for the test (needs root)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from alerting import feed
from conftest import ANY_PORT, write_config
from processes import wait_until

SIZE = "4m"


@pytest.fixture
def small_disk():
    if os.geteuid() != 0:
        pytest.skip("mounting a size-limited tmpfs needs root")
    folder = Path(tempfile.mkdtemp(prefix="listener-full-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(folder)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        folder.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)
    folder.rmdir()


def fill(folder: Path) -> Path:
    """Write until the disk refuses another byte."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 16384)
        except OSError:
            pass
    return filler


def count(db: Path) -> int:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute("SELECT count(*) FROM mentions").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        conn.close()


def test_a_full_disk_is_a_clear_error_without_corruption_and_recovers(tmp_path, server, daemons, small_disk):
    long = "Leveransen kom fram i tid och paketet var helt. " * 400  # ~20 KB a mention
    url = server.add("/feed", body=feed(*(f"{long} ({n})" for n in range(3))))
    db = small_disk / "listener.db"
    body = f'[scheduler]\ntick = "1s"\n\n[logging]\nformat = "json"\n\n[[sources]]\nname = "blogg"\n' \
           f'connector = "rss"\nurl = "{url}"\nlang = "sv"\ninterval = "30s"\n'
    daemon = daemons(write_config(tmp_path, ANY_PORT + body, f"sqlite:///{db}"), "daemon")
    wait_until(lambda: count(db) == 3, 60, 0.5, "the first poll")
    filler = fill(small_disk)
    server.add("/feed", body=feed(*(f"{long} ({n})" for n in range(40))))
    wait_until(lambda: any("disk is full" in str(e.get("error", "")) for e in daemon.events()), 90, 0.5,
               "the daemon to say the disk is full")
    time.sleep(2)
    assert daemon.running, "the daemon died of a full disk"
    errors = [e["error"] for e in daemon.events() if "disk is full" in str(e.get("error", ""))]
    assert errors[0].startswith("the store's disk is full; free space there")
    filler.unlink()
    wait_until(lambda: count(db) == 40, 90, 0.5, "recovery once space is back")
    assert daemon.stop() == 0
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(DISTINCT external_id) FROM mentions").fetchone() == (40,)
    conn.close()
    print(f"\nfault (d): {SIZE} disk filled; {len(errors)} 'disk is full' errors logged, daemon up, "
          f"integrity_check ok, all 40 mentions stored once space returned")
