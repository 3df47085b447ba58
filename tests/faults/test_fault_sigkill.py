"""Fault (a): `listener run` killed with SIGKILL at random moments, over and over, while new
sources and items keep appearing and a slow sink receives the alerts; then one clean run. Every
published item is stored exactly once, every alert delivered at least once, always under the
delivery id it was given when its mention was stored."""

from __future__ import annotations

import random
import time
from collections import Counter

import pytest
from alerting import COMPLAINT, PRAISE, QUESTION, ROUTING, feed
from conftest import ANY_PORT, write_config
from processes import leftovers, wait_until
from sqlalchemy import func, select

from listener.store.engine import make_engine
from listener.store.tables import mentions, outbox

ROUNDS = 20
PER_ROUND = 2
TEXTS = (COMPLAINT, PRAISE, QUESTION)


@pytest.fixture(autouse=True)
def hook_secret(monkeypatch):
    monkeypatch.setenv("TEST_HOOK_SECRET", "s3cret")


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_nothing(tmp_path, server, daemons):
    rng = random.Random(10)
    hook = server.add("/hook", body=b"ok", content_type="text/plain", etag=False,
                      hook=lambda _received: time.sleep(0.05))
    head = ROUTING.split("[[sources]]")[0].format(hook=hook, concurrency=2)
    head += '\n[scheduler]\ntick = "1s"\nconcurrency = 2\n\n[logging]\nformat = "json"\n'
    sources = ""
    published = 0
    rounds = []
    for n in range(ROUNDS):
        for k in range(PER_ROUND):
            s = n * PER_ROUND + k
            url = server.add(f"/feed/{s}", body=feed(*(f"{t} (källa {s})" for t in TEXTS)))
            sources += f'\n[[sources]]\nname = "s{s}"\nconnector = "rss"\nurl = "{url}"\nlang = "sv"\ninterval = "1h"\n'
            published += len(TEXTS)
        config = write_config(tmp_path, ANY_PORT + head + sources)
        daemon = daemons(config, f"round{n}")
        try:  # most kills after the start, while it polls and sends; the others during the start
            daemon.started(rng.uniform(1.0, 6.0))
        except AssertionError:
            pass
        time.sleep(rng.uniform(0.0, 1.0))
        daemon.kill()
        events = {e["event"] for e in daemon.events()}
        rounds.append(("poll.done" in events, "alert.sent" in events))

    final = daemons(config, "final")
    engine = make_engine(f"sqlite:///{tmp_path / 'listener.db'}")

    def done() -> bool:
        try:
            return settled()
        except Exception:  # no schema yet: every round died before migrating
            return False

    def settled() -> bool:
        with engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(mentions)).scalar_one()
            waiting = conn.execute(select(func.count()).select_from(outbox).where(outbox.c.state != "sent")).scalar_one()
        return stored == published and waiting == 0

    wait_until(done, 120, 0.5, "every mention stored and every alert sent")
    # earlier rounds may have finished the work before this daemon got going: stop it once it runs
    final.started()
    assert final.stop() == 0
    wait_until(lambda: not leftovers(config), 10, what="no worker process to outlive its daemon")
    with engine.connect() as conn:
        keys = conn.execute(select(mentions.c.source_id, mentions.c.external_id)).all()
        rows = conn.execute(select(outbox.c.delivery_id, outbox.c.mention_id, outbox.c.department_id,
                                   outbox.c.sink)).all()
    assert len(keys) == len(set(keys)) == published
    assert len({(r.mention_id, r.department_id, r.sink) for r in rows}) == len(rows), "an alert was written twice"
    received = Counter(r.headers["x-listener-delivery"] for r in server.received("/hook"))
    ids = {r.delivery_id for r in rows}
    assert set(received) == ids, "an alert was lost, or sent under another delivery id"
    resent = sum(received.values()) - len(ids)
    polled = sum(p for p, _ in rounds)
    sending = sum(a for _, a in rounds)
    print(f"\nfault (a): {ROUNDS} SIGKILLs ({polled} after polls had stored mentions, {sending} after alerts "
          f"went out); "
          f"{published} mentions stored once each; {len(ids)} alerts delivered, {resent} of them twice "
          f"(a kill between send and mark), all under their first delivery id")
