"""Third-party connectors: real distributions with a `listener.connectors` entry point, some broken."""

import os
import subprocess
import sys
import textwrap

import pytest
from conftest import write_config
from processes import blog_config, wait_for_mentions

PYPROJECT = """
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "listener-broken-plugins"
version = "0.1"

[tool.setuptools]
py-modules = ["broken_import", "broken_schema", "good_echo"]

[project.entry-points."listener.connectors"]
crashes = "broken_import:Connector"
badschema = "broken_schema:Connector"
echo = "good_echo:EchoConnector"
"""

MODULES = {
    "broken_import.py": "import listener_no_such_dependency\n",
    "broken_schema.py": """
        class Connector:
            kind = "badschema"
            description = "options that are not a schema"
            example = ""
            needs_url = False
            Options = {"query": str}

            async def poll(self, ctx, cursor):
                return None
    """,
    "good_echo.py": """
        from typing import ClassVar

        from listener.connector import NoOptions, PollResult


        class EchoConnector:
            kind: ClassVar[str] = "echo"
            description: ClassVar[str] = "A third-party connector that works and finds nothing."
            example: ClassVar[str] = '[[sources]]\\nname = "e"\\nconnector = "echo"'
            needs_url: ClassVar[bool] = False
            Options = NoOptions

            async def poll(self, ctx, cursor):
                return PollResult(items=[], cursor=cursor)
    """,
}


@pytest.fixture(scope="module")
def plugins(tmp_path_factory):
    """The distribution built and installed into a folder of its own, put on PYTHONPATH only for
    the subprocesses that should see it: nothing reaches the project's environment."""
    root = tmp_path_factory.mktemp("plugin")
    project, target = root / "project", root / "site"
    project.mkdir()
    (project / "pyproject.toml").write_text(PYPROJECT)
    for name, body in MODULES.items():
        (project / name).write_text(textwrap.dedent(body))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(project)],
        check=True, capture_output=True,
    )
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(target), os.environ.get("PYTHONPATH")])),
            "PYTHONUNBUFFERED": "1"}


def listener(env, *args):
    return subprocess.run([sys.executable, "-m", "listener", *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_nothing_leaks_into_the_project_environment(plugins):
    from importlib.metadata import entry_points

    assert "crashes" not in {ep.name for ep in entry_points(group="listener.connectors")}


def test_connectors_lists_broken_ones_by_name_and_the_good_one(plugins, tmp_path):
    config = write_config(tmp_path, "")
    result = listener(plugins, "-c", str(config), "connectors")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "crashes\n  BROKEN: cannot import broken_import:Connector: No module named 'listener_no_such_dependency'" in out
    assert "badschema\n  BROKEN: broken_schema:Connector: Options is not a pydantic model" in out
    assert "echo\n  A third-party connector that works" in out


def test_daemon_starts_without_a_broken_connector_and_its_sources(plugins, tmp_path, server, daemons):
    config = blog_config(tmp_path, server, """
[[sources]]
name = "plugin"
connector = "crashes"
query = "x"

[[sources]]
name = "echo"
connector = "echo"
""")
    check = listener(plugins, "-c", str(config), "check-config")
    assert check.returncode == 0 and check.stdout == "ok\n"
    assert 'warning: config.toml: sources[1].connector: "crashes" is installed but broken' in check.stderr

    daemon = daemons(config, env=plugins)
    assert wait_for_mentions(tmp_path / "listener.db", 10, daemon) == 10
    assert daemon.stop() == 0, daemon.output
    events = daemon.events()
    broken = {e["kind"]: e["error"] for e in events if e["event"] == "connector.broken"}
    assert set(broken) == {"crashes", "badschema"}
    assert [e for e in events if e["event"] == "source.skipped" and "sources[1]" in e["reason"]]
    polled = {e["source"] for e in events if e["event"] == "poll.done"}
    assert polled == {"blog", "echo"}
