"""Which learned model the pipeline uses: the newest in the store, asked for at most every few
seconds, and at once after this process stored one."""

import random
import time
from datetime import UTC, datetime

from test_learned import _domain_halves, _model

from listener.store import models as model_store

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_a_newer_model_is_seen_after_the_recheck_interval_or_at_once_after_forget(engine):
    train, _ = _domain_halves()
    first, second, third = (_model(random.Random(n).sample(train, 30)) for n in range(3))
    current = model_store.Current(engine, recheck=0.3)
    assert current.get() is None
    with engine.begin() as conn:
        model_store.save(conn, first, NOW)
    assert current.get() is None  # not asked again yet
    time.sleep(0.35)
    assert current.get().to_bytes() == first.to_bytes()
    with engine.begin() as conn:
        model_store.save(conn, second, NOW)
    assert current.get().to_bytes() == first.to_bytes()
    current.forget()
    assert current.get().to_bytes() == second.to_bytes()
    with engine.begin() as conn:
        model_store.save(conn, third, NOW)
    time.sleep(0.35)
    assert current.get().to_bytes() == third.to_bytes()
