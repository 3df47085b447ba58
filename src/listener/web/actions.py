"""What a click in the inbox does to the store, each in the caller's transaction: the same
functions the command line uses (`listener respond`, `listener label`), with ``via = "web"``."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from listener.config import Config
from listener.responses import record_response
from listener.store.labels import add_label


def record_answer(conn: Connection, config: Config, mention_id: int, *, at: datetime, by: str,
                  url: str = "", note: str = "") -> None:
    record_response(conn, config, mention_id, at=at, by=by, via="web", url=url, note=note, now=at)


def relabel(conn: Connection, mention_id: int, label: str, *, by: str, at: datetime) -> None:
    add_label(conn, mention_id, label, by=by, via="web", at=at)
