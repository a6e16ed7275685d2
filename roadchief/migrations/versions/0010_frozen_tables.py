"""frozen means frozen: quarter closes and the scores of approved quarters are append-only;
PostgreSQL refuses TRUNCATE of every append-only table (ledger, audit log, quarter_close,
quarter_score).

- quarter_close: UPDATE and DELETE refused always (审定 freezes the quarter, 第十七条/第二十四条).
- quarter_score: UPDATE and DELETE refused for a row whose (year, quarter) has a quarter_close
  row (and an UPDATE that would move a row into such a quarter); scores of open quarters can
  still be replaced by a score import or an inspection finalisation.
- ledger_entry, audit_entry: their UPDATE/DELETE triggers come from 0002; this adds TRUNCATE.

Revision ID: 0010
Revises: 0009
"""
from alembic import op

from roadchief.services.append_only import append_only_sql, drop_append_only_sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CLOSED_QUARTER = "EXISTS (SELECT 1 FROM quarter_close c WHERE c.year = {row}.year AND c.quarter = {row}.quarter)"

# (table, frozen_when, row_triggers): row_triggers False where 0002 already made them.
TABLES = (
    ("quarter_close", None, True),
    ("quarter_score", CLOSED_QUARTER, True),
    ("ledger_entry", None, False),
    ("audit_entry", None, False),
)


def upgrade():
    dialect = op.get_bind().dialect.name
    for table, frozen_when, row_triggers in TABLES:
        for statement in append_only_sql(dialect, table, frozen_when, row_triggers=row_triggers):
            op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    for table, frozen_when, row_triggers in reversed(TABLES):
        for statement in drop_append_only_sql(dialect, table, frozen_when, row_triggers=row_triggers):
            op.execute(statement)
