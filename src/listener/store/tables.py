"""The schema, as analysts see it in any SQL client.

Times are stored in UTC. ``mentions`` holds each mention once per (source, external id);
``content_hash`` recognises the same words arriving through two sources, and ``duplicate_of``
points a later copy at the first one. Polling state lives on ``sources`` (as in Miniflux), so a
restart, or a second instance on PostgreSQL, carries on where the last poll stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s",
        "pk": "pk_%(table_name)s",
    }
)



class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


sources = Table(
    "sources",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("connector", String(100), nullable=False),
    Column("url", Text, nullable=False, default=""),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("in_config", Boolean, nullable=False, default=True),
    Column("interval_s", Float, nullable=False),
    Column("next_poll_at", UtcDateTime(), nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("cursor", JSON),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("last_error_at", UtcDateTime()),
    Column("last_success_at", UtcDateTime()),
    Column("last_new_at", UtcDateTime()),
    Column("first_new_at", UtcDateTime()),
    Column("polls_with_new", Integer, nullable=False, default=0),
    Column("silent", Boolean, nullable=False, default=False),
    Column("lease_until", UtcDateTime()),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("lease_owner", String(64)),
)

mentions = Table(
    "mentions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("external_id", String(1000), nullable=False),
    Column("platform", String(50), nullable=False),
    Column("url", Text, nullable=False, default=""),
    Column("author_name", Text, nullable=False, default=""),
    Column("author_handle", Text, nullable=False, default=""),
    Column("title", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("lang", String(8)),
    Column("label", String(16)),
    Column("score", Float),
    Column("question", Boolean),
    Column("published_at", UtcDateTime(), nullable=False),
    Column("first_seen_at", UtcDateTime(), nullable=False),
    Column("in_reply_to", String(1000)),
    Column("content_hash", String(64), nullable=False),
    Column("duplicate_of", Integer, ForeignKey("mentions.id", ondelete="SET NULL")),
    Column("own", Boolean, nullable=False, default=False),
    Column("model_label", String(16)),
    Column("model_score", Float),
    Column("label_by", String(200)),
    Column("labelled_at", UtcDateTime()),
    Column("detection_lag_s", Float),
    UniqueConstraint("source_id", "external_id", name="uq_mentions_source_external"),
    Index("ix_mentions_published_at", "published_at"),
    Index("ix_mentions_content_hash", "content_hash"),
    Index("ix_mentions_external_id", "external_id"),
    Index("ix_mentions_label", "label"),
    Index("ix_mentions_in_reply_to", "in_reply_to"),
    Index("ix_mentions_duplicate_of", "duplicate_of"),
    Index("ix_mentions_report", "published_at", "own", "label", "question", "detection_lag_s", "source_id",
          "platform", "lang"),
)
"""``label`` is what people see: a human label (``label_by`` names who gave it) or else the classifier's,
which is always kept in ``model_label``/``model_score``. ``own`` marks the organisation's own accounts.
``detection_lag_s`` is first seen − published in seconds (never negative), stored for the reports."""


departments = Table(
    "departments",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("digest", String(200)),
    Column("in_config", Boolean, nullable=False, default=True),
)

mention_routes = Table(
    "mention_routes",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True),
    Column("department_id", Integer, ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True),
    Column("priority", String(16), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("first_response_at", UtcDateTime()),
    Column("response_s", Float),
    Column("business_response_s", Float),
    Column("due_at", UtcDateTime()),
    Column("escalate_at", UtcDateTime()),
    Column("escalated_at", UtcDateTime()),
    Column("published_at", UtcDateTime()),
    Column("own", Boolean),
    Column("label", String(16)),
    Column("question", Boolean),
    Column("detection_lag_s", Float),
    Index("ix_mention_routes_escalate_at", "escalate_at"),
    Index("ix_mention_routes_inbox", "department_id", "first_response_at", "due_at", "mention_id"),
    Index("ix_mention_routes_report", "mention_id", "department_id", "first_response_at", "due_at", "response_s",
          "business_response_s"),
    Index("ix_mention_routes_period", "department_id", "own", "published_at", "label", "question", "first_response_at",
          "due_at", "response_s", "business_response_s", "detection_lag_s"),
    Index("ix_mention_routes_response_s", "department_id", "own", "response_s", "published_at"),
    Index("ix_mention_routes_business_response_s", "department_id", "own", "business_response_s", "published_at"),
    Index("ix_mention_routes_detection_lag_s", "department_id", "own", "detection_lag_s", "published_at"),
)
"""One row per (mention, department). ``due_at`` and ``escalate_at`` are the department's SLA deadline
and escalation time, counted in its business hours when the mention is stored (null without an SLA);
the response columns are its view of the first response: wall-clock and business-hours seconds.
``published_at`` … ``detection_lag_s`` are copies of the mention's, kept equal by triggers (migration
0008), so the report by department reads routes alone."""

mention_tags = Table(
    "mention_tags",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("name", String(200), primary_key=True),
)
"""Tracked queries (kind "query") and campaigns (kind "campaign") a mention matched."""

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("delivery_id", String(64), nullable=False, unique=True),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), nullable=False),
    Column("department_id", Integer, ForeignKey("departments.id", ondelete="CASCADE"), nullable=False),
    Column("sink", String(200), nullable=False),
    Column("priority", String(16), nullable=False),
    Column("rule", String(200), nullable=False),
    Column("digest", Boolean, nullable=False, default=False),
    Column("state", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime(), nullable=False),
    Column("lease_until", UtcDateTime()),
    Column("last_error", Text),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("sent_at", UtcDateTime()),
    Column("kind", String(16), nullable=False, default="alert"),
    Column("lease_owner", String(64)),
    Index("ix_outbox_due", "state", "digest", "next_attempt_at"),
    Index("ix_outbox_mention_id", "mention_id"),
)
"""One alert per (mention, department, sink), written with the mention; state pending → sent | dead.
``lease_until``/``lease_owner`` (as on ``sources``): the instance sending it now, and until when."""

responses = Table(
    "responses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), index=True),
    Column("source_id", Integer, ForeignKey("sources.id", ondelete="CASCADE")),
    Column("reply_to", String(1000)),
    Column("reply_mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE")),
    Column("responded_at", UtcDateTime(), nullable=False),
    Column("by", String(200), nullable=False, default=""),
    Column("via", String(16), nullable=False),
    Column("url", Text, nullable=False, default=""),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", UtcDateTime(), nullable=False),
    Index("ix_responses_reply_to", "source_id", "reply_to"),
)
"""Every response, the first per mention counting as *the* response; via is auto | link | cli | web.
A reply seen before the mention it answers waits with ``mention_id`` null and ``reply_to`` set."""

meta = Table(
    "meta",
    metadata,
    Column("key", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)
"""Facts about the installation, such as when the daemon first started."""

human_labels = Table(
    "human_labels",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), index=True),
    Column("text", Text, nullable=False),
    Column("lang", String(8)),
    Column("label", String(16), nullable=False),
    Column("by", String(200), nullable=False, default=""),
    Column("via", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""A person's label for a text (a mention's, or an imported example): what the learned model learns from."""

