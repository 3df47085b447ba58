"""A store with departments, routed mentions and users, for the web tests (TestClient and browser)."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import update
from starlette.testclient import TestClient

from listener import pipeline
from listener.config import load_config
from listener.domain import Author, Item
from listener.routing import Router
from listener.store import routing as routing_store
from listener.store import sources as source_store
from listener.store import users as user_store
from listener.store.engine import make_engine, upgrade
from listener.store.tables import mention_routes
from listener.web.app import build_app

PASSWORD = "correct horse battery"
SECRET = "test-secret-0123456789abcdef"
os.environ.setdefault("LISTENER_TEST_SECRET", SECRET)
HOSTILE = ('<script>document.title="pwned"</script> <img src=x onerror="document.title=\'pwned\'"> '
           '<!channel> click javascript:document.title="pwned" or https://example.org/ok')

CONFIG = """
[store]
url = "{db_url}"

[web]
listen = "127.0.0.1:{port}"
secret_env = "LISTENER_TEST_SECRET"

[routing]
default_department = "communications"

[[departments]]
name = "customer-service"

[[departments]]
name = "marketing"

[[routes]]
name = "complaints"
match = {{ label = "criticism" }}
department = "customer-service"
priority = "high"

[[routes]]
name = "campaign"
match = {{ query = "kampanj OR campaign" }}
department = "marketing"

[[sources]]
name = "blog"
connector = "rss"
url = "{feed_url}"
interval = "1m"
"""

ITEMS = [
    ("c1", "Terrible service, the delivery is late again and nobody answers. Awful.", "Anna"),
    ("c2", "Worst support ever, I am so angry and disappointed.", "Bo"),
    ("p1", "Our new campaign is out today", "Cia"),
    ("h1", HOSTILE, "<b>Mallory</b>"),
]


def write_config(tmp_path: Path, db_url: str, port: int = 8750, feed_url: str = "http://127.0.0.1:9/feed") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(db_url=db_url, port=port, feed_url=feed_url), encoding="utf-8")
    return path


def item(external_id: str, text: str, author: str, published: datetime) -> Item:
    return Item(external_id=external_id, url=f"https://blog.example.org/{external_id}", title="", text=text,
                published_at=published, author=Author(author, author.lower()))


def fill(config_path: Path, now: datetime, items=ITEMS, people: bool = True) -> dict[str, int]:
    """Stores the items through the real pipeline (classified and routed), gives the customer-service
    routes SLA deadlines an hour apart (c1 overdue), and adds one user per role. Returns external id → id."""
    config = load_config(config_path)
    engine = make_engine(config.database_url)
    upgrade(engine)
    router = Router.from_config(config)
    with engine.begin() as conn:
        source_store.sync(conn, config.sources, now)
        routing_store.sync_departments(conn, router)
        source_id = source_store.get_state(conn, "blog").id
    batch = [item(e, text, author, now - timedelta(hours=3 - i * 0.5)) for i, (e, text, author) in enumerate(items)]
    result = pipeline.process(engine, pipeline.SourceRef(source_id, "blog"), batch, now, router)
    ids = dict(zip([e for e, *_ in items], result.new_ids, strict=True))
    with engine.begin() as conn:
        for n, external_id in enumerate(("c1", "c2")):
            conn.execute(update(mention_routes).where(mention_routes.c.mention_id == ids[external_id])
                         .values(due_at=now + timedelta(hours=n * 2 - 1)))
    with engine.begin() as conn:
        for name, role, departments in (("admin", "admin", []), ("cs", "member", ["customer-service"]),
                                        ("mk", "member", ["marketing"]), ("analyst", "analyst", [])):
            if people:
                user_store.add(conn, name, role, departments, PASSWORD, now)
    engine.dispose()
    return ids


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
"""The web tests' clock."""


def login(client: TestClient, user: str, password: str):
    csrf = csrf_of(client.get("/login").text)
    return client.post("/login", data={"username": user, "password": password, "csrf": csrf})


class Site:
    """The web app over a filled store, with a clock the test moves (``now``)."""

    def __init__(self, tmp_path, db_url, ids=None):
        self.config_path = write_config(tmp_path, db_url)
        self.ids = ids or fill(self.config_path, NOW)
        self.config = load_config(self.config_path)
        self.engine = make_engine(self.config.database_url)
        self.now = NOW
        self.app = build_app(self.config, self.engine, clock=lambda: self.now)

    def client(self, user: str | None = None, **kwargs) -> TestClient:
        client = TestClient(self.app, follow_redirects=False, **kwargs)
        if user:
            response = login(client, user, PASSWORD)
            assert response.status_code == 303, response.text
        return client
