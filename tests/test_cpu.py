"""The worker pool: the learned model reaches the worker processes, so an installation whose team
labels mentions still classifies on every core."""

import asyncio
import os

from listener.classify import learn
from listener.cpu import CpuPool
from listener.domain import Label
from listener.pipeline import classify_batch, classify_shipped

GERMAN = [("Das Paket ist schon wieder nicht angekommen", "de", Label.CRITICISM),
          ("Schon wieder nicht angekommen, das Paket", "de", Label.CRITICISM),
          ("Wieder kein Paket, schon die dritte Woche", "de", Label.CRITICISM),
          ("Danke, das Paket ist angekommen", "de", Label.PRAISE),
          ("Wann öffnet der Laden?", "de", Label.NEUTRAL)] * 4
TEXTS = [("Das Paket ist wieder nicht angekommen", "de"), ("The service was quick and friendly", "en")]


def worker_pid(_: list) -> list[int]:
    return [os.getpid()]


def test_a_shipped_model_classifies_in_the_workers_as_it_does_here():
    first = learn(GERMAN)
    second = learn(GERMAN[:5] * 2)

    async def run():
        pool = CpuPool(1)
        await pool.start()
        try:
            path = await pool.ship(first, type(first).to_bytes)
            again = await pool.ship(first, type(first).to_bytes)
            verdicts = await pool.run(classify_shipped, TEXTS, path)
            pids = await pool.map_batches(worker_pid, [None])
            newer = await pool.ship(second, type(second).to_bytes)
            newer_verdicts = await pool.run(classify_shipped, TEXTS, newer)
            folder = os.path.dirname(path)
            files = sorted(os.listdir(folder))
            still_there = os.path.exists(path)  # a task sent before the new model may still read it
        finally:
            pool.close()
        return path, again, verdicts, pids, newer, newer_verdicts, folder, files, still_there

    path, again, verdicts, pids, newer, newer_verdicts, folder, files, still_there = asyncio.run(run())
    assert again == path != newer and still_there
    assert sorted(files) == sorted(os.path.basename(p) for p in (path, newer))
    assert pids[0] != os.getpid()
    assert verdicts == classify_batch(TEXTS, first) and verdicts[0][1] == "criticism"
    assert verdicts != classify_batch(TEXTS)  # the lexicon alone cannot read German
    assert newer_verdicts == classify_batch(TEXTS, second)
    assert not os.path.exists(folder)  # closing the pool removes its files


def test_without_workers_nothing_is_shipped():
    pool = CpuPool(0)
    assert asyncio.run(pool.ship(learn(GERMAN), lambda m: m.to_bytes())) is None
