"""Human labels: a person's praise / criticism / neutral for a text, the learned model's teacher.

A label given to a mention is shown as the mention's ``label`` from then on (``label_by`` says who),
while the classifier's own verdict stays in ``model_label``. Every label is also a row of
``human_labels`` holding the text it judged, so the model can learn from it even after the mention
is deleted, and imported examples that belong to no mention learn alongside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select, update

from listener.domain import Label
from listener.store.tables import human_labels, mentions


class UnknownMention(LookupError):
    def __init__(self, mention_id: int):
        super().__init__(f"no mention with id {mention_id}")
        self.mention_id = mention_id


@dataclass(frozen=True, slots=True)
class LabelledText:
    text: str
    lang: str | None
    label: Label
    mention_id: int | None = None


def add_label(conn: Connection, mention_id: int, label: Label, *, by: str, via: str, at: datetime) -> None:
    """Record ``by``'s label for a mention (``via`` is cli | web | import) and show it as the
    mention's label. Raises UnknownMention when there is no such mention."""
    row = conn.execute(
        select(mentions.c.title, mentions.c.text, mentions.c.lang).where(mentions.c.id == mention_id)
    ).first()
    if row is None:
        raise UnknownMention(mention_id)
    label = Label(label)
    conn.execute(human_labels.insert().values(
        mention_id=mention_id, text=row.text or row.title, lang=row.lang, label=label.value, by=by, via=via,
        created_at=at,
    ))
    conn.execute(update(mentions).where(mentions.c.id == mention_id).values(
        label=label.value, label_by=by, labelled_at=at,
    ))


def import_labels(conn: Connection, examples: Sequence[LabelledText], *, by: str, at: datetime) -> int:
    """Store examples in one go: those naming a mention label it as ``add_label`` does. The caller's
    transaction makes it all or nothing (an UnknownMention rolls everything back)."""
    for example in examples:
        if example.mention_id is not None:
            add_label(conn, example.mention_id, example.label, by=by, via="import", at=at)
    loose = [e for e in examples if e.mention_id is None]
    if loose:
        conn.execute(human_labels.insert(), [
            {"mention_id": None, "text": e.text, "lang": e.lang, "label": Label(e.label).value, "by": by,
             "via": "import", "created_at": at}
            for e in loose
        ])
    return len(examples)


def latest(conn: Connection) -> list[LabelledText]:
    """What the model learns from: every labelled text once, with the newest label a person gave
    it (a mention relabelled twice counts as its last label; so does an imported text seen twice)."""
    rows = conn.execute(
        select(human_labels.c.mention_id, human_labels.c.text, human_labels.c.lang, human_labels.c.label)
        .order_by(human_labels.c.id)
    ).all()
    newest: dict[object, LabelledText] = {}
    for row in rows:
        key = ("mention", row.mention_id) if row.mention_id is not None else ("text", row.text, row.lang)
        newest.pop(key, None)
        newest[key] = LabelledText(row.text, row.lang, Label(row.label), row.mention_id)
    return list(newest.values())


def count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(human_labels)).scalar_one()


def existing_mentions(conn: Connection, ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    return set(conn.execute(select(mentions.c.id).where(mentions.c.id.in_(sorted(set(ids))))).scalars())
