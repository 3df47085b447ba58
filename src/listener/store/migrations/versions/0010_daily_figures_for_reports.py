"""What reports need of pruned mentions beyond 0005's counts: questions and SLA verdicts per row, and
the mention-level counts (a mention routed to two departments has a row in each, so summing
``mentions`` over departments would count it twice).

Rows pruned before this migration get ``distinct_*`` copied from the per-department counts (exact
unless a mention was routed to several departments) and NULL questions and SLA figures, which
reports show as unavailable.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ADDED = ("questions", "sla_met", "sla_missed", "distinct_mentions", "distinct_answered", "distinct_questions")


def upgrade() -> None:
    with op.batch_alter_table("daily_figures") as batch_op:
        for name in ADDED:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
    op.execute("UPDATE daily_figures SET distinct_mentions = mentions, distinct_answered = answered")


def downgrade() -> None:
    with op.batch_alter_table("daily_figures") as batch_op:
        for name in reversed(ADDED):
            batch_op.drop_column(name)
