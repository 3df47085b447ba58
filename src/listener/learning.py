"""Training the installation's model from the human labels in the store, and storing it.

Shared by `listener learn`, the daemon's retraining job and `listener eval --learn-from`. The
training itself is CPU work for a few seconds: callers on the event loop run it in a thread.
"""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import Engine

from listener.classify import learn
from listener.logs import get_logger
from listener.store import labels as label_store
from listener.store import models as model_store


def train(engine: Engine, now: datetime) -> model_store.StoredModel | None:
    """Train on every labelled text's newest label and store the model; None if there are no labels."""
    with engine.connect() as conn:
        examples = label_store.latest(conn)
    if not examples:
        return None
    started = time.perf_counter()
    model = learn((e.text, e.lang, e.label) for e in examples)
    seconds = round(time.perf_counter() - started, 2)
    with engine.begin() as conn:
        model_id = model_store.save(conn, model, now, {"seconds": seconds})
    get_logger().info("classifier.trained", model=model_id, labels=model.labels, languages=model.counts,
                      seconds=seconds)
    return model_store.StoredModel(model_id, now, model.labels, model)


def retrain_if_due(engine: Engine, now: datetime, after: int) -> model_store.StoredModel | None:
    """A new model when at least ``after`` labels arrived since the last one, or when the last one
    was stored by an older listener (after an upgrade the labels teach the new format at once)."""
    with engine.connect() as conn:
        due = model_store.labels_since_newest(conn) >= after or model_store.newest_is_outdated(conn)
    if not due:
        return None
    return train(engine, now)
