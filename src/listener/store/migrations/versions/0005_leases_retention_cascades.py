"""Lease owners, once-only job runs, the daily figures kept past retention, cascades on SQLite.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from listener.store.tables import UtcDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

CASCADES = {
    "sources": [
        "DELETE FROM mentions WHERE source_id = OLD.id",
        "DELETE FROM responses WHERE source_id = OLD.id",
    ],
    "mentions": [
        "DELETE FROM mention_routes WHERE mention_id = OLD.id",
        "DELETE FROM mention_tags WHERE mention_id = OLD.id",
        "DELETE FROM outbox WHERE mention_id = OLD.id",
        "DELETE FROM responses WHERE mention_id = OLD.id OR reply_mention_id = OLD.id",
        "DELETE FROM human_labels WHERE mention_id = OLD.id",
        "UPDATE mentions SET duplicate_of = NULL WHERE duplicate_of = OLD.id",
    ],
    "departments": [
        "DELETE FROM mention_routes WHERE department_id = OLD.id",
        "DELETE FROM outbox WHERE department_id = OLD.id",
    ],
}
"""What the foreign keys' ON DELETE clauses do, as triggers: a SQLite client that never turns on
``PRAGMA foreign_keys`` (the default of the sqlite3 shell and most GUIs) still leaves no row
pointing at a deleted one. With the pragma on, the cascades run first and the triggers find nothing."""


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(64)))
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(64)))
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(200), primary_key=True),
        sa.Column("slot", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(64), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime()),
    )
    op.create_table(
        "daily_figures",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("platform", sa.String(50), primary_key=True),
        sa.Column("lang", sa.String(8), primary_key=True),
        sa.Column("label", sa.String(16), primary_key=True),
        sa.Column("department", sa.String(200), primary_key=True),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("answered", sa.Integer(), nullable=False),
        sa.Column("response_s_sum", sa.Float(), nullable=False),
        sa.Column("response_s_count", sa.Integer(), nullable=False),
        sa.Column("business_response_s_sum", sa.Float(), nullable=False),
        sa.Column("business_response_s_count", sa.Integer(), nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        for table, statements in CASCADES.items():
            body = "; ".join(statements)
            op.execute(f"CREATE TRIGGER cascade_{table}_delete AFTER DELETE ON {table} BEGIN {body}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in CASCADES:
            op.execute(f"DROP TRIGGER IF EXISTS cascade_{table}_delete")
    op.drop_table("daily_figures")
    op.drop_table("job_runs")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("lease_owner")
    with op.batch_alter_table("sources") as batch_op:
        batch_op.drop_column("lease_owner")
