"""`listener users` and `listener tokens`: accounts on the command line, passwords never shown."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import write_config
from sqlalchemy import select

from listener.cli import cli
from listener.store import users as user_store
from listener.store.engine import make_engine
from listener.store.tables import users


@pytest.fixture
def run(tmp_path, db_url):
    path = write_config(tmp_path, "", db_url)

    def invoke(*args, input=None):
        return CliRunner().invoke(cli, ["-c", str(path), *args], input=input)

    invoke.db_url = db_url
    return invoke


def test_add_list_passwd_remove(run):
    result = run("users", "add", "anna", "--role", "member", "--department", "customer-service", "--password-stdin",
                 input="first password\n")
    assert result.exit_code == 0, result.output
    assert run("users", "add", "lead", "--role", "admin", input="second password\nsecond password\n").exit_code == 0
    listing = run("users", "list").output
    assert "anna" in listing and "customer-service" in listing and "password" not in listing.split("\n", 1)[1].replace("set", "")
    engine = make_engine(run.db_url)
    with engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.name == "anna")).scalar_one()
        assert stored.startswith("$argon2id$") and "first password" not in stored
        assert user_store.authenticate(conn, "anna", "first password").departments == {"customer-service"}
    assert run("users", "passwd", "anna", "--password-stdin", input="a new password\n").exit_code == 0
    with engine.connect() as conn:
        assert user_store.authenticate(conn, "anna", "first password") is None
        assert user_store.authenticate(conn, "anna", "a new password").role == "member"
    assert run("users", "remove", "anna").exit_code == 0
    with engine.connect() as conn:
        assert user_store.principal(conn, "anna") is None
    engine.dispose()


def test_clear_errors(run):
    short = run("users", "add", "bo", "--role", "admin", "--password-stdin", input="short\n")
    assert short.exit_code == 1 and "too short" in short.output
    member = run("users", "add", "bo", "--role", "member", "--password-stdin", input="long enough pw\n")
    assert member.exit_code == 1 and "needs at least one --department" in member.output
    assert run("users", "add", "bo", "--role", "analyst", "--no-password").exit_code == 0
    again = run("users", "add", "bo", "--role", "analyst", "--no-password")
    assert again.exit_code == 1 and 'a user named "bo" exists already' in again.output
    assert 'no user named "ghost"' in run("users", "remove", "ghost").output
    assert "'king' is not one of" in run("users", "add", "x", "--role", "king").output


def test_tokens_printed_once_and_revocable(run):
    result = run("tokens", "add", "crm", "--role", "member", "--department", "customer-service")
    token = result.stdout.strip()
    assert result.exit_code == 0 and token.startswith("lst_") and len(token) > 40
    listing = run("tokens", "list").output
    assert "crm" in listing and token not in listing
    assert "exists already" in run("tokens", "add", "crm", "--role", "admin").output
    assert run("tokens", "remove", "crm").exit_code == 0
    assert "no token" in run("tokens", "remove", "crm").output
