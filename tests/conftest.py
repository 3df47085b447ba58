from __future__ import annotations

import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from feedserver import FeedServer
from sqlalchemy import text

from listener.store.engine import make_engine, upgrade

PG_URL = os.environ.get("LISTENER_TEST_DATABASE_URL")


class Inbox:
    """What a real SMTP server (aiosmtpd) received: (sender, recipients, raw message) each."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    """An SMTP server on a free loopback port: yields (port, Inbox)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture
def server():
    s = FeedServer().start()
    yield s
    s.stop()


class FakeClock:
    """The only thing tests replace: time."""

    def __init__(self, start: datetime = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs) -> None:
        self.now += timedelta(**kwargs)


@pytest.fixture
def clock():
    return FakeClock()


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'listener.db'}"


@pytest.fixture
def pg_url():
    """A PostgreSQL database of our own: a fresh schema in the server CI points us at."""
    if not PG_URL:
        if os.environ.get("CI"):
            pytest.fail("CI must set LISTENER_TEST_DATABASE_URL; PostgreSQL tests may not be skipped in CI")
        pytest.skip("LISTENER_TEST_DATABASE_URL is not set")
    schema = "t_" + uuid.uuid4().hex[:12]
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    sep = "&" if "?" in PG_URL else "?"
    yield f"{PG_URL}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return _sqlite_url(tmp_path)
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url):
    e = make_engine(db_url)
    upgrade(e)
    yield e
    e.dispose()


@pytest.fixture(scope="module")
def filled(tmp_path_factory):
    """One filled SQLite store per module (Argon2 and migrations are slow); each test gets a copy."""
    from website import NOW, fill
    from website import write_config as write_site_config

    folder = tmp_path_factory.mktemp("template")
    ids = fill(write_site_config(folder, f"sqlite:///{folder / 'listener.db'}"), NOW)
    return folder / "listener.db", ids


@pytest.fixture
def site(tmp_path, filled):
    """The web app over a copy of the filled store (website.py), with its users and mentions."""
    import sqlite3

    from website import Site

    template, ids = filled
    with sqlite3.connect(template) as source, sqlite3.connect(tmp_path / "listener.db") as copy:
        source.backup(copy)
    s = Site(tmp_path, f"sqlite:///{tmp_path / 'listener.db'}", ids)
    yield s
    s.engine.dispose()


@pytest.fixture
def report_store(tmp_path, engine, db_url):
    """A migrated store and a config.toml naming it, with the January baseline (reporting.py)."""
    from reporting import BASELINE_CONFIG

    return engine, write_config(tmp_path, BASELINE_CONFIG, db_url)


ANY_PORT = '[web]\nlisten = "127.0.0.1:0"\n\n'
"""A config's opening for tests that run several daemons: each serves its web pages on a free port."""


def write_config(tmp_path: Path, body: str, db_url: str | None = None) -> Path:
    store = f'[store]\nurl = "{db_url}"\n' if db_url else ""
    path = tmp_path / "config.toml"
    path.write_text(store + body, encoding="utf-8")
    return path


@pytest.fixture
def daemons(tmp_path):
    """Starts `listener run` processes (see processes.py); all are killed after the test."""
    from processes import Daemons

    started = Daemons(tmp_path)
    yield started
    started.cleanup()


@pytest.fixture
def jetstream():
    """Starts Jetstream servers (see jetstream.py): ``jetstream(frames, published)``; all stop after the test."""
    from jetstream import JetstreamServer, recorded_frames

    servers = []

    def play(frames=None, published=None):
        server = JetstreamServer(recorded_frames() if frames is None else frames, published).start()
        servers.append(server)
        return server

    yield play
    for server in servers:
        server.stop()
