"""Polling throughput: 1,000 sources on a loopback server, first fetches and 304 re-polls.

The server (aiohttp, in its own process, so it does not share the client's core) serves 1,000
distinct ~20 KB RSS feeds with ETags. In one run this prints, in polls per second:
- the server's own limit: requests it answered per second of its own CPU time;
- a minimal aiohttp client (50 concurrent GETs, nothing else): the ceiling for any Python client;
- `listener run` itself (the Daemon, its worker processes, a SQLite store): every source's first
  fetch (parse, classify, store), then every source again, answered 304;
and the peak RSS of the daemon's process and of its largest worker.

    python bench/poll.py [--sources 1000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import resource
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import aiohttp
import psutil
from aiohttp import web
from sqlalchemy import func, select, update

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WORDS = ("leverans kundtjänst snabb bra dålig tack problem order paket svar hjälp fantastisk "
         "delivery service great awful slow thanks").split()


def feed(n: int) -> bytes:
    items = []
    for i in range(10):
        words = f"blogg {n} inlägg {i}: " + " ".join(WORDS[(n + i + k) % len(WORDS)] for k in range(300))
        items.append(f"<item><title>Post {n}-{i}</title><link>https://blog{n}.example.se/{i}/</link>"
                     f"<guid>https://blog{n}.example.se/?p={i}</guid>"
                     f"<pubDate>{format_datetime(NOW - timedelta(hours=i))}</pubDate>"
                     f"<description><![CDATA[<p>{words}</p>]]></description></item>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Blogg {n}</title>'
            f"<link>https://blog{n}.example.se/</link>{''.join(items)}</channel></rss>").encode()


def serve(port: int, sources: int, ready) -> None:
    feeds = [feed(n) for n in range(sources)]
    tags = ['"' + hashlib.sha1(body).hexdigest()[:16] + '"' for body in feeds]

    async def get(request: web.Request) -> web.Response:
        n = int(request.match_info["n"])
        if request.headers.get("If-None-Match") == tags[n]:
            return web.Response(status=304, headers={"ETag": tags[n]})
        return web.Response(body=feeds[n], content_type="application/rss+xml", headers={"ETag": tags[n]})

    async def cpu(_request: web.Request) -> web.Response:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return web.Response(text=f"{usage.ru_utime + usage.ru_stime}")

    app = web.Application()
    app.router.add_get("/feed/{n}", get)
    app.router.add_get("/cpu", cpu)
    ready.set()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def server_cpu(base: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(f"{base}/cpu") as response:
        return float(await response.text())


async def minimal_client(base: str, sources: int, concurrency: int) -> tuple[float, float, float, float]:
    """(full GETs/s, 304s/s, server CPU seconds for each phase)."""
    tags: dict[int, str] = {}
    slots = asyncio.Semaphore(concurrency)
    rates, cpus = [], []
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:
        async def one(n: int) -> None:
            async with slots:
                headers = {"If-None-Match": tags[n]} if n in tags else {}
                async with session.get(f"{base}/feed/{n}", headers=headers) as response:
                    await response.read()
                    tags[n] = response.headers["ETag"]

        for _phase in range(2):
            cpu_before = await server_cpu(base)
            started = time.perf_counter()
            await asyncio.gather(*(one(n) for n in range(sources)))
            rates.append(sources / (time.perf_counter() - started))
            cpus.append(await server_cpu(base) - cpu_before)
    return rates[0], rates[1], cpus[0], cpus[1]


def write_config(folder: Path, base: str, sources: int, concurrency: int) -> Path:
    body = [f'[store]\nurl = "sqlite:///{folder / "bench.db"}"\n',
            f'[scheduler]\ntick = "1s"\nconcurrency = {concurrency}\n',
            f"[http]\nper_host = {concurrency}\n", '[logging]\nlevel = "warning"\n']
    body += [f'[[sources]]\nname = "s{n:04d}"\nconnector = "rss"\nurl = "{base}/feed/{n}"\ninterval = "1h"\n'
             for n in range(sources)]
    path = folder / "config.toml"
    path.write_text("\n".join(body))
    return path


async def listener_daemon(config_path: Path, base: str, sources: int) -> tuple[float, float, float, float]:
    """(first fetches/s, 304 re-polls/s, server CPU seconds for each phase), through the Daemon."""
    from listener import logs
    from listener.alerts.worker import Deliverer
    from listener.config import load_config
    from listener.cpu import CpuPool
    from listener.http import HttpClient
    from listener.scheduler import Daemon, Poller
    from listener.store import sources as source_store
    from listener.store.engine import make_engine, upgrade
    from listener.store.tables import sources as sources_table

    config = load_config(config_path)
    logs.configure("warning", "json")
    engine = make_engine(config.database_url)
    upgrade(engine)
    with engine.begin() as conn:
        source_store.sync(conn, config.sources, datetime.now(UTC))
    cpu = CpuPool(config.scheduler.workers)
    http = HttpClient(config.http)
    poller = Poller(config, engine, http, cpu=cpu, owner="bench")
    deliverer = Deliverer(config, engine, owner="bench")
    daemon = Daemon(poller, deliverer)

    def polled_since(when: datetime) -> int:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(sources_table)
                                .where(sources_table.c.last_success_at >= when)).scalar_one()

    async def phase(since: datetime) -> tuple[float, float]:
        cpu_before = await server_cpu(base)
        started = time.perf_counter()
        while polled_since(since) < sources:
            await asyncio.sleep(0.05)
        return sources / (time.perf_counter() - started), await server_cpu(base) - cpu_before

    await cpu.start()
    running = asyncio.create_task(daemon.run())
    first, first_cpu = await phase(datetime.now(UTC) - timedelta(seconds=1))
    again = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(update(sources_table).values(next_poll_at=again))
    repoll, repoll_cpu = await phase(again)
    WORKERS.extend(worker_memory())
    daemon.stop()
    await running
    await http.aclose()
    await deliverer.aclose()
    cpu.close()
    engine.dispose()
    return first, repoll, first_cpu, repoll_cpu


WORKERS: list[tuple[float, float]] = []
SERVER: list[int] = []


def worker_memory() -> list[tuple[float, float]]:
    """(peak RSS, unique set size) in MB of each worker process. Forked workers share the daemon's
    pages until they write them, so RSS counts those pages twice; USS is what each adds."""
    out = []
    for child in psutil.Process().children():
        if child.pid in SERVER:
            continue
        status = Path(f"/proc/{child.pid}/status").read_text()
        peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
        out.append((peak / 1024, child.memory_full_info().uss / 2**20))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=serve, args=(port, args.sources, ready), daemon=True)
    server.start()
    SERVER.append(server.pid)
    ready.wait(60)
    time.sleep(0.5)
    try:
        full, not_modified, full_cpu, nm_cpu = asyncio.run(minimal_client(base, args.sources, args.concurrency))
        with tempfile.TemporaryDirectory() as tmp:
            config = write_config(Path(tmp), base, args.sources, args.concurrency)
            first, repoll, first_cpu, repoll_cpu = asyncio.run(listener_daemon(config, base, args.sources))
    finally:
        server.terminate()
        server.join()
    size = len(feed(0)) / 1024
    print(f"{args.sources} sources, {size:.0f} KB feeds of 10 items, {args.concurrency} polls at a time, loopback")
    print(f"{'':44s} {'full GET/s':>12s} {'304/s':>10s}")
    print(f"{'server limit (requests per server CPU-s)':44s} {args.sources / full_cpu:12,.0f} {args.sources / nm_cpu:10,.0f}")
    print(f"{'minimal aiohttp client':44s} {full:12,.0f} {not_modified:10,.0f}")
    print(f"{'listener run: poll, parse, classify, store':44s} {first:12,.0f} {repoll:10,.0f}")
    print(f"listener / minimal client: {first / full:.2f} (first fetches), {repoll / not_modified:.2f} (304s); "
          f"target >= 1,000 conditional polls/s: {'met' if repoll >= 1000 else 'NOT met'}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = ", ".join(f"{rss:.0f} MB peak RSS / {uss:.0f} MB its own (USS)" for rss, uss in WORKERS)
    total = peak + sum(uss for _, uss in WORKERS)
    print(f"peak RSS: {peak:.0f} MB the daemon's process (this script included); workers: {workers}")
    print(f"the instance in all: {total:.0f} MB (daemon peak RSS + workers' own memory); "
          f"target < 200 MB: {'met' if total < 200 else 'NOT met'}")
    print(f"(server CPU in the listener phases: {first_cpu:.2f} s, {repoll_cpu:.2f} s)")


if __name__ == "__main__":
    main()
