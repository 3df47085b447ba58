from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import write_config

from listener.cli import cli
from listener.config import ConfigError, load_config
from listener.durations import parse_duration

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
    unknown = next(line for line in lines if line.startswith('config.toml: sources[1].connector: unknown connector "rsss"; known: '))
    assert "rss" in unknown.split("known: ")[1].split(", ")
    assert any(line.startswith("config.toml: http.timeout: \"soon\" is not a duration") for line in lines)
    assert any(line.startswith("config.toml: http.max_byts: unknown key") for line in lines)
    assert any(line.startswith("config.toml: sources[2].interval:") for line in lines)
    assert any(line.startswith("config.toml: sources[2].colour: unknown key") for line in lines)
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


def test_classifier_keys_have_defaults_and_are_checked(tmp_path):
    config = load_config(write_config(tmp_path, GOOD))
    assert (config.classifier.learned, config.classifier.retrain_after) == (True, 20)
    config = load_config(write_config(tmp_path, GOOD + '\n[classifier]\nlearned = false\nretrain_after = 50\nretrain_check = "1h"\n'))
    assert (config.classifier.learned, config.classifier.retrain_after) == (False, 50)
    assert config.classifier.retrain_check == timedelta(hours=1)
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, GOOD + "\n[classifier]\nretrain_after = 0\nretrain = 5\n"))
    problems = "\n".join(caught.value.problems)
    assert "classifier.retrain_after" in problems and "classifier.retrain" in problems


def test_the_commented_platform_examples_in_config_toml_validate(tmp_path):
    shipped = (Path(__file__).parent.parent / "config.toml").read_text(encoding="utf-8")
    block = shipped.split("# ── Platforms")[1].split("# ──")[0]
    tables = "\n".join(line[2:] for line in block.splitlines() if line.startswith("# ") and
                       (line.startswith("# [[") or "=" in line))
    assert tables.count("[[sources]]") == 6
    path = tmp_path / "config.toml"
    path.write_text(tables, encoding="utf-8")
    config = load_config(path)
    assert [s.connector for s in config.sources] == ["wordpress", "mastodon", "reddit", "hackernews", "youtube", "rss"]
    assert config.source("hn").url == "https://hn.algolia.com/api/v1"
    assert config.source("reddit").url == "https://oauth.reddit.com"




RESPONSES = """
[organization]
name = "Dramaten"
accounts = ["Peter", "mastodon:@dramaten@mastodon.social"]

[web]
listen = "127.0.0.1:8750"
public_url = "https://listener.example.org/"
secret_env = "LISTENER_SECRET"

[[departments]]
name = "cs"
sinks = ["mail"]
sla = "4h"
hours = "mon-fri 08:00-12:00,13:00-17:00; sat 10:00-14:00"
timezone = "Europe/Stockholm"
holidays = "SE"
escalate_after = "75%"
escalation_sinks = ["mail"]

[[sinks]]
name = "mail"
type = "console"
"""


def test_response_keys_are_read(tmp_path):
    config = load_config(write_config(tmp_path, GOOD + RESPONSES))
    (cs,) = config.departments
    assert cs.sla == timedelta(hours=4) and cs.escalation_delay == timedelta(hours=3)
    assert config.web.base_url == "https://listener.example.org" and config.web.port == 8750
    assert config.organization.accounts == ["Peter", "mastodon:@dramaten@mastodon.social"]


def test_response_keys_are_checked_with_key_paths(tmp_path):
    bad = (RESPONSES.replace('"mon-fri 08:00', '"mon-fry 08:00').replace('"SE"', '"XX"')
           .replace('"Europe/Stockholm"', '"Europe/Stokholm"').replace('listen = "127.0.0.1:8750"', 'listen = "8750"')
           .replace('public_url = "https://listener.example.org/"', 'public_url = "listener.example.org"'))
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, GOOD + bad))
    problems = caught.value.problems
    assert any(p.startswith('config.toml: departments[0].hours: "mon-fry 08:00') and '"mon-fry" is not a day' in p
               for p in problems)
    assert 'config.toml: departments[0].holidays: unknown holiday country "XX"; use an ISO code such as SE, DK, NO, FI or DE-BY' in problems
    assert any(p.startswith("config.toml: departments[0].timezone: unknown time zone") for p in problems)
    assert any(p.startswith("config.toml: web.listen:") for p in problems)
    assert any(p.startswith("config.toml: web.public_url:") for p in problems)


