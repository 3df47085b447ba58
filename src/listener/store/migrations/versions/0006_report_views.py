"""Views for analysts (mention_facts, response_times), and what the report queries need: each
mention's detection lag as a number, and covering indexes.

The views have the same columns on SQLite and PostgreSQL; only the date arithmetic and the text
aggregate are spelled in each dialect. Times in them are UTC; durations are seconds.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SECONDS = {
    "sqlite": "((julianday({b}) - julianday({a})) * 86400.0)",
    "postgresql": "EXTRACT(EPOCH FROM ({b} - {a}))",
}
_DEPARTMENTS = {
    "sqlite": "(SELECT group_concat(name, ', ') FROM (SELECT d.name FROM mention_routes r "
              "JOIN departments d ON d.id = r.department_id WHERE r.mention_id = m.id ORDER BY d.name))",
    "postgresql": "(SELECT string_agg(d.name, ', ' ORDER BY d.name) FROM mention_routes r "
                  "JOIN departments d ON d.id = r.department_id WHERE r.mention_id = m.id)",
}
_NOW = {"sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now')", "postgresql": "now()"}


def _mention_facts(dialect: str) -> str:
    seconds = _SECONDS[dialect]
    return f"""
CREATE VIEW mention_facts AS
SELECT f.*, {seconds.format(a="f.first_seen_at", b="f.first_alert_at")} AS alert_lag_s
FROM (
  SELECT m.id AS mention_id, s.name AS source, m.platform, m.lang, m.label, m.question, m.own,
         m.author_name, m.author_handle, m.url, m.published_at, m.first_seen_at,
         m.detection_lag_s,
         {_DEPARTMENTS[dialect]} AS departments,
         (SELECT min(r.first_response_at) FROM mention_routes r WHERE r.mention_id = m.id) AS first_response_at,
         (SELECT min(r.response_s) FROM mention_routes r WHERE r.mention_id = m.id) AS response_s,
         (SELECT min(r.business_response_s) FROM mention_routes r WHERE r.mention_id = m.id) AS business_response_s,
         (SELECT min(o.sent_at) FROM outbox o WHERE o.mention_id = m.id AND o.kind = 'alert') AS first_alert_at
  FROM mentions m JOIN sources s ON s.id = m.source_id
) f
"""


def _response_times(dialect: str) -> str:
    return f"""
CREATE VIEW response_times AS
SELECT r.mention_id, d.name AS department, s.name AS source, m.platform, m.lang, m.label, m.question, m.own,
       r.priority, r.rule, m.published_at, r.first_response_at, r.response_s, r.business_response_s,
       r.due_at,
       CASE WHEN r.due_at IS NULL THEN NULL
            WHEN r.first_response_at IS NOT NULL AND r.first_response_at <= r.due_at THEN 1
            WHEN r.first_response_at IS NOT NULL OR r.due_at <= {_NOW[dialect]} THEN 0
       END AS sla_met,
       r.escalated_at
FROM mention_routes r
JOIN mentions m ON m.id = r.mention_id
JOIN departments d ON d.id = r.department_id
JOIN sources s ON s.id = m.source_id
"""


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    # Parsing two timestamps per row (julianday) was most of a year's report on SQLite; the lag is
    # fixed when the mention is stored, so it is stored with it.
    with op.batch_alter_table("mentions") as batch_op:
        batch_op.add_column(sa.Column("detection_lag_s", sa.Float()))
    lag = _SECONDS[dialect].format(a="published_at", b="first_seen_at")
    op.execute(f"UPDATE mentions SET detection_lag_s = CASE WHEN {lag} < 0 THEN 0 ELSE {lag} END")
    # Reports filter mentions on published_at and read only these columns: an index holding all of
    # them answers the counts without touching the wide mention rows (text, title, url).
    op.create_index("ix_mentions_report", "mentions",
                    ["published_at", "own", "label", "question", "detection_lag_s", "source_id", "platform", "lang"])
    op.create_index("ix_mention_routes_report", "mention_routes",
                    ["mention_id", "department_id", "first_response_at", "due_at", "response_s", "business_response_s"])
    op.create_index("ix_outbox_mention_id", "outbox", ["mention_id"])
    op.execute(_mention_facts(dialect))
    op.execute(_response_times(dialect))


def downgrade() -> None:
    op.execute("DROP VIEW response_times")
    op.execute("DROP VIEW mention_facts")
    op.drop_index("ix_outbox_mention_id", "outbox")
    op.drop_index("ix_mention_routes_report", "mention_routes")
    op.drop_index("ix_mentions_report", "mentions")
    with op.batch_alter_table("mentions") as batch_op:
        batch_op.drop_column("detection_lag_s")
