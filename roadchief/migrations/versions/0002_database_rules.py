"""database rules: no overlapping stakes on a road; append-only audit log and ledger.

Revision ID: 0002
Revises: 0001
"""
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY = ("audit_entry", "ledger_entry")

OVERLAP = ("EXISTS (SELECT 1 FROM segment s WHERE s.road_id = NEW.road_id AND s.id != COALESCE(NEW.id, -1) "
           "AND s.start_m < NEW.end_m AND NEW.start_m < s.end_m)")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for event in ("INSERT", "UPDATE"):
            op.execute(f"""
                CREATE TRIGGER segment_no_overlap_{event.lower()} BEFORE {event} ON segment
                WHEN {OVERLAP}
                BEGIN SELECT RAISE(ABORT, 'segment stake range overlaps another segment of the same road'); END""")
        for table in APPEND_ONLY:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"""
                    CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table}
                    BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END""")
        return
    op.execute(f"""
        CREATE FUNCTION segment_no_overlap() RETURNS trigger AS $$
        BEGIN
            IF {OVERLAP} THEN
                RAISE EXCEPTION 'segment stake range overlaps another segment of the same road';
            END IF;
            RETURN NEW;
        END $$ LANGUAGE plpgsql""")
    op.execute("CREATE TRIGGER segment_no_overlap BEFORE INSERT OR UPDATE ON segment "
               "FOR EACH ROW EXECUTE FUNCTION segment_no_overlap()")
    op.execute("""
        CREATE FUNCTION refuse_change() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
        END $$ LANGUAGE plpgsql""")
    for table in APPEND_ONLY:
        op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_change()")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for event in ("insert", "update"):
            op.execute(f"DROP TRIGGER segment_no_overlap_{event}")
        for table in APPEND_ONLY:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{event}")
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
    op.execute("DROP TRIGGER segment_no_overlap ON segment")
    op.execute("DROP FUNCTION refuse_change()")
    op.execute("DROP FUNCTION segment_no_overlap()")
