from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_config

from listener.cli import cli
from listener.config import ConfigError, load_config, parse_duration

GOOD = """
[[sources]]
name = "blog"
connector = "rss"
url = "http://127.0.0.1:1/feed"
interval = "15m"
"""


@pytest.mark.parametrize(
    "text, expected",
    [("90s", timedelta(seconds=90)), ("15m", timedelta(minutes=15)), ("1h", timedelta(hours=1)),
     ("1h30m", timedelta(minutes=90)), ("7d", timedelta(days=7)), (45, timedelta(seconds=45))],
)
def test_durations(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["15 minutes", "m15", "", "1h junk", True])
def test_bad_durations_say_how_to_write_one(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_shipped_config_is_valid():
    config = load_config(Path(__file__).parent.parent / "config.toml")
    assert config.sources and all(s.connector == "rss" for s in config.sources)
    assert config.database_url.endswith("/listener.db")


def test_check_config_ok(tmp_path):
    path = write_config(tmp_path, GOOD)
    result = CliRunner().invoke(cli, ["-c", str(path), "check-config"])
    assert result.exit_code == 0, result.output
    assert result.output == "ok\n"


def test_check_config_reports_every_problem_at_once_with_key_paths(tmp_path):
    path = write_config(tmp_path, """
[http]
timeout = "soon"
max_byts = 5

[[sources]]
name = "a"
connector = "rss"
url = "http://x/feed"

[[sources]]
name = "b"
connector = "rsss"
url = "http://x/feed"

[[sources]]
name = "c"
connector = "rss"
url = "http://x/feed"
interval = "5s"
colour = "blue"
""")
    result = CliRunner().invoke(cli, ["-c", str(path), "check-config"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert 'config.toml: sources[1].connector: unknown connector "rsss"; known: rss' in lines
    assert any(l.startswith("config.toml: http.timeout: \"soon\" is not a duration") for l in lines)
    assert any(l.startswith("config.toml: http.max_byts: unknown key") for l in lines)
    assert any(l.startswith("config.toml: sources[2].interval:") for l in lines)
    assert any(l.startswith("config.toml: sources[2].colour: unknown key") for l in lines)
    assert len(lines) == 5


def test_missing_required_keys_and_duplicate_names(tmp_path):
    path = write_config(tmp_path, """
[[sources]]
connector = "rss"
url = "http://x/a"

[[sources]]
name = "dup"
connector = "rss"

[[sources]]
name = "dup"
connector = "rss"
url = "http://x/b"
""")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    problems = err.value.problems
    assert "config.toml: sources[0].name: missing; this key is required" in problems
    assert any(p.startswith("config.toml: sources[1].url: missing") for p in problems)
    assert any(p.startswith('config.toml: sources[2].name: "dup" is used twice') for p in problems)


def test_not_toml_and_missing_file(tmp_path):
    path = write_config(tmp_path, "[store\nurl=")
    result = CliRunner().invoke(cli, ["-c", str(path), "check-config"])
    assert result.exit_code == 2 and "config.toml: not valid TOML" in result.output
    result = CliRunner().invoke(cli, ["-c", str(tmp_path / "nope.toml"), "check-config"])
    assert result.exit_code == 2 and "nope.toml: no such file" in result.output


def test_bad_store_url(tmp_path):
    path = write_config(tmp_path, GOOD, db_url="mysql://x/y")
    with pytest.raises(ConfigError, match=r"store.url: unsupported database \"mysql\""):
        load_config(path)


def test_relative_sqlite_path_is_taken_from_the_config_folder(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    folder.mkdir()
    path = write_config(folder, GOOD, db_url="sqlite:///data/l.db")
    monkeypatch.chdir(tmp_path)
    assert load_config(path).database_url == f"sqlite:///{folder / 'data' / 'l.db'}"


def test_postgres_url_is_kept(tmp_path):
    path = write_config(tmp_path, GOOD, db_url="postgresql+psycopg://u:secret@db/x")
    assert load_config(path).database_url == "postgresql+psycopg://u:secret@db/x"


def test_config_path_from_environment(tmp_path, monkeypatch):
    path = write_config(tmp_path, GOOD)
    monkeypatch.setenv("LISTENER_CONFIG", str(path))
    monkeypatch.chdir(tmp_path.parent)
    result = CliRunner().invoke(cli, ["check-config"])
    assert result.exit_code == 0 and result.output == "ok\n"


def test_routing_mistakes_are_named(tmp_path):
    path = write_config(tmp_path, """
[[departments]]
name = "press"
digest = "every day"

[[sinks]]
name = "mail"
type = "email"
smtp = "smtp://mail.example.org"

[[sinks]]
name = "hook"
type = "webhook"

[[routes]]
name = "broken"
match = { label = "angry", query = "(a OR b", colour = "red" }
department = "press"
priority = "urgent"

[[queries]]
name = "bad"
query = "a OR"

[alerts]
timezone = "Mars/Olympus"
""")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    problems = err.value.problems
    assert any(p.startswith('config.toml: departments[0].digest: "every day" is not a cron expression') for p in problems)
    assert "config.toml: sinks[0]: an email sink needs from, to" in problems
    assert any(p.startswith("config.toml: sinks[1]: a webhook sink needs url, or url_env") for p in problems)
    assert 'config.toml: routes[0].match.query: missing ")"' in problems
    assert 'config.toml: routes[0].match.label: unknown label "angry"; use praise, criticism or neutral' in problems
    assert any(p.startswith("config.toml: routes[0].match.colour: unknown key") for p in problems)
    assert any(p.startswith("config.toml: routes[0].priority:") for p in problems)
    assert "config.toml: queries[0].query: the query ends where a term was expected" in problems
    assert 'config.toml: alerts.timezone: unknown time zone "Mars/Olympus"; use a name such as "Europe/Stockholm"' in problems


def test_retention_and_worker_processes(tmp_path):
    config = load_config(write_config(tmp_path, '[store]\nkeep = "400d"\n\n[scheduler]\nworkers = 0\n' + GOOD))
    assert config.store.keep == timedelta(days=400) and config.scheduler.workers == 0
    default = load_config(write_config(tmp_path, GOOD))
    assert default.store.keep is None and default.scheduler.workers is None
    with pytest.raises(ConfigError) as bad:
        load_config(write_config(tmp_path, '[store]\nkeep = "2h"\n\n[scheduler]\nworkers = -1\n' + GOOD))
    text = "\n".join(bad.value.problems)
    assert "store.keep: keep mentions at least a day" in text and "scheduler.workers" in text
