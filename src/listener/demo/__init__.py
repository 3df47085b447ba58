"""`listener demo`: the whole product on any machine, without sources of its own or internet.

It serves sample feeds on loopback — written for listener (invented people and posts, in the four
languages; MIT like the rest of the code), not recorded from the web, since the recorded fixtures in
tests/ may be used as test data only — and writes a config with departments, an SLA, routing rules
and a campaign on a temporary SQLite store, plus a demo user. Then it runs the daemon on it.
"""

from __future__ import annotations

import secrets
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SECRET_ENV = "LISTENER_DEMO_SECRET"

POSTS = {
    "shop-comments": [
        ("Karin Holm", "Leveransen är försenad igen och ingen svarar i telefon. Väldigt dåligt.", 30),
        ("Mads Jensen", "Tak for den hurtige hjælp i går, virkelig god service!", 95),
        ("Ola Nordmann", "Hvorfor svarer dere ikke på e-posten min? Jeg har ventet i en uke.", 200),
        ("Jane Doe", "The parcel arrived broken and support has not replied for three days. Awful.", 310),
        ("Sven Ek", "Har ni öppet på lördag?", 420),
        ("Amy Lee", "Great staff at the Lund store, thank you so much!", 600),
    ],
    "blog": [
        ("Lars Berg", "Vinterkampanjen är igång: 20 % på allt i januari.", 60),
        ("Tom Hart", "Read about the winter campaign and our new opening hours.", 240),
        ("Nina Dahl", "Kampagnen er genial, jeg har allerede købt tre ting.", 500),
    ],
}

CONFIG = """# Written by `listener demo`; the store and everything in it are deleted when it stops.
[store]
url = "sqlite:///{folder}/listener.db"

[scheduler]
tick = "2s"

[web]
listen = "127.0.0.1:{port}"
secret_env = "{secret_env}"

[routing]
default_department = "communications"

[[departments]]
name = "customer-service"
sla = "4h"

[[departments]]
name = "marketing"

[[routes]]
name = "complaints"
match = {{ label = "criticism" }}
department = "customer-service"
priority = "high"

[[routes]]
name = "questions"
match = {{ question = true }}
department = "customer-service"

[[routes]]
name = "campaign"
match = {{ campaign = "winter" }}
department = "marketing"

[[campaigns]]
name = "winter"
query = "kampanj* OR kampagne* OR campaign*"

[[sources]]
name = "shop-comments"
connector = "rss"
url = "{feeds}/shop-comments"
interval = "1m"

[[sources]]
name = "blog"
connector = "rss"
url = "{feeds}/blog"
interval = "1m"
"""


def feed(name: str, now: datetime) -> bytes:
    items = "".join(
        f"<item><title></title><link>https://demo.example.org/{name}/{n}</link><guid>{name}-{n}</guid>"
        f"<dc:creator>{escape(author)}</dc:creator>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=minutes))}</pubDate>"
        f"<description>{escape(text)}</description></item>"
        for n, (author, text, minutes) in enumerate(POSTS[name])
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<channel><title>{name}</title><link>https://demo.example.org/</link>{items}</channel></rss>").encode()


class FeedServer:
    """The sample feeds on 127.0.0.1, on a free port, in a thread of the demo's process."""

    def __init__(self, now: datetime):
        bodies = {f"/{name}": feed(name, now) for name in POSTS}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = bodies.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def write_config(folder: Path, port: int, feeds: str) -> Path:
    path = folder / "config.toml"
    path.write_text(CONFIG.format(folder=folder, port=port, feeds=feeds, secret_env=SECRET_ENV), encoding="utf-8")
    return path


def new_password() -> str:
    return secrets.token_urlsafe(12)


def now() -> datetime:
    return datetime.now(UTC)
