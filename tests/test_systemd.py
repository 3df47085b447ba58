"""The shipped unit file passes `systemd-analyze verify`, rates ≤ 2.0 in `systemd-analyze security`,
and the daemon runs under the memory rule it sets (MemoryDenyWriteExecute)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from processes import blog_config

UNIT = Path(__file__).parent.parent / "systemd" / "listener.service"


@pytest.fixture
def analyze():
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install systemd-analyze (Debian package systemd); see .ci/run")
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    return tool


@pytest.fixture
def unit(tmp_path) -> Path:
    """The shipped unit with ExecStart pointed at this environment's `listener` (verify checks it exists)."""
    listener = Path(sys.executable).parent / "listener"
    assert listener.exists(), "pip install the package first: the console script is missing"
    text = UNIT.read_text()
    assert "ExecStart=/opt/listener/bin/listener " in text
    path = tmp_path / "listener.service"
    path.write_text(text.replace("ExecStart=/opt/listener/bin/listener ", f"ExecStart={listener} "))
    return path


def test_systemd_analyze_verify_finds_nothing(analyze, unit):
    result = subprocess.run([analyze, "verify", str(unit)], check=False, capture_output=True, text=True, timeout=60)
    # verify exits 0 on unknown keys and bad values too; it only says so, so it must say nothing
    assert result.returncode == 0 and result.stderr.strip() == "" and result.stdout.strip() == "", result.stderr


def test_systemd_analyze_security_rates_the_unit_at_most_2(analyze, unit):
    result = subprocess.run([analyze, "security", "--offline=true", "--no-pager", str(unit)],
                            check=False, capture_output=True, text=True, timeout=60)
    found = re.search(r"Overall exposure level for listener\.service: (\d+\.\d+)", result.stdout)
    assert found, result.stdout + result.stderr
    assert float(found.group(1)) <= 2.0, result.stdout


def test_the_unit_asks_for_what_the_daemon_provides():
    settings = dict(
        line.split("=", 1) for line in UNIT.read_text().splitlines() if "=" in line and not line.startswith("#")
    )
    assert settings["Type"] == "notify" and settings["NotifyAccess"] == "main"
    assert settings["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert settings["Restart"] == "on-failure" and settings["WatchdogSec"]
    assert settings["User"] == "listener" and settings["StateDirectory"] == "listener"
    assert settings["MemoryDenyWriteExecute"] == "yes"


# The kernel's MDWE rule (Linux >= 6.3), which is what MemoryDenyWriteExecute=yes sets up; it stays
# in force across exec, so this prefix puts a whole program under it.
UNDER_MDWE = [sys.executable, "-c", """
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    sys.exit(f"prctl(PR_SET_MDWE): {os.strerror(ctypes.get_errno())}")
os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""]


def test_the_daemon_needs_no_writable_executable_memory(tmp_path, server, daemons):
    """Parsing (lxml), classifying (numpy) and storing all run with W+X mappings refused."""
    probe = subprocess.run([*UNDER_MDWE, "-c", "import mmap; mmap.mmap(-1, 4096, prot=7)"],
                           check=False, capture_output=True, timeout=60)
    if b"PermissionError" not in probe.stderr:
        pytest.skip(f"this kernel cannot refuse W+X memory (Linux < 6.3): {probe.stderr.decode()[-200:]}")
    config = blog_config(tmp_path, server)
    daemon = daemons(config, command=[*UNDER_MDWE, "-m", "listener"])
    (done,) = daemon.wait_for("poll.done", source="blog", timeout=60)
    assert done["new"] == 10
    assert daemon.stop() == 0