def test_escalation_needs_its_sinks_and_an_sla_for_a_share(tmp_path):
    unknown = RESPONSES.replace('escalation_sinks = ["mail"]', 'escalation_sinks = ["lead"]')
    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, GOOD + unknown))
    assert caught.value.problems == ['config.toml: departments[0].escalation_sinks[0]: no sink named "lead"; known: mail']
    no_sla = RESPONSES.replace('sla = "4h"\n', "")
    with pytest.raises(ConfigError, match="is a share of the SLA; set sla too"):
        load_config(write_config(tmp_path, GOOD + no_sla))
    bad_share = RESPONSES.replace('"75%"', '"175%"')
    with pytest.raises(ConfigError, match='"175%" is not a share of the SLA'):
        load_config(write_config(tmp_path, GOOD + bad_share))




REPORTS = """
[report]
timezone = "{zone}"

[[baselines]]
name = "before"
start = 2026-01-01
end = {end}

[[sinks]]
name = "chat"
type = "slack"
url = "https://hooks.example/x"

[[sinks]]
name = "mail"
type = "email"
smtp = "smtp://127.0.0.1:25"
from = "listener@example.org"
to = ["boss@example.org"]

[[reports]]
name = "weekly"
cron = "{cron}"
period = "{period}"
baseline = "{baseline}"
sinks = [{sinks}]
"""


def test_reports_and_baselines_load(tmp_path):
    config = load_config(write_config(tmp_path, REPORTS.format(
        zone="Europe/Stockholm", end="2026-03-31", cron="0 7 * * mon", period="last-week", baseline="before",
        sinks='"mail"')))
    assert config.report.timezone == "Europe/Stockholm"
    assert config.baselines[0].end.isoformat() == "2026-03-31"
    assert config.reports[0].sinks == ["mail"] and config.reports[0].by == "department"


def test_report_problems_are_reported_with_key_paths(tmp_path):
    path = write_config(tmp_path, REPORTS.format(
        zone="Mars/Olympus", end="2025-12-31", cron="every monday", period="next-week", baseline="befor",
        sinks='"chat", "nowhere"'))
    result = CliRunner().invoke(cli, ["-c", str(path), "check-config"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert any(line.startswith('config.toml: report.timezone: unknown time zone "Mars/Olympus"') for line in lines)
    assert any(line.startswith("config.toml: baselines[0]: end comes before start") for line in lines)
    assert any(line.startswith('config.toml: reports[0].cron: "every monday" is not a cron expression') for line in lines)
    assert any(line.startswith('config.toml: reports[0].period: "next-week" is not a period') for line in lines)


def test_report_sinks_must_be_email_and_baselines_known(tmp_path):
    path = write_config(tmp_path, REPORTS.format(
        zone="UTC", end="2026-03-31", cron="0 7 * * mon", period="2026-W47", baseline="befor", sinks='"chat", "nowhere"'))
    result = CliRunner().invoke(cli, ["-c", str(path), "check-config"])
    lines = result.output.strip().splitlines()
    assert 'config.toml: reports[0].sinks[0]: "chat" is not an email sink; reports go by e-mail (email sinks: mail)' in lines
    assert any(line.startswith('config.toml: reports[0].sinks[1]: "nowhere" is not an email sink') for line in lines)
    assert any(line.startswith('config.toml: reports[0].baseline: no baseline named "befor", and not a period') for line in lines)


def test_retention_and_worker_processes(tmp_path):
    config = load_config(write_config(tmp_path, '[store]\nkeep = "400d"\n\n[scheduler]\nworkers = 0\n' + GOOD))
    assert config.store.keep == timedelta(days=400) and config.scheduler.workers == 0
    default = load_config(write_config(tmp_path, GOOD))
    assert default.store.keep is None and default.scheduler.workers is None
    with pytest.raises(ConfigError) as bad:
        load_config(write_config(tmp_path, '[store]\nkeep = "2h"\n\n[scheduler]\nworkers = -1\n' + GOOD))
    text = "\n".join(bad.value.problems)
    assert "store.keep: keep mentions at least a day" in text and "scheduler.workers" in text
