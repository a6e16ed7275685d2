"""public reports (社会监督, 第七条): the public_report table.

A report from a 公示牌 page: category, text (≤ 500 characters), optional photo,
location (inside 105–107°E, 37–39°N) and private phone; its status and the chief it
was forwarded to. The reporter's IP is kept only as a salted SHA-256 digest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:03:58.355440

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('public_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=20), nullable=False),
    sa.Column('road_id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=True),
    sa.Column('town_id', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('photo_path', sa.String(length=200), nullable=True),
    sa.Column('photo_thumb_path', sa.String(length=200), nullable=True),
    sa.Column('photo_taken_at', sa.DateTime(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('reporter_phone', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('assigned_chief_id', sa.Integer(), nullable=True),
    sa.Column('office_note', sa.Text(), nullable=True),
    sa.Column('chief_reply', sa.Text(), nullable=True),
    sa.Column('rectification_ref', sa.String(length=40), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ip_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("category IN ('路面破损', '路基塌陷', '桥涵', '交安设施', '路域环境', '占道晒粮堆物', '积雪结冰', '其他')", name=op.f('ck_public_report_category')),
    sa.CheckConstraint("status IN ('received', 'assigned', 'confirmed', 'closed', 'rejected')", name=op.f('ck_public_report_status')),
    sa.CheckConstraint('(lon IS NULL) = (lat IS NULL)', name=op.f('ck_public_report_lon_lat_together')),
    sa.CheckConstraint('lat IS NULL OR lat BETWEEN 37.0 AND 39.0', name=op.f('ck_public_report_lat_range')),
    sa.CheckConstraint('length(text) BETWEEN 1 AND 500', name=op.f('ck_public_report_text_length')),
    sa.CheckConstraint('lon IS NULL OR lon BETWEEN 105.0 AND 107.0', name=op.f('ck_public_report_lon_range')),
    sa.ForeignKeyConstraint(['assigned_chief_id'], ['chief.id'], name=op.f('fk_public_report_assigned_chief_id_chief')),
    sa.ForeignKeyConstraint(['road_id'], ['road.id'], name=op.f('fk_public_report_road_id_road')),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_public_report_segment_id_segment')),
    sa.ForeignKeyConstraint(['town_id'], ['town.id'], name=op.f('fk_public_report_town_id_town')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_public_report')),
    sa.UniqueConstraint('ref', name=op.f('uq_public_report_ref'))
    )
    with op.batch_alter_table('public_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_public_report_assigned_chief_id'), ['assigned_chief_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_report_ip_hash'), ['ip_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_report_road_id'), ['road_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_report_segment_id'), ['segment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_report_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_public_report_town_id'), ['town_id'], unique=False)



def downgrade():
    with op.batch_alter_table('public_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_public_report_town_id'))
        batch_op.drop_index(batch_op.f('ix_public_report_status'))
        batch_op.drop_index(batch_op.f('ix_public_report_segment_id'))
        batch_op.drop_index(batch_op.f('ix_public_report_road_id'))
        batch_op.drop_index(batch_op.f('ix_public_report_ip_hash'))
        batch_op.drop_index(batch_op.f('ix_public_report_assigned_chief_id'))

    op.drop_table('public_report')
