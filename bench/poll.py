"""Polling throughput: 1,000 sources on a loopback server, first fetches and 304 re-polls.

The server (aiohttp, in its own process, so it does not share the client's core) serves 1,000
distinct ~20 KB RSS feeds with ETags. In one run this prints, in polls per second:
- the server's own limit: requests it answered per second of its own CPU time;
- a minimal aiohttp client (50 concurrent GETs, nothing else): the ceiling for any Python client;
- `listener run` itself (the Daemon, its worker processes, a SQLite store): every source's first
  fetch (parse, classify, store), then every source again, answered 304, three times over;
and the memory of the whole instance: the peak of the summed proportional set size (PSS, which
counts a page shared by n processes as 1/n in each) of the daemon's process and its workers,
sampled every 0.1 s, beside each process's peak RSS.

    python bench/poll.py [--sources 1000] [--concurrency 50] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import os
import resource
import socket
import tempfile
import threading
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


async def listener_daemon(config_path: Path, base: str, sources: int, rounds: int) -> tuple[float, float, float, float]:
    """(first fetches/s, 304 re-polls/s, server CPU seconds for each phase), through the Daemon.
    Each phase starts with a tick, as when sources fall due; the 304 phase is ``rounds`` re-polls
    of every source."""
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

    async def until_polled(since: datetime) -> None:
        while polled_since(since) < sources:
            await asyncio.sleep(0.02)

    await cpu.start()
    cpu_before = await server_cpu(base)
    started = time.perf_counter()
    running = asyncio.create_task(daemon.run())
    await until_polled(datetime.now(UTC) - timedelta(seconds=1))
    first = sources / (time.perf_counter() - started)
    first_cpu = await server_cpu(base) - cpu_before
    cpu_before = await server_cpu(base)
    elapsed = 0.0
    for _round in range(rounds):
        await asyncio.sleep(0.5)  # the recorder's last writes of the round before
        again = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(update(sources_table).values(next_poll_at=again))
        started = time.perf_counter()
        await daemon.tick()
        await until_polled(again)
        elapsed += time.perf_counter() - started
    repoll = rounds * sources / elapsed
    repoll_cpu = (await server_cpu(base) - cpu_before) / rounds
    daemon.stop()
    await running
    await http.aclose()
    await deliverer.aclose()
    cpu.close()
    engine.dispose()
    return first, repoll, first_cpu, repoll_cpu


SERVER: list[int] = []


class Memory:
    """Samples the instance (this process and its children but the feed server) every 0.1 s: the
    peak of their summed PSS, and each one's peak RSS (VmHWM). Forked workers share the daemon's
    pages until they write them, so summed RSS counts those pages several times; PSS does not."""

    def __init__(self):
        self.peak_pss = 0.0
        self.at_peak: dict[int, tuple[float, float]] = {}
        """Each process's (PSS, private) MB at the peak."""
        self.peak_rss: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Memory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(0.1):
                return

    def sample(self) -> None:
        me = psutil.Process()
        total, each = 0.0, {}
        for process in [me, *me.children()]:
            if process.pid in SERVER:
                continue
            try:
                rollup = Path(f"/proc/{process.pid}/smaps_rollup").read_text()
                status = Path(f"/proc/{process.pid}/status").read_text()
            except OSError:  # a worker that just ended
                continue
            pss = _kb(rollup, "Pss:") / 1024
            private = (_kb(rollup, "Private_Clean:") + _kb(rollup, "Private_Dirty:")) / 1024
            total += pss
            each[process.pid] = (pss, private)
            self.peak_rss[process.pid] = _kb(status, "VmHWM:") / 1024
        if total > self.peak_pss:
            self.peak_pss, self.at_peak = total, each


def _kb(text: str, key: str) -> int:
    """A /proc figure in kB; 0 for a process on its way out, whose memory lines are gone."""
    return next((int(line.split()[1]) for line in text.splitlines() if line.startswith(key)), 0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
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
        with tempfile.TemporaryDirectory() as tmp, Memory() as memory:
            config = write_config(Path(tmp), base, args.sources, args.concurrency)
            first, repoll, first_cpu, repoll_cpu = asyncio.run(listener_daemon(config, base, args.sources,
                                                                               args.rounds))
    finally:
        server.terminate()
        server.join()
    size = len(feed(0)) / 1024
    print(f"{args.sources} sources, {size:.0f} KB feeds of 10 items, {args.concurrency} polls at a time, loopback")
    print(f"{'':44s} {'full GET/s':>12s} {'304/s':>10s}")
    print(f"{'server limit (requests per server CPU-s)':44s} {args.sources / full_cpu:12,.0f} {args.sources / nm_cpu:10,.0f}")
    print(f"{'minimal aiohttp client':44s} {full:12,.0f} {not_modified:10,.0f}")
    print(f"{'listener run: poll, parse, classify, store':44s} {first:12,.0f} {repoll:10,.0f}"
          f"  ({args.rounds} rounds of 304s)")
    print(f"listener / minimal client: {first / full:.2f} (first fetches), {repoll / not_modified:.2f} (304s); "
          f"target >= 1,000 conditional polls/s: {'met' if repoll >= 1000 else 'NOT met'}")
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = ", ".join(f"{rss:.0f}" for pid, rss in memory.peak_rss.items() if pid != os.getpid())
    print(f"peak RSS: {me:.0f} MB the daemon's process (this script and the minimal client included); "
          f"workers: {workers or 'none'} MB")
    print(f"the instance in all: {memory.peak_pss:.0f} MB at its peak (summed PSS of the daemon and its workers); "
          f"target < 200 MB: {'met' if memory.peak_pss < 200 else 'NOT met'}")
    print("at that peak, PSS / private MB: " + ", ".join(
        f"{'daemon' if pid == os.getpid() else 'worker'} {pss:.0f} / {private:.0f}"
        for pid, (pss, private) in memory.at_peak.items()))
    print(f"(server CPU in the listener phases: {first_cpu:.2f} s, {repoll_cpu:.2f} s)")


if __name__ == "__main__":
    main()