learned_models = Table(
    "learned_models",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("labels", Integer, nullable=False),
    Column("languages", JSON, nullable=False),
    Column("model", LargeBinary, nullable=False),
    Column("metrics", JSON),
)
"""Per-installation models trained from human_labels; the newest is the one in use."""

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("password_hash", Text),
    Column("role", String(16), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""People who use the web inbox. ``role`` is admin | member | analyst; ``password_hash`` is Argon2
(null for a user who signs in only through the reverse proxy's ``trusted_user_header``)."""

user_departments = Table(
    "user_departments",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("department", String(200), primary_key=True),
)
"""The departments a member sees and acts for (by name, as in config.toml)."""

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("departments", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("last_used_at", UtcDateTime()),
)
"""Bearer tokens for the JSON API, stored as the SHA-256 of the token (shown once, never kept)."""

assignments = Table(
    "assignments",
    metadata,
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("assigned_by", String(200), nullable=False),
    Column("assigned_at", UtcDateTime(), nullable=False),
)
"""Who has a mention in hand; one person per mention."""

notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("mention_id", Integer, ForeignKey("mentions.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("by", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)
"""What people wrote about a mention in the inbox, including reopenings."""

job_runs = Table(
    "job_runs",
    metadata,
    Column("job", String(200), primary_key=True),
    Column("slot", String(64), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("lease_until", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
)
"""One row per run of a scheduled job (a digest, retention) and slot (its scheduled minute or day),
so that of several instances exactly one runs it. A run whose owner died unfinished may be taken
over once ``lease_until`` has passed."""

daily_figures = Table(
    "daily_figures",
    metadata,
    Column("day", Date, primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("platform", String(50), primary_key=True),
    Column("lang", String(8), primary_key=True),
    Column("label", String(16), primary_key=True),
    Column("department", String(200), primary_key=True),
    Column("mentions", Integer, nullable=False),
    Column("answered", Integer, nullable=False),
    Column("response_s_sum", Float, nullable=False),
    Column("response_s_count", Integer, nullable=False),
    Column("business_response_s_sum", Float, nullable=False),
    Column("business_response_s_count", Integer, nullable=False),
    Column("questions", Integer),
    Column("sla_met", Integer),
    Column("sla_missed", Integer),
    Column("distinct_mentions", Integer),
    Column("distinct_answered", Integer),
    Column("distinct_questions", Integer),
)
"""What retention keeps of the mentions it deletes: per UTC day of publication × source × platform ×
language × label × department, the number of mentions, questions, answered ones, SLA verdicts and the
sums and counts of their response times (wall-clock and business hours), so counts, shares and
means over any grouping stay exact. A mention routed to two departments counts once in each
(``mentions``, ``answered``, ``questions``: what a report by department counts) and once in all
(``distinct_*``: what other groupings count); one routed nowhere has department "". Unknown
language or label is "". Questions and SLA are NULL on rows pruned before migration 0010.
Reports add these rows to what they count in ``mentions`` (reports/pruned.py)."""

daily_histograms = Table(
    "daily_histograms",
    metadata,
    Column("day", Date, primary_key=True),
    Column("source", String(200), primary_key=True),
    Column("platform", String(50), primary_key=True),
    Column("lang", String(8), primary_key=True),
    Column("label", String(16), primary_key=True),
    Column("department", String(200), primary_key=True),
    Column("figure", String(32), primary_key=True),
    Column("bucket", Integer, primary_key=True),
    Column("count", Integer, nullable=False),
)
"""How the pruned mentions' times were spread, for the medians and percentiles that sums cannot give:
per ``daily_figures`` key and figure (``response_s``, ``business_response_s`` and ``detection_lag_s``
per route; ``mention_detection_lag_s`` once per mention), how many values fell in each log-spaced
bucket (store/histogram.py). Only buckets with values have a row."""
