"""Learned models in the store: every instance of an installation uses the newest one."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select

from listener.classify.learned import LearnedModel, OutdatedModel
from listener.logs import get_logger
from listener.store.tables import human_labels, learned_models


@dataclass(frozen=True, slots=True)
class StoredModel:
    id: int
    created_at: datetime
    labels: int
    model: LearnedModel


def save(conn: Connection, model: LearnedModel, at: datetime, metrics: dict | None = None) -> int:
    return conn.execute(learned_models.insert().values(
        created_at=at, labels=model.labels, languages=model.counts, model=model.to_bytes(), metrics=metrics,
    ).returning(learned_models.c.id)).scalar_one()


def newest_id(conn: Connection) -> int | None:
    return conn.execute(select(learned_models.c.id).order_by(learned_models.c.id.desc()).limit(1)).scalar()


def labels_since_newest(conn: Connection) -> int:
    """Labels given since the newest model was trained (all of them if there is none)."""
    trained = select(func.max(learned_models.c.created_at)).scalar_subquery()
    q = select(func.count()).select_from(human_labels)
    return conn.execute(q.where((human_labels.c.created_at > trained) | trained.is_(None))).scalar_one()


def newest_is_outdated(conn: Connection) -> bool:
    """Whether the newest model was stored by an older listener, in a format this one cannot read."""
    try:
        newest(conn)
    except OutdatedModel:
        return True
    except ValueError:
        return False
    return False


def newest(conn: Connection) -> StoredModel | None:
    """Raises ValueError if the newest model cannot be read (written by a newer version)."""
    row = conn.execute(
        select(learned_models.c.id, learned_models.c.created_at, learned_models.c.labels, learned_models.c.model)
        .order_by(learned_models.c.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    return StoredModel(row.id, row.created_at, row.labels, LearnedModel.from_bytes(row.model))


RECHECK = 10.0
"""Seconds between asking the store whether a newer model exists."""


class Current:
    """The newest model, read again only when a newer one has been stored. Whether there is one
    is asked at most every ``recheck`` seconds (asked at every poll, that id query was about 3 %
    of a first fetch's work on the event loop), and at once after ``forget``; so a model trained
    here is used by the next poll, and one trained by another instance or by `listener learn`
    within ``recheck``."""

    def __init__(self, engine: Engine, recheck: float = RECHECK):
        self.engine = engine
        self.recheck = recheck
        self._id: int | None = None
        self._model: LearnedModel | None = None
        self._checked: float | None = None

    def forget(self) -> None:
        """A model was stored here: ask again at the next ``get``."""
        self._checked = None

    def get(self, conn: Connection | None = None) -> LearnedModel | None:
        now = time.monotonic()
        if self._checked is not None and now - self._checked < self.recheck:
            return self._model
        if conn is None:
            with self.engine.connect() as own:
                return self.get(own)
        newest_model_id = newest_id(conn)
        self._checked = now
        if newest_model_id != self._id:
            try:
                stored = newest(conn)
            except ValueError as exc:  # a newer version's model: classify with the lexicon alone
                get_logger().warning("classifier.model_unreadable", model=newest_model_id, error=str(exc))
                stored = None
            self._id, self._model = newest_model_id, stored.model if stored else None
        return self._model
