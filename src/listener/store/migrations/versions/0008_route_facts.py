"""Each route carries its mention's report facts (published_at, own, label, question, detection lag),
so a report by department reads one index range per department instead of joining every route to
its mention; triggers keep the copies equal to the mention's columns.

The copies are the database's job, not the application's: whatever changes a mention (a label from
the CLI, the web or an import; a reclassification; an analyst's UPDATE) or adds a route, the
triggers bring the routes along in the same statement. On SQLite a route inserted without the facts
gets them from an AFTER INSERT trigger (SQLite triggers cannot change NEW); on PostgreSQL a BEFORE
INSERT trigger sets them. A later migration that rebuilds ``mention_routes`` with
``batch_alter_table`` on SQLite drops its triggers and must create them again.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from listener.store.tables import UtcDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

FACTS = ("published_at", "own", "label", "question", "detection_lag_s")
_COLUMNS = ", ".join(FACTS)
_CHANGED = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in FACTS)

_SQLITE = [
    f"""CREATE TRIGGER mention_routes_facts AFTER INSERT ON mention_routes WHEN NEW.published_at IS NULL
BEGIN
  UPDATE mention_routes SET ({_COLUMNS}) = (SELECT {_COLUMNS} FROM mentions WHERE id = NEW.mention_id)
  WHERE mention_id = NEW.mention_id AND department_id = NEW.department_id;
END""",
    f"""CREATE TRIGGER mentions_route_facts AFTER UPDATE OF {_COLUMNS} ON mentions
WHEN {_CHANGED.replace("IS DISTINCT FROM", "IS NOT")}
BEGIN
  UPDATE mention_routes SET {", ".join(f"{c} = NEW.{c}" for c in FACTS)} WHERE mention_id = NEW.id;
END""",
]

_POSTGRESQL = [
    f"""CREATE FUNCTION mention_routes_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.published_at IS NULL THEN
    SELECT {", ".join(f"m.{c}" for c in FACTS)} INTO {", ".join(f"NEW.{c}" for c in FACTS)}
    FROM mentions m WHERE m.id = NEW.mention_id;
  END IF;
  RETURN NEW;
END $$""",
    """CREATE TRIGGER mention_routes_facts BEFORE INSERT ON mention_routes
FOR EACH ROW EXECUTE FUNCTION mention_routes_facts()""",
    f"""CREATE FUNCTION mentions_route_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE mention_routes SET {", ".join(f"{c} = NEW.{c}" for c in FACTS)} WHERE mention_id = NEW.id;
  RETURN NULL;
END $$""",
    f"""CREATE TRIGGER mentions_route_facts AFTER UPDATE OF {_COLUMNS} ON mentions
FOR EACH ROW WHEN ({_CHANGED}) EXECUTE FUNCTION mentions_route_facts()""",
]

INDEXES = {
    "ix_mention_routes_period": ["department_id", "own", "published_at", "label", "question", "first_response_at",
                                 "due_at", "response_s", "business_response_s", "detection_lag_s"],
    "ix_mention_routes_response_s": ["department_id", "own", "response_s", "published_at"],
    "ix_mention_routes_business_response_s": ["department_id", "own", "business_response_s", "published_at"],
    "ix_mention_routes_detection_lag_s": ["department_id", "own", "detection_lag_s", "published_at"],
}
"""``period`` answers a department's counts from one range; the others hold a figure in order, so its
median over a long period is found by stepping along the index rather than sorting."""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for column in (sa.Column("published_at", UtcDateTime()), sa.Column("own", sa.Boolean()),
                   sa.Column("label", sa.String(16)), sa.Column("question", sa.Boolean()),
                   sa.Column("detection_lag_s", sa.Float())):
        op.add_column("mention_routes", column)  # plain ADD COLUMN on SQLite too: the table keeps its triggers
    op.execute(f"UPDATE mention_routes SET ({_COLUMNS}) = "
               f"(SELECT {_COLUMNS} FROM mentions m WHERE m.id = mention_routes.mention_id)")
    for statement in _SQLITE if dialect == "sqlite" else _POSTGRESQL:
        op.execute(statement)
    for name, columns in INDEXES.items():
        op.create_index(name, "mention_routes", columns)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for name in INDEXES:
        op.drop_index(name, "mention_routes")
    op.execute("DROP TRIGGER IF EXISTS mentions_route_facts" + ("" if dialect == "sqlite" else " ON mentions"))
    op.execute("DROP TRIGGER IF EXISTS mention_routes_facts" + ("" if dialect == "sqlite" else " ON mention_routes"))
    if dialect != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS mentions_route_facts()")
        op.execute("DROP FUNCTION IF EXISTS mention_routes_facts()")
    for column in reversed(FACTS):
        op.drop_column("mention_routes", column)
