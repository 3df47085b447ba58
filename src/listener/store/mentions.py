"""Writing a batch of mentions and reading them back for analysts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from listener.domain import Mention
from listener.store.tables import mentions, sources

MIN_DUPLICATE_TEXT = 40
"""Shorter texts ("Thanks!", "+1") coincide by chance, so only longer ones count as copies."""


def insert(conn: Connection, source_id: int, batch: Sequence[Mention]) -> dict[int, Mention]:
    """Insert what is new in one statement; what the store has already is skipped, not updated.

    Returns the new rows' ids with their mentions. Each new row whose text already arrived
    through another source is linked to the first copy through ``duplicate_of``.
    """
    if not batch:
        return {}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(mentions)
        .on_conflict_do_nothing(index_elements=["source_id", "external_id"])
        .returning(mentions.c.id, mentions.c.external_id, mentions.c.platform, mentions.c.content_hash,
                   func.length(mentions.c.text).label("length"))
    )
    rows = conn.execute(statement, [_row(source_id, m) for m in batch]).all()
    by_external_id = {m.external_id: m for m in batch}
    if rows:
        _link_same_ids(conn, source_id, rows)
    copies = [row for row in rows if row.length >= MIN_DUPLICATE_TEXT]
    if copies:
        _link_duplicates(conn, source_id, copies)
    return {row.id: by_external_id[row.external_id] for row in rows}


def copies(conn: Connection, ids: Sequence[int]) -> set[int]:
    """Which of these mentions are linked to an earlier copy from another source."""
    if not ids:
        return set()
    q = select(mentions.c.id).where(mentions.c.id.in_(list(ids)), mentions.c.duplicate_of.is_not(None))
    return set(conn.execute(q).scalars())


def known(conn: Connection, source_id: int, external_ids: Sequence[str]) -> set[str]:
    """Which of these external ids the source's mentions already have."""
    if not external_ids:
        return set()
    q = select(mentions.c.external_id).where(mentions.c.source_id == source_id,
                                             mentions.c.external_id.in_(list(set(external_ids))))
    return set(conn.execute(q).scalars())


def _row(source_id: int, m: Mention) -> dict:
    return {
        "source_id": source_id,
        "external_id": m.external_id,
        "platform": m.platform,
        "url": m.url,
        "author_name": m.author.name,
        "author_handle": m.author.handle,
        "title": m.title,
        "text": m.text,
        "lang": m.lang,
        "score": m.score,
        "model_label": m.label.value if m.label else None,
        "model_score": m.score,
        "first_seen_at": m.first_seen_at,
        "in_reply_to": m.in_reply_to,
        "content_hash": m.content_hash,
        **report_facts(m),
    }


def report_facts(m: Mention) -> dict:
    """What reports read of a new mention: stored on it, and copied onto each of its routes (written
    with them here; triggers keep the copies equal afterwards, see migration 0008)."""
    return {
        "published_at": m.published_at,
        "own": m.own,
        "label": m.label.value if m.label else None,
        "question": m.question,
        "detection_lag_s": max(0.0, (m.first_seen_at - m.published_at).total_seconds()),
    }


def _link_same_ids(conn: Connection, source_id: int, rows: list) -> None:
    """Point each new row at the first mention of the same platform with the same external id
    from another source: one post read through two sources (a Mastodon status, known by its
    ``uri``, on two instances; a post's guid in two feeds), however short its text."""
    by_id = {(row.platform, row.external_id): row.id for row in rows}
    first_sightings = conn.execute(
        select(mentions.c.platform, mentions.c.external_id, func.min(mentions.c.id))
        .where(mentions.c.external_id.in_([row.external_id for row in rows]), mentions.c.source_id != source_id)
        .group_by(mentions.c.platform, mentions.c.external_id)
    ).all()
    for platform, external_id, first_id in first_sightings:
        row_id = by_id.get((platform, external_id))
        if row_id is not None and first_id < row_id:
            conn.execute(update(mentions).where(mentions.c.id == row_id).values(duplicate_of=first_id))


