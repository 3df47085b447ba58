"""Alert latency: from the commit that writes an alert to its receipt at a loopback webhook.

1,000 alerts are committed in small batches (as polls would write them) while the delivery worker
runs; a webhook receiver on 127.0.0.1 notes when each delivery id arrives. Printed: p50 and p99
latency for listener's worker (woken by each commit, sending concurrently) and, in the same run,
for a naive worker that looks at the outbox once a second and sends one alert at a time.

    python bench/alerts.py [--alerts 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import statistics
import tempfile
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from listener import logs
from listener.alerts.worker import Deliverer
from listener.config import load_config
from listener.domain import Author, Mention, Priority, Route
from listener.pipeline import store
from listener.routing import Router
from listener.store import routing as routing_store
from listener.store import sources as source_store
from listener.store.engine import make_engine, upgrade

BATCH = 10
PAUSE = 0.05  # 200 alerts/s offered: a burst far above what comms teams see in a day
CONCURRENCY = 4


def serve(port, log_path: str) -> None:
    """The receiver, in a process of its own so it does not compete with the worker for the GIL."""
    out = open(log_path, "a", buffering=1)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            out.write(f"{json.loads(body)['delivery_id']} {time.time()}\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    port.value = httpd.server_address[1]
    httpd.serve_forever()


class Receiver:
    def __init__(self, folder: Path):
        self.log = folder / "arrivals.txt"
        self.log.touch()
        port = multiprocessing.Value("i", 0)
        self.process = multiprocessing.Process(target=serve, args=(port, str(self.log)), daemon=True)
        self.process.start()
        while not port.value:
            time.sleep(0.01)
        self.port = port.value

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def arrived(self) -> dict[str, float]:
        lines = self.log.read_text().split("\n")
        return {d: float(t) for d, t in (line.split() for line in lines if line.count(" ") == 1)}


def mention(n: int) -> Mention:
    now = datetime.now(UTC)
    return Mention(
        source="bench", external_id=f"m{n}", platform="web", url=f"https://example.org/{n}", author=Author("A", "@a"),
        title=f"Mention {n}", text="Leveransen är sen och kundtjänsten svarar inte.", published_at=now,
        first_seen_at=now, content_hash=f"{n:064d}", lang="sv", score=-0.6,
        routes=(Route("customer-service", Priority.HIGH if n % 3 == 0 else Priority.NORMAL, "bench"),),
    )


async def run(folder: Path, receiver: Receiver, total: int, naive: bool, batch: int = BATCH,
              pause: float = PAUSE, tag: str = "") -> list[float]:
    name = ("naive" if naive else "listener") + tag
    path = folder / f"{name}.toml"
    path.write_text(f"""
[store]
url = "sqlite:///{folder / name}.db"

[alerts]
concurrency = {1 if naive else CONCURRENCY}

[[departments]]
name = "customer-service"
sinks = ["hook"]

[[sinks]]
name = "hook"
type = "webhook"
url = "{receiver.url}"
""")
    config = load_config(path)
    engine = make_engine(config.database_url)
    upgrade(engine)
    router = Router.from_config(config)
    from listener.config import Source
    from listener.connector import NoOptions

    with engine.begin() as conn:
        source_store.sync(conn, [Source("bench", "rss", "http://x", __import__("datetime").timedelta(minutes=15), True, NoOptions())], datetime.now(UTC))
        routing_store.sync_departments(conn, router)
        source_id = source_store.get_state(conn, "bench").id
    deliverer = Deliverer(config, engine)
    committed: dict[str, float] = {}
    wake = asyncio.Event()
    done = asyncio.Event()

    async def produce():
        from sqlalchemy import select

        from listener.store.tables import outbox

        for start in range(0, total, batch):
            new, _ = store(engine, source_id, [mention(n) for n in range(start, min(total, start + batch))], router, datetime.now(UTC))
            at = time.time()
            with engine.connect() as conn:
                for delivery_id in conn.execute(select(outbox.c.delivery_id).where(outbox.c.mention_id.in_(list(new)))).scalars():
                    committed[delivery_id] = at
            if not naive:
                wake.set()
            await asyncio.sleep(pause)
        done.set()

    async def work():
        while not done.is_set() or len(receiver.arrived.keys() & committed.keys()) < total:
            if naive:
                await asyncio.sleep(1.0)
            else:
                try:
                    await asyncio.wait_for(wake.wait(), timeout=1.0)
                except TimeoutError:
                    pass
                wake.clear()
            await deliverer.deliver_due()

    await asyncio.gather(produce(), work())
    await deliverer.aclose()
    engine.dispose()
    arrived = receiver.arrived
    return sorted(arrived[d] - committed[d] for d in committed)


def percentile(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> None:
    logs.configure("warning", "console")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        receiver = Receiver(Path(tmp))
        results = {}
        for naive in (True, False):
            latencies = asyncio.run(run(Path(tmp), receiver, args.alerts, naive))
            name = "naive (outbox checked every 1 s, one at a time)" if naive else f"listener (woken by commit, {CONCURRENCY} at a time)"
            results[naive] = latencies
            print(f"{name:50s} n={len(latencies)} p50={percentile(latencies, 50) * 1000:7.1f} ms "
                  f"p99={percentile(latencies, 99) * 1000:7.1f} ms mean={statistics.mean(latencies) * 1000:7.1f} ms")
        burst = asyncio.run(run(Path(tmp), receiver, args.alerts, False, batch=args.alerts, pause=0, tag="-burst"))
    print(f"offered load: {BATCH / PAUSE:.0f} alerts/s in commits of {BATCH}")
    print(f"burst, all {args.alerts} alerts in one commit: p50={percentile(burst, 50) * 1000:.0f} ms "
          f"p99={percentile(burst, 99) * 1000:.0f} ms ({args.alerts / burst[-1]:.0f} alerts/s)")
    print(f"p99 ratio naive/listener: {percentile(results[True], 99) / percentile(results[False], 99):.1f}x (target p99 < 1 s)")


if __name__ == "__main__":
    main()
