"""Retention, erasure, cascades and backup, on real SQLite files and PostgreSQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from alerting import COMPLAINT, PRAISE, QUESTION, poll_and_deliver, setup
from click.testing import CliRunner
from sqlalchemy import func, insert, select, update

from listener.cli import cli
from listener.store import retention
from listener.store.tables import (
    daily_figures,
    human_labels,
    mention_routes,
    mention_tags,
    mentions,
    outbox,
    responses,
)

CHILDREN = (mention_routes, mention_tags, outbox, responses, human_labels)


@pytest.fixture(autouse=True)
def hook_secret(monkeypatch):
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")


def stored(tmp_path, db_url, server, clock):
    """Three comments by Person 0-2 (a complaint and a question routed, with alerts), each with a
    response and a human label, so every table that hangs off a mention has rows."""
    path, config, engine = setup(tmp_path, db_url, server, texts=(COMPLAINT, PRAISE, QUESTION))
    poll_and_deliver(config, engine, clock, deliver=False)
    with engine.begin() as conn:
        ids = conn.execute(select(mentions.c.id).order_by(mentions.c.id)).scalars().all()
        for mention_id in ids:
            conn.execute(insert(responses).values(mention_id=mention_id, responded_at=clock(), via="cli",
                                                  created_at=clock()))
            conn.execute(insert(human_labels).values(mention_id=mention_id, text="x", label="neutral", via="cli",
                                                     created_at=clock()))
        conn.execute(insert(mention_tags).values(mention_id=ids[0], kind="query", name="leverans"))
    return path, engine, ids


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (mentions, *CHILDREN)}


def orphans(engine) -> int:
    with engine.connect() as conn:
        return sum(
            conn.execute(select(func.count()).select_from(t).where(t.c.mention_id.not_in(select(mentions.c.id))))
            .scalar_one()
            for t in CHILDREN
        )


def test_forget_an_author_erases_their_mentions_and_everything_attached(tmp_path, db_url, server, clock):
    path, engine, ids = stored(tmp_path, db_url, server, clock)
    before = counts(engine)
    assert before["outbox"] >= 2 and before["mention_routes"] >= 2 and before["mention_tags"] == 1
    result = CliRunner().invoke(cli, ["-c", str(path), "--log-level", "info", "forget", "--author", "Person 0"])
    assert result.exit_code == 0, result.output
    assert "erased 1 mention " in result.output
    assert COMPLAINT not in result.output and "Person 0" not in result.output
    after = counts(engine)
    assert after["mentions"] == 2 and after["responses"] == 2 and after["human_labels"] == 2
    assert after["mention_tags"] == 0 and after["outbox"] < before["outbox"]
    assert orphans(engine) == 0
    with engine.connect() as conn:
        assert conn.execute(select(mentions.c.id).where(mentions.c.author_name == "Person 0")).first() is None


def test_forget_one_mention_and_clear_errors(tmp_path, db_url, server, clock):
    path, engine, ids = stored(tmp_path, db_url, server, clock)
    runner = CliRunner()
    assert runner.invoke(cli, ["-c", str(path), "forget", "--mention", str(ids[1])]).exit_code == 0
    assert counts(engine)["mentions"] == 2 and orphans(engine) == 0
    missing = runner.invoke(cli, ["-c", str(path), "forget", "--mention", str(ids[1])])
    assert missing.exit_code == 1 and "no such mention" in missing.output
    both = runner.invoke(cli, ["-c", str(path), "forget"])
    assert both.exit_code == 2 and "--author NAME or --mention ID" in both.output


def test_retention_prunes_old_mentions_and_keeps_their_figures(tmp_path, db_url, server, clock):
    path, engine, ids = stored(tmp_path, db_url, server, clock)
    with engine.begin() as conn:
        conn.execute(update(mention_routes).values(first_response_at=clock(), response_s=600.0,
                                                   business_response_s=300.0))
        conn.execute(update(mentions).where(mentions.c.id == ids[2])
                     .values(published_at=clock() + timedelta(days=1)))
        routed = conn.execute(select(func.count()).select_from(mention_routes)
                              .where(mention_routes.c.mention_id != ids[2])).scalar_one()
    pruned = retention.prune(engine, clock() - timedelta(hours=1))
    assert pruned == 2
    assert counts(engine)["mentions"] == 1 and orphans(engine) == 0
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(daily_figures))]
    assert sum(r["mentions"] for r in rows) == routed
    assert {r["day"].isoformat() for r in rows} == {"2026-11-23"}
    assert {r["source"] for r in rows} == {"blogg"} and all(r["lang"] == "sv" for r in rows)
    assert sum(r["answered"] for r in rows) == routed
    assert sum(r["response_s_sum"] for r in rows) == 600.0 * routed
    assert sum(r["business_response_s_count"] for r in rows) == routed
    assert retention.prune(engine, clock() - timedelta(hours=1)) == 0


def test_a_second_prune_of_the_same_day_adds_up(engine):
    day = datetime(2026, 1, 2, tzinfo=UTC).date()
    key = (day, "s", "rss", "en", "praise", "")
    one = retention.Figures(mentions=2, answered=1, response_s_sum=10.0, response_s_count=1)
    for _ in range(2):
        with engine.begin() as conn:
            retention.add_figures(conn, {key: one})
    with engine.connect() as conn:
        row = conn.execute(select(daily_figures)).one()
    assert (row.mentions, row.answered, row.response_s_sum, row.response_s_count) == (4, 2, 20.0, 2)


def test_a_delete_by_hand_without_foreign_keys_leaves_no_orphans(tmp_path, server, clock):
    path, engine, ids = stored(tmp_path, None, server, clock)
    engine.dispose()
    db = sqlite3.connect(tmp_path / "listener.db")
    assert db.execute("PRAGMA foreign_keys").fetchone() == (0,)
    db.execute("INSERT INTO users (name, role, created_at) VALUES ('sara', 'member', '2026-11-25 10:00:00')")
    db.execute("INSERT INTO user_departments (user_id, department) VALUES (1, 'customer-service')")
    db.execute("INSERT INTO assignments (mention_id, user_id, assigned_by, assigned_at) VALUES (?, 1, 'sara', '2026-11-25 10:00:00')", ids[:1])
    db.execute("INSERT INTO notes (mention_id, by, text, created_at) VALUES (?, 'sara', 'called back', '2026-11-25 10:00:00')", ids[1:2])
    db.execute("DELETE FROM mentions WHERE id IN (?, ?)", ids[:2])
    db.commit()
    db.execute("DELETE FROM sources")
    db.execute("DELETE FROM users")
    db.commit()
    for table in ("mention_routes", "mention_tags", "outbox", "responses", "human_labels", "mentions",
                  "assignments", "notes", "user_departments"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
    db.close()


def test_backup_is_a_consistent_copy_and_says_how_to_restore(tmp_path, server, clock):
    path, engine, ids = stored(tmp_path, None, server, clock)
    target = tmp_path / "copy.db"
    result = CliRunner().invoke(cli, ["-c", str(path), "db", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "to restore: stop listener" in result.output and str(target) in result.output
    copy = sqlite3.connect(target)
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT count(*) FROM mentions").fetchone() == (3,)
    copy.close()
    again = CliRunner().invoke(cli, ["-c", str(path), "db", "backup", str(target)])
    assert again.exit_code == 1 and "exists" in again.output


def test_backup_of_postgresql_points_at_pg_dump(tmp_path, pg_url):
    from conftest import write_config

    path = write_config(tmp_path, "", pg_url)
    result = CliRunner().invoke(cli, ["-c", str(path), "db", "backup", str(tmp_path / "x.db")])
    assert result.exit_code == 1 and "pg_dump" in result.output


def test_two_processes_starting_on_a_new_file_both_migrate(tmp_path):
    from conftest import write_config

    for attempt in range(3):
        path = write_config(tmp_path, "", f"sqlite:///{tmp_path / f'new{attempt}.db'}")
        procs = [subprocess.Popen([sys.executable, "-m", "listener", "-c", str(path), "db", "upgrade"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [p.communicate(timeout=120) for p in procs]
        assert [p.returncode for p in procs] == [0, 0], results
        assert all("schema at revision" in out for out, _ in results)


def test_a_migration_that_dies_half_way_leaves_no_half_schema(tmp_path):
    from sqlalchemy import event

    from listener.store.engine import current_revision, make_engine, upgrade

    db = tmp_path / "half.db"
    engine = make_engine(f"sqlite:///{db}")
    created = []

    def die_on_the_fourth_table(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("CREATE TABLE"):
            created.append(statement)
            if len(created) == 4:
                raise RuntimeError("killed")

    event.listen(engine, "before_cursor_execute", die_on_the_fourth_table)
    with pytest.raises(RuntimeError):
        upgrade(engine)
    event.remove(engine, "before_cursor_execute", die_on_the_fourth_table)
    raw = sqlite3.connect(db)
    assert raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall() == []
    raw.close()
    upgrade(engine)
    assert current_revision(engine) is not None
