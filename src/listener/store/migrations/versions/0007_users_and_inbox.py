"""Users, their departments and API tokens; assignments and notes; the inbox's index.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from listener.store.tables import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


INBOX_CASCADES = {
    "mentions": ["DELETE FROM assignments WHERE mention_id = OLD.id", "DELETE FROM notes WHERE mention_id = OLD.id"],
    "users": ["DELETE FROM user_departments WHERE user_id = OLD.id", "DELETE FROM assignments WHERE user_id = OLD.id"],
}
"""The foreign keys' cascades as SQLite triggers, for clients without ``PRAGMA foreign_keys`` (as 0005)."""


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.Text()),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.UniqueConstraint("name", name="uq_users_name"),
    )
    op.create_table(
        "user_departments",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_user_departments_user_id"), primary_key=True),
        sa.Column("department", sa.String(200), primary_key=True),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_used_at", UtcDateTime()),
        sa.UniqueConstraint("name", name="uq_api_tokens_name"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "assignments",
        sa.Column("mention_id", sa.Integer(), sa.ForeignKey("mentions.id", ondelete="CASCADE", name="fk_assignments_mention_id"), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE", name="fk_assignments_user_id"), nullable=False),
        sa.Column("assigned_by", sa.String(200), nullable=False),
        sa.Column("assigned_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_assignments_user_id", "assignments", ["user_id"])
    op.create_table(
        "notes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("mention_id", sa.Integer(), sa.ForeignKey("mentions.id", ondelete="CASCADE", name="fk_notes_mention_id"), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_notes_mention_id", "notes", ["mention_id"])
    op.create_index("ix_mention_routes_inbox", "mention_routes", ["department_id", "first_response_at", "due_at", "mention_id"])
    if op.get_bind().dialect.name == "sqlite":
        for table, statements in INBOX_CASCADES.items():
            body = "; ".join(statements)
            op.execute(f"CREATE TRIGGER cascade_{table}_delete_inbox AFTER DELETE ON {table} BEGIN {body}; END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in INBOX_CASCADES:
            op.execute(f"DROP TRIGGER IF EXISTS cascade_{table}_delete_inbox")
    op.drop_index("ix_mention_routes_inbox", "mention_routes")
    op.drop_index("ix_notes_mention_id", "notes")
    op.drop_table("notes")
    op.drop_index("ix_assignments_user_id", "assignments")
    op.drop_table("assignments")
    op.drop_table("api_tokens")
    op.drop_table("user_departments")
    op.drop_table("users")
