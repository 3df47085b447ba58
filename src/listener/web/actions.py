"""What a click in the inbox does to the store, each in the caller's transaction.

Recording a response belongs to the responses work (``listener.responses.record_response``);
until that is merged, ``record_answer`` below is the one place that stands in for it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select, update

from listener.config import Config
from listener.store.labels import add_label
from listener.store.tables import mention_routes, mentions, responses


def record_answer(conn: Connection, config: Config, mention_id: int, *, at: datetime, by: str,
                  url: str = "", note: str = "") -> None:
    """A response recorded from the web (via "web"). Integration point: to be replaced by
    ``listener.responses.record_response(conn, config, mention_id, at=at, by=by, via="web", url=url,
    note=note)``, which also counts business hours; this stand-in records the response and the
    wall-clock response time on each route not yet answered."""
    conn.execute(responses.insert().values(mention_id=mention_id, responded_at=at, by=by, via="web", url=url,
                                           note=note, created_at=at))
    published = conn.execute(select(mentions.c.published_at).where(mentions.c.id == mention_id)).scalar_one()
    conn.execute(update(mention_routes)
                 .where(mention_routes.c.mention_id == mention_id, mention_routes.c.first_response_at.is_(None))
                 .values(first_response_at=at, response_s=max(0.0, (at - published).total_seconds())))


def relabel(conn: Connection, mention_id: int, label: str, *, by: str, at: datetime) -> None:
    add_label(conn, mention_id, label, by=by, via="web", at=at)
