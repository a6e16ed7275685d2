"""rectification routing (#13): rectification_assignee, public_report_event, and the
public report's rectification, possible duplicate and its state.

- rectification_assignee: the chiefs who see and answer a 整改 — the assessed chief and the
  chiefs who do the work (村级路长, 路段管养责任人) — one row per (rectification, chief); the
  existing rectifications get their chief as the "assessed" row.
- public_report_event: the dated history of a public report (existing reports get their
  submission, and their current status when it moved on).
- public_report.rectification_id / duplicate_of_id / duplicate_state.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rectification_assignee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rectification_id", sa.Integer(), nullable=False),
        sa.Column("chief_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("position", sa.String(length=20), nullable=False),
        sa.Column("assigned_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('assessed', 'worker')", name=op.f("ck_rectification_assignee_role")),
        sa.ForeignKeyConstraint(
            ["rectification_id"],
            ["rectification.id"],
            name=op.f("fk_rectification_assignee_rectification_id_rectification"),
        ),
        sa.ForeignKeyConstraint(["chief_id"], ["chief.id"], name=op.f("fk_rectification_assignee_chief_id_chief")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rectification_assignee")),
        sa.UniqueConstraint(
            "rectification_id", "chief_id", name=op.f("uq_rectification_assignee_rectification_id_chief_id")
        ),
    )
    with op.batch_alter_table("rectification_assignee", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rectification_assignee_rectification_id"), ["rectification_id"])
        batch_op.create_index(batch_op.f("ix_rectification_assignee_chief_id"), ["chief_id"])

    op.create_table(
        "public_report_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "action IN ('submit', 'assign', 'confirm', 'close', 'reject', 'reply', 'merge', 'dismiss', 'rectified')",
            name=op.f("ck_public_report_event_action"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"], ["public_report.id"], name=op.f("fk_public_report_event_report_id_public_report")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_report_event")),
    )
    with op.batch_alter_table("public_report_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_public_report_event_report_id"), ["report_id"])

    with op.batch_alter_table("public_report", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rectification_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("duplicate_state", sa.String(length=10), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_public_report_rectification_id_rectification"), "rectification", ["rectification_id"], ["id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_public_report_duplicate_of_id_public_report"), "public_report", ["duplicate_of_id"], ["id"]
        )
        batch_op.create_check_constraint(
            "duplicate_state", "duplicate_state IS NULL OR duplicate_state IN ('suspected', 'merged', 'dismissed')"
        )
        batch_op.create_check_constraint("duplicate_pair", "(duplicate_state IS NULL) = (duplicate_of_id IS NULL)")
        batch_op.create_index(batch_op.f("ix_public_report_rectification_id"), ["rectification_id"])
        batch_op.create_index(batch_op.f("ix_public_report_duplicate_of_id"), ["duplicate_of_id"])

    op.execute(
        "INSERT INTO rectification_assignee (rectification_id, chief_id, role, position, assigned_by, created_at)"
        " SELECT r.id, r.chief_id, 'assessed', c.position, '', r.created_at"
        " FROM rectification r JOIN chief c ON c.id = r.chief_id"
    )
    op.execute(
        "INSERT INTO public_report_event (report_id, at, action, status, note, actor)"
        " SELECT id, created_at, 'submit', 'received', '', '' FROM public_report"
    )
    op.execute(
        "INSERT INTO public_report_event (report_id, at, action, status, note, actor)"
        " SELECT id, COALESCE(closed_at, updated_at),"
        " CASE status WHEN 'assigned' THEN 'assign' WHEN 'confirmed' THEN 'confirm' WHEN 'closed' THEN 'close'"
        " ELSE 'reject' END, status, COALESCE(office_note, ''), ''"
        " FROM public_report WHERE status != 'received'"
    )


def downgrade():
    op.drop_table("public_report_event")
    op.drop_table("rectification_assignee")
    with op.batch_alter_table("public_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_public_report_duplicate_of_id"))
        batch_op.drop_index(batch_op.f("ix_public_report_rectification_id"))
        batch_op.drop_constraint(op.f("ck_public_report_duplicate_pair"), type_="check")
        batch_op.drop_constraint(op.f("ck_public_report_duplicate_state"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_public_report_duplicate_of_id_public_report"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_public_report_rectification_id_rectification"), type_="foreignkey")
        batch_op.drop_column("duplicate_state")
        batch_op.drop_column("duplicate_of_id")
        batch_op.drop_column("rectification_id")
