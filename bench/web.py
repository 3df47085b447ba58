"""Web inbox and API latency over a store of 1,000,000 mentions (SQLite).

Fills a temporary SQLite store with N mentions routed to four departments (a tenth unanswered
with an SLA deadline, a tenth unanswered without one, the rest answered), signs in once, then
times 200 requests each through the whole app (Starlette TestClient, in process): the inbox's first
page and a page 100,000 rows down (keyset cursor), and the API list's first page and a deep cursor.
Beside them, in the same run, the naive way to reach the same deep inbox page: ORDER BY with OFFSET.

    python bench/web.py [--mentions 1000000] [--requests 200]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text
from starlette.testclient import TestClient

from listener import logs
from listener.config import load_config
from listener.store import users as user_store
from listener.store.engine import make_engine, upgrade
from listener.store.inbox import Cursor
from listener.web.app import build_app

DEPARTMENTS = ("customer-service", "marketing", "press", "communications")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PASSWORD = "bench password 123"


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def fill(engine, n: int) -> None:
    rng = random.Random(7)
    words = ["delivery", "late", "order", "thanks", "great", "awful", "queue", "ticket", "staff", "show", "price", "app", "crash", "help"]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (id, name, connector, url, enabled, in_config, interval_s, next_poll_at,"
                          " failures, polls_with_new, silent, created_at) VALUES (1, 'blog', 'rss', '', 1, 1, 900, :t,"
                          " 0, 0, 0, :t)"), {"t": sqlite_time(NOW)})
        for i, name in enumerate(DEPARTMENTS, 1):
            conn.execute(text("INSERT INTO departments (id, name, in_config) VALUES (:i, :n, 1)"), {"i": i, "n": name})
        user_store.add(conn, "admin", "admin", [], PASSWORD, NOW)
    raw = engine.raw_connection()
    cursor = raw.cursor()
    batch = 50_000
    for start in range(1, n + 1, batch):
        mentions, routes = [], []
        for i in range(start, min(start + batch, n + 1)):
            published = NOW - timedelta(seconds=(n - i) * 30)
            label = ("criticism", "praise", "neutral")[i % 3]
            words_ = " ".join(rng.choices(words, k=12))
            mentions.append((i, 1, f"e{i}", "web", f"https://blog.example.org/{i}", f"Author {i % 997}",
                             f"a{i % 997}", "", words_, "en", label, 0.0, 0, sqlite_time(published),
                             sqlite_time(published), f"h{i}", 0, label))
            kind = i % 10
            due = sqlite_time(published + timedelta(hours=4)) if kind else None
            answered = sqlite_time(published + timedelta(hours=1)) if kind >= 2 else None
            routes.append((i, i % 4 + 1, "normal", "default", due, answered, 3600.0 if answered else None))
        cursor.executemany(
            "INSERT INTO mentions (id, source_id, external_id, platform, url, author_name, author_handle, title, text,"
            " lang, label, score, question, published_at, first_seen_at, content_hash, own, model_label)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", mentions)
        cursor.executemany(
            "INSERT INTO mention_routes (mention_id, department_id, priority, rule, due_at, first_response_at,"
            " response_s) VALUES (?,?,?,?,?,?,?)", routes)
        raw.commit()
    cursor.execute("ANALYZE")
    raw.commit()
    raw.close()


def timed(client: TestClient, url: str, requests: int) -> tuple[float, float]:
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def deep_cursor(engine, department_id: int, offset: int) -> Cursor:
    with engine.connect() as conn:
        row = conn.execute(text(
            "SELECT first_response_at, mention_id FROM mention_routes WHERE department_id = :d"
            " AND first_response_at IS NOT NULL ORDER BY first_response_at DESC, mention_id DESC LIMIT 1 OFFSET :o"),
            {"d": department_id, "o": offset}).one()
    return Cursor("answered", datetime.fromisoformat(row[0]).replace(tzinfo=UTC), row[1])


def naive_deep_page(engine, department_id: int, offset: int, requests: int) -> tuple[float, float]:
    """The same deep page by OFFSET over one ORDER BY of the whole queue."""
    sql = text(
        "SELECT m.id, m.text, r.due_at, r.first_response_at FROM mention_routes r JOIN mentions m ON m.id = r.mention_id"
        " WHERE r.department_id = :d ORDER BY r.first_response_at IS NOT NULL, r.due_at IS NULL, r.due_at,"
        " r.first_response_at DESC, r.mention_id DESC LIMIT 50 OFFSET :o")
    times = []
    with engine.connect() as conn:
        for _ in range(requests):
            started = time.perf_counter()
            conn.execute(sql, {"d": department_id, "o": offset}).all()
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    logs.configure("warning", "json")
    folder = Path(tempfile.mkdtemp(prefix="listener-bench-web-"))
    config_path = folder / "config.toml"
    config_path.write_text(f'[store]\nurl = "sqlite:///{folder / "listener.db"}"\n\n[web]\nsecret_env = "BENCH_SECRET"\n'
                           + "".join(f'\n[[departments]]\nname = "{d}"\n' for d in DEPARTMENTS))
    os.environ["BENCH_SECRET"] = "bench-secret-0123456789abcdef"
    config = load_config(config_path)
    engine = make_engine(config.database_url)
    upgrade(engine)
    started = time.perf_counter()
    fill(engine, args.mentions)
    print(f"filled {args.mentions:,} mentions in {time.perf_counter() - started:.0f} s")

    client = TestClient(build_app(config, engine, clock=lambda: NOW), follow_redirects=False)
    login = client.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', login).group(1)
    assert client.post("/login", data={"username": "admin", "password": PASSWORD, "csrf": csrf}).status_code == 303
    token_client = TestClient(client.app)
    with engine.begin() as conn:
        token = user_store.add_token(conn, "bench", "analyst", [], NOW)
    token_client.headers["Authorization"] = f"Bearer {token}"

    per_department = args.mentions // len(DEPARTMENTS)
    offset = min(100_000, per_department * 8 // 10 - 100)
    deep = deep_cursor(engine, 1, offset)
    middle_id = args.mentions // 2
    cases = [
        ("inbox, first page", client, "/?department=customer-service"),
        (f"inbox, page {offset:,} rows down", client, "/?department=customer-service&cursor=" + quote(deep.encode())),
        ("API list, first page", token_client, "/api/v1/mentions?limit=50"),
        (f"API list, cursor {middle_id:,}", token_client, f"/api/v1/mentions?limit=50&cursor={middle_id}"),
    ]
    print(f"{'':34} {'p50 ms':>8} {'p99 ms':>8}   ({args.requests} requests each, SQLite)")
    for name, who, url in cases:
        p50, p99 = timed(who, url, args.requests)
        print(f"{name:34} {p50:8.1f} {p99:8.1f}")
    p50, p99 = naive_deep_page(engine, 1, offset + 2 * per_department // 10, min(args.requests, 20))
    print(f"{'naive ORDER BY … OFFSET, same depth':34} {p50:8.1f} {p99:8.1f}   (query alone, 20 runs)")


if __name__ == "__main__":
    main()
