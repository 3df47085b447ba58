"""Own mentions, responses and response times per route; human labels and the learned model.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from listener.store.tables import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch_op:
        batch_op.add_column(sa.Column("own", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("model_label", sa.String(16)))
        batch_op.add_column(sa.Column("model_score", sa.Float()))
        batch_op.add_column(sa.Column("label_by", sa.String(200)))
        batch_op.add_column(sa.Column("labelled_at", UtcDateTime()))
        batch_op.create_index("ix_mentions_in_reply_to", ["in_reply_to"])
    op.execute("UPDATE mentions SET model_label = label, model_score = score")
    with op.batch_alter_table("mention_routes") as batch_op:
        batch_op.add_column(sa.Column("first_response_at", UtcDateTime()))
        batch_op.add_column(sa.Column("response_s", sa.Float()))
        batch_op.add_column(sa.Column("business_response_s", sa.Float()))
        batch_op.add_column(sa.Column("due_at", UtcDateTime()))
        batch_op.add_column(sa.Column("escalate_at", UtcDateTime()))
        batch_op.add_column(sa.Column("escalated_at", UtcDateTime()))
        batch_op.create_index("ix_mention_routes_escalate_at", ["escalate_at"])
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="alert"))
    op.create_table(
        "responses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mention_id", sa.Integer(), sa.ForeignKey("mentions.id", ondelete="CASCADE", name="fk_responses_mention_id")),
        sa.Column("source_id", sa.Integer(), sa.ForeignKey("sources.id", ondelete="CASCADE", name="fk_responses_source_id")),
        sa.Column("reply_to", sa.String(1000)),
        sa.Column("reply_mention_id", sa.Integer(), sa.ForeignKey("mentions.id", ondelete="CASCADE", name="fk_responses_reply_mention_id")),
        sa.Column("responded_at", UtcDateTime(), nullable=False),
        sa.Column("by", sa.String(200), nullable=False, server_default=""),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False, server_default=""),
        sa.Column("note", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_responses_mention_id", "responses", ["mention_id"])
    op.create_index("ix_responses_reply_to", "responses", ["source_id", "reply_to"])
    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
    )
    op.create_table(
        "human_labels",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mention_id", sa.Integer(), sa.ForeignKey("mentions.id", ondelete="CASCADE", name="fk_human_labels_mention_id")),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("lang", sa.String(8)),
        sa.Column("label", sa.String(16), nullable=False),
        sa.Column("by", sa.String(200), nullable=False, server_default=""),
        sa.Column("via", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_human_labels_mention_id", "human_labels", ["mention_id"])
    op.create_table(
        "learned_models",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("labels", sa.Integer(), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.Column("metrics", sa.JSON()),
    )


def downgrade() -> None:
    op.drop_table("learned_models")
    op.drop_index("ix_human_labels_mention_id", "human_labels")
    op.drop_table("human_labels")
    op.drop_table("meta")
    op.drop_index("ix_responses_reply_to", "responses")
    op.drop_index("ix_responses_mention_id", "responses")
    op.drop_table("responses")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("kind")
    with op.batch_alter_table("mention_routes") as batch_op:
        batch_op.drop_index("ix_mention_routes_escalate_at")
        for column in ("escalated_at", "escalate_at", "due_at", "business_response_s", "response_s", "first_response_at"):
            batch_op.drop_column(column)
    with op.batch_alter_table("mentions") as batch_op:
        batch_op.drop_index("ix_mentions_in_reply_to")
        for column in ("labelled_at", "label_by", "model_score", "model_label", "own"):
            batch_op.drop_column(column)
