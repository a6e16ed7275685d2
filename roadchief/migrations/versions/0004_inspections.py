"""inspections (督查/巡查, 整改, 扣分标准, quarter finalisations; 第二十条–第二十三条).

The deduction catalog versions and items, inspections with their segments and findings,
rectifications and their history, photos (stored outside the web root), corrections
made after a quarter was finalised, and the finalisations themselves.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 18:06:37.845248

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('deduction_catalog',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_example', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by', sa.String(length=80), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deduction_catalog')),
    sa.UniqueConstraint('year', 'version', name=op.f('uq_deduction_catalog_year_version'))
    )
    with op.batch_alter_table('deduction_catalog', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deduction_catalog_year'), ['year'], unique=False)

    op.create_table('quarter_finalisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('quarter', sa.Integer(), nullable=False),
    sa.Column('scope_key', sa.String(length=40), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('finalised_by', sa.String(length=80), nullable=False),
    sa.Column('finalised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('scores_json', sa.Text(), nullable=False),
    sa.CheckConstraint('quarter BETWEEN 1 AND 4', name=op.f('ck_quarter_finalisation_quarter')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarter_finalisation')),
    sa.UniqueConstraint('year', 'quarter', 'scope_key', name=op.f('uq_quarter_finalisation_year_quarter_scope_key'))
    )
    op.create_table('deduction_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('catalog_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=12), nullable=False),
    sa.Column('category', sa.String(length=10), nullable=False),
    sa.Column('text', sa.String(length=200), nullable=False),
    sa.Column('points_centi', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=6), nullable=False),
    sa.Column('cap_centi', sa.Integer(), nullable=True),
    sa.Column('category_cap_centi', sa.Integer(), nullable=True),
    sa.Column('basis', sa.String(length=60), nullable=False),
    sa.CheckConstraint("category IN ('路面养护', '路基养护', '桥涵养护', '沿线设施', '路容路貌', '履职')", name=op.f('ck_deduction_item_category')),
    sa.CheckConstraint("unit IN ('处', '100m', '次')", name=op.f('ck_deduction_item_unit')),
    sa.CheckConstraint('points_centi > 0 AND points_centi <= 10000', name=op.f('ck_deduction_item_points')),
    sa.ForeignKeyConstraint(['catalog_id'], ['deduction_catalog.id'], name=op.f('fk_deduction_item_catalog_id_deduction_catalog')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deduction_item')),
    sa.UniqueConstraint('catalog_id', 'code', name=op.f('uq_deduction_item_catalog_id_code'))
    )
    with op.batch_alter_table('deduction_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deduction_item_catalog_id'), ['catalog_id'], unique=False)

    op.create_table('inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_uuid', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('inspector_name', sa.String(length=80), nullable=False),
    sa.Column('office_key', sa.String(length=40), nullable=False),
    sa.Column('catalog_id', sa.Integer(), nullable=False),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('frozen', sa.Boolean(), nullable=False),
    sa.Column('finalisation_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('supervision', 'daily', 'flood', 'winter', 'special', 'emergency')", name=op.f('ck_inspection_kind')),
    sa.CheckConstraint('(lon IS NULL) = (lat IS NULL)', name=op.f('ck_inspection_lon_lat_together')),
    sa.CheckConstraint('lat IS NULL OR lat BETWEEN 37.0 AND 39.0', name=op.f('ck_inspection_lat_range')),
    sa.CheckConstraint('lon IS NULL OR lon BETWEEN 105.0 AND 107.0', name=op.f('ck_inspection_lon_range')),
    sa.ForeignKeyConstraint(['catalog_id'], ['deduction_catalog.id'], name=op.f('fk_inspection_catalog_id_deduction_catalog')),
    sa.ForeignKeyConstraint(['finalisation_id'], ['quarter_finalisation.id'], name=op.f('fk_inspection_finalisation_id_quarter_finalisation')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_inspection_user_id_app_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection')),
    sa.UniqueConstraint('client_uuid', name=op.f('uq_inspection_client_uuid'))
    )
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_inspected_at'), ['inspected_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_office_key'), ['office_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_user_id'), ['user_id'], unique=False)

    op.create_table('finding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('chief_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('quantity >= 0', name=op.f('ck_finding_quantity')),
    sa.ForeignKeyConstraint(['chief_id'], ['chief.id'], name=op.f('fk_finding_chief_id_chief')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], name=op.f('fk_finding_inspection_id_inspection')),
    sa.ForeignKeyConstraint(['item_id'], ['deduction_item.id'], name=op.f('fk_finding_item_id_deduction_item')),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_finding_segment_id_segment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_finding'))
    )
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_finding_chief_id'), ['chief_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_finding_segment_id'), ['segment_id'], unique=False)

    op.create_table('inspection_segment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('segment_id', sa.Integer(), nullable=False),
    sa.Column('distance_m', sa.Integer(), nullable=True),
    sa.Column('chief_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['chief_id'], ['chief.id'], name=op.f('fk_inspection_segment_chief_id_chief')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], name=op.f('fk_inspection_segment_inspection_id_inspection')),
    sa.ForeignKeyConstraint(['segment_id'], ['segment.id'], name=op.f('fk_inspection_segment_segment_id_segment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_segment')),
    sa.UniqueConstraint('inspection_id', 'segment_id', name=op.f('uq_inspection_segment_inspection_id_segment_id'))
    )
    with op.batch_alter_table('inspection_segment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_segment_chief_id'), ['chief_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_segment_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_segment_segment_id'), ['segment_id'], unique=False)

    op.create_table('inspection_correction',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('quantity_before', sa.Integer(), nullable=False),
    sa.Column('quantity_after', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['finding.id'], name=op.f('fk_inspection_correction_finding_id_finding')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], name=op.f('fk_inspection_correction_inspection_id_inspection')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_correction'))
    )
    with op.batch_alter_table('inspection_correction', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_correction_finding_id'), ['finding_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_correction_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('rectification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=False),
    sa.Column('chief_id', sa.Integer(), nullable=True),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('chief_note', sa.Text(), nullable=False),
    sa.Column('office_note', sa.Text(), nullable=False),
    sa.Column('returned_count', sa.Integer(), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open', 'done', 'verified')", name=op.f('ck_rectification_state')),
    sa.ForeignKeyConstraint(['chief_id'], ['chief.id'], name=op.f('fk_rectification_chief_id_chief')),
    sa.ForeignKeyConstraint(['finding_id'], ['finding.id'], name=op.f('fk_rectification_finding_id_finding')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification')),
    sa.UniqueConstraint('finding_id', name=op.f('uq_rectification_finding_id'))
    )
    with op.batch_alter_table('rectification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_chief_id'), ['chief_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_deadline'), ['deadline'], unique=False)
        batch_op.create_index(batch_op.f('ix_rectification_state'), ['state'], unique=False)

    op.create_table('inspection_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inspection_id', sa.Integer(), nullable=False),
    sa.Column('finding_id', sa.Integer(), nullable=True),
    sa.Column('rectification_id', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('thumb_path', sa.String(length=200), nullable=False),
    sa.Column('mimetype', sa.String(length=20), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['finding_id'], ['finding.id'], name=op.f('fk_inspection_photo_finding_id_finding')),
    sa.ForeignKeyConstraint(['inspection_id'], ['inspection.id'], name=op.f('fk_inspection_photo_inspection_id_inspection')),
    sa.ForeignKeyConstraint(['rectification_id'], ['rectification.id'], name=op.f('fk_inspection_photo_rectification_id_rectification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_photo'))
    )
    with op.batch_alter_table('inspection_photo', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_photo_finding_id'), ['finding_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_photo_inspection_id'), ['inspection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inspection_photo_rectification_id'), ['rectification_id'], unique=False)

    op.create_table('rectification_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rectification_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=80), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.CheckConstraint("action IN ('complete', 'verify', 'return')", name=op.f('ck_rectification_event_action')),
    sa.ForeignKeyConstraint(['rectification_id'], ['rectification.id'], name=op.f('fk_rectification_event_rectification_id_rectification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rectification_event'))
    )
    with op.batch_alter_table('rectification_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rectification_event_rectification_id'), ['rectification_id'], unique=False)



def downgrade():
    with op.batch_alter_table('rectification_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_event_rectification_id'))

    op.drop_table('rectification_event')
    with op.batch_alter_table('inspection_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_photo_rectification_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_photo_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_photo_finding_id'))

    op.drop_table('inspection_photo')
    with op.batch_alter_table('rectification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rectification_state'))
        batch_op.drop_index(batch_op.f('ix_rectification_deadline'))
        batch_op.drop_index(batch_op.f('ix_rectification_chief_id'))

    op.drop_table('rectification')
    with op.batch_alter_table('inspection_correction', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_correction_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_correction_finding_id'))

    op.drop_table('inspection_correction')
    with op.batch_alter_table('inspection_segment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_segment_segment_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_segment_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_segment_chief_id'))

    op.drop_table('inspection_segment')
    with op.batch_alter_table('finding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_finding_segment_id'))
        batch_op.drop_index(batch_op.f('ix_finding_item_id'))
        batch_op.drop_index(batch_op.f('ix_finding_inspection_id'))
        batch_op.drop_index(batch_op.f('ix_finding_chief_id'))

    op.drop_table('finding')
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_user_id'))
        batch_op.drop_index(batch_op.f('ix_inspection_office_key'))
        batch_op.drop_index(batch_op.f('ix_inspection_kind'))
        batch_op.drop_index(batch_op.f('ix_inspection_inspected_at'))

    op.drop_table('inspection')
    with op.batch_alter_table('deduction_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deduction_item_catalog_id'))

    op.drop_table('deduction_item')
    op.drop_table('quarter_finalisation')
    with op.batch_alter_table('deduction_catalog', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deduction_catalog_year'))

    op.drop_table('deduction_catalog')