def _link_duplicates(conn: Connection, source_id: int, rows: list) -> None:
    """Point each new row at the first copy of its words from another source, if there is one.

    One indexed lookup per batch; the update touches only the (rare) rows that are copies.
    """
    by_hash = {row.content_hash: row.id for row in rows}
    first_copies = conn.execute(
        select(mentions.c.content_hash, func.min(mentions.c.id))
        .where(mentions.c.content_hash.in_(list(by_hash)), mentions.c.source_id != source_id)
        .group_by(mentions.c.content_hash)
    ).all()
    for content_hash, first_id in first_copies:
        if first_id < by_hash[content_hash]:
            conn.execute(
                update(mentions)
                .where(mentions.c.source_id == source_id, mentions.c.content_hash == content_hash,
                       mentions.c.id > first_id, mentions.c.duplicate_of.is_(None))
                .values(duplicate_of=first_id)
            )


@dataclass(frozen=True, slots=True)
class MentionFilter:
    since: datetime | None = None
    source: str | None = None
    lang: str | None = None
    label: str | None = None
    search: str | None = None
    own: bool | None = None
    limit: int = 50


COLUMNS = (
    mentions.c.id,
    sources.c.name.label("source"),
    mentions.c.platform,
    mentions.c.url,
    mentions.c.author_name.label("author"),
    mentions.c.author_handle,
    mentions.c.title,
    mentions.c.text,
    mentions.c.lang,
    mentions.c.label,
    mentions.c.score,
    mentions.c.model_label,
    mentions.c.label_by,
    mentions.c.question,
    mentions.c.published_at,
    mentions.c.first_seen_at,
    mentions.c.in_reply_to,
    mentions.c.duplicate_of,
    mentions.c.own,
)


def query(conn: Connection, f: MentionFilter) -> list[dict]:
    """Newest first, as an analyst scanning "what was said" expects."""
    q = select(*COLUMNS).join(sources, sources.c.id == mentions.c.source_id)
    if f.since is not None:
        q = q.where(mentions.c.published_at >= f.since)
    if f.source:
        q = q.where(sources.c.name == f.source)
    if f.lang:
        q = q.where(mentions.c.lang == f.lang)
    if f.label:
        q = q.where(mentions.c.label == f.label)
    if f.own is not None:
        q = q.where(mentions.c.own.is_(f.own))
    if f.search:
        pattern = "%" + f.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        q = q.where(or_(mentions.c.title.ilike(pattern, escape="\\"), mentions.c.text.ilike(pattern, escape="\\")))
    q = q.order_by(mentions.c.published_at.desc(), mentions.c.id.desc()).limit(f.limit)
    return [dict(row._mapping) for row in conn.execute(q)]


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(mentions)).scalar_one()


def for_reclassify(conn: Connection, since: datetime | None, after_id: int, limit: int) -> list:
    """A page of stored mentions to label again, oldest id first."""
    q = select(mentions.c.id, mentions.c.title, mentions.c.text, mentions.c.lang, sources.c.name.label("source"))
    q = q.join(sources, sources.c.id == mentions.c.source_id).where(mentions.c.id > after_id)
    if since is not None:
        q = q.where(mentions.c.published_at >= since)
    return conn.execute(q.order_by(mentions.c.id).limit(limit)).all()


def set_classification(conn: Connection, rows: list[dict]) -> None:
    """Rows of ``{"id", "lang", "label", "score", "question"}``: the classifier's verdict is kept in
    ``model_label``/``model_score``, and shown as ``label`` unless a person has labelled the mention."""
    if rows:
        params = [{"mention_id": r["id"], **{"b_" + k: r[k] for k in ("lang", "label", "score", "question")}}
                  for r in rows]
        conn.execute(
            update(mentions).where(mentions.c.id == bindparam("mention_id")).values(
                lang=bindparam("b_lang"), model_label=bindparam("b_label"), model_score=bindparam("b_score"),
                question=bindparam("b_question"),
            ),
            params,
        )
        conn.execute(
            update(mentions)
            .where(mentions.c.id == bindparam("mention_id"), mentions.c.label_by.is_(None))
            .values(label=bindparam("b_label"), score=bindparam("b_score")),
            params,
        )
