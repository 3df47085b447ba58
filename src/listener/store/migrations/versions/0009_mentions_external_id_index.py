"""An index on mentions' external id alone: each stored batch asks which of its ids another source
already has (one post read through two sources), and without it that question read the whole
mentions table, so storing got slower as the store grew.

Revision ID: 0009
Revises: 0008
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_mentions_external_id", "mentions", ["external_id"])


def downgrade() -> None:
    op.drop_index("ix_mentions_external_id", "mentions")
