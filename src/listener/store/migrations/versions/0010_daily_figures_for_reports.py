"""What reports need of pruned mentions beyond 0005's counts: questions and SLA verdicts per row, and
the mention-level counts (a mention routed to two departments has a row in each, so summing
``mentions`` over departments would count it twice), and ``daily_histograms``, the spread of their
response times and detection lags for approximate medians and percentiles.

Also an index on ``mentions.duplicate_of``: deleting a mention sets its duplicates' pointer to NULL,
and without one every deleted mention read the whole mentions table (retention pruning 2,000
mentions of a million-mention store made no progress in eight minutes).

Rows pruned before this migration get ``distinct_*`` copied from the per-department counts (exact
unless a mention was routed to several departments) and NULL questions and SLA figures, which
reports show as unavailable, as they do medians and percentiles of days without histograms.

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
    op.create_index("ix_mentions_duplicate_of", "mentions", ["duplicate_of"])
    op.create_table(
        "daily_histograms",
        sa.Column("day", sa.Date(), primary_key=True),
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("platform", sa.String(50), primary_key=True),
        sa.Column("lang", sa.String(8), primary_key=True),
        sa.Column("label", sa.String(16), primary_key=True),
        sa.Column("department", sa.String(200), primary_key=True),
        sa.Column("figure", sa.String(32), primary_key=True),
        sa.Column("bucket", sa.Integer(), primary_key=True),
        sa.Column("count", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("daily_histograms")
    op.drop_index("ix_mentions_duplicate_of", "mentions")
    with op.batch_alter_table("daily_figures") as batch_op:
        for name in reversed(ADDED):
            batch_op.drop_column(name)
