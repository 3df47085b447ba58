"""Classification: the score behind each label, and whether the mention asks a question.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch_op:
        batch_op.add_column(sa.Column("score", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("question", sa.Boolean(), nullable=True))
        batch_op.create_index("ix_mentions_label", ["label"])


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch_op:
        batch_op.drop_index("ix_mentions_label")
        batch_op.drop_column("question")
        batch_op.drop_column("score")
