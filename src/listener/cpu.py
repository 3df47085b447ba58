"""CPU work off the event loop: a pool of worker processes, one per core.

Parsing a feed and classifying its items are pure functions over plain data, so they run in
another process and the loop stays free for every other poll; with one worker per core the second
core works too. A function sent here must be importable by name and take and return plain,
picklable data (bytes, strings, tuples, dataclasses of those).
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
BATCH = 200
"""Items per task: big enough that pickling and the trip between processes cost a few per cent,
small enough that a big feed is shared between the workers."""


def warm_up() -> None:
    """Load the classifier's tables (lexicons, language model, word frequencies): a second or more
    of work that must happen at start, not in the middle of the first poll."""
    from listener.classify import classify

    classify("warm up: the service was quick and friendly", default_lang="en")


def _worker_start(daemon: int) -> None:
    """Signals are the daemon's to handle: Ctrl-C reaches the whole process group and systemd
    signals the whole cgroup, but a worker must finish its batch and leave when the daemon closes
    the pool. If the daemon dies (SIGKILL, out of memory) the worker dies with it: a forked worker
    holds both ends of the pool's pipes, so it would never see them break and would live on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _die_with(daemon)
    warm_up()


def _die_with(daemon: int) -> None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        threading.Thread(target=_watch, args=(daemon,), daemon=True, name="watch-daemon").start()
    if os.getppid() != daemon:  # it died before the line above
        os._exit(1)


def _watch(daemon: int) -> None:
    """Where the kernel cannot be asked (not Linux): look once a second."""
    while os.getppid() == daemon:
        time.sleep(1)
    os._exit(1)


_loaded: dict[str, Any] = {}
"""In a worker: the object read from the newest shipped file, by its path."""


def load_shipped(path: str, read: Callable[[bytes], T]) -> T:
    """In a worker: the object in a file from ``CpuPool.ship``, read once and kept until another
    file is shipped."""
    if path not in _loaded:
        _loaded.clear()
        _loaded[path] = read(Path(path).read_bytes())
    return _loaded[path]


class CpuPool:
    """``workers=0`` runs everything inline on the loop (for `listener poll`, tests and benchmarks
    of one stage); ``None`` means one worker per core."""

    def __init__(self, workers: int | None = None):
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self._pool = self._new_pool()
        self._folder: str | None = None
        self._shipped: list[tuple[object, str]] = []
        self._shipping = asyncio.Lock()

    def _new_pool(self) -> ProcessPoolExecutor | None:
        if self.workers <= 0:
            return None
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_worker_start, initargs=(os.getpid(),))

    async def start(self) -> None:
        """Start every worker and load what it needs now, before the first poll waits on it. The
        workers are forked here, at start, while the daemon has no other threads and no
        connection in use: they share its memory pages and need not import anything again.

        The daemon loads the classifier's tables first and freezes what it holds out of the
        garbage collector's reach: the collector writes to every object it scans, which copies
        the pages it shares into each worker (bench/poll.py: 12 MB of a worker's own instead of 26)."""
        warm_up()
        if self._pool is None:
            return
        gc.collect()
        gc.freeze()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(self._pool, warm_up) for _ in range(self.workers)))

    async def run(self, fn: Callable[..., R], *args: Any) -> R:
        if self._pool is None:
            return fn(*args)
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)
        except BrokenProcessPool:  # a worker was killed (out of memory?): this task fails, the next gets a new pool
            if self._pool is pool:
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
            raise

    async def map_batches(self, fn: Callable[[list[T]], list[R]], items: Sequence[T]) -> list[R]:
        """``fn`` over ``items`` in batches spread over the workers; results in the items' order."""
        if not items:
            return []
        chunks = [list(items[i : i + BATCH]) for i in range(0, len(items), BATCH)]
        results = await asyncio.gather(*(self.run(fn, chunk) for chunk in chunks))
        return [r for chunk in results for r in chunk]

    async def ship(self, obj: T, to_bytes: Callable[[T], bytes]) -> str | None:
        """A file holding ``obj`` for the workers to read with ``load_shipped``: too big to send with
        every batch (the learned model is megabytes), and it changes after the workers were forked.
        Written once per object, in a private folder; the file before it is kept for tasks still
        on their way. None when the work runs inline."""
        if self._pool is None:
            return None
        async with self._shipping:
            for shipped, path in self._shipped:
                if shipped is obj:
                    return path
            blob = await asyncio.to_thread(to_bytes, obj)
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="listener-cpu-")
            handle, path = tempfile.mkstemp(dir=self._folder, suffix=".bin")
            with os.fdopen(handle, "wb") as out:
                out.write(blob)
            self._shipped = [*self._shipped[-1:], (obj, path)]
            for stale in set(os.listdir(self._folder)) - {os.path.basename(p) for _, p in self._shipped}:
                os.unlink(os.path.join(self._folder, stale))
            return path

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder, self._shipped = None, []


INLINE = CpuPool(0)
"""Runs everything in the caller: the default where no pool was set up."""
