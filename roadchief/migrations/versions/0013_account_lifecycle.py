"""account_lifecycle: sessions that can be ended, tokens that expire or are revoked, and
accounts created in bulk that must change their one-time password (issue #13 point 6).

- app_user.session_epoch: stored in the signed session cookie at sign-in and compared on every
  request; bumped on logout, password change/reset and disable, so a captured cookie is refused.
- app_user.must_change_password: a one-time password (bulk chief accounts, a reset by the
  office) must be replaced at the first sign-in.
- api_token.token_prefix (the first characters, shown to tell tokens apart and to revoke by),
  expires_at (optional), revoked_at (when it was revoked).

Revision ID: 0013
Revises: 0012
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_check_constraint(op.f("ck_app_user_session_epoch"), "session_epoch >= 0")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("token_prefix", sa.String(length=16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_api_token_expiry_after_creation"), "expires_at IS NULL OR expires_at > created_at"
        )
        batch_op.create_check_constraint(op.f("ck_api_token_revoked_when"), "revoked_at IS NULL OR revoked")
        batch_op.create_index(batch_op.f("ix_api_token_token_prefix"), ["token_prefix"], unique=False)


def downgrade():
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_token_prefix"))
        batch_op.drop_constraint(op.f("ck_api_token_revoked_when"), type_="check")
        batch_op.drop_constraint(op.f("ck_api_token_expiry_after_creation"), type_="check")
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("token_prefix")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_app_user_session_epoch"), type_="check")
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("session_epoch")
