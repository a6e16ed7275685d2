"""Append-only tables in the database itself: triggers that refuse UPDATE, DELETE and
(PostgreSQL) TRUNCATE, so a frozen record stays frozen whatever client writes to it.

Migrations call these helpers; one call makes a table append-only::

    from roadchief.services.append_only import append_only_sql, drop_append_only_sql
    for statement in append_only_sql(op.get_bind().dialect.name, "settlement"):
        op.execute(statement)

``frozen_when`` makes the refusal conditional: an SQL predicate over ``{row}`` (replaced by
OLD, and for an UPDATE also by NEW), e.g. "the row's quarter is approved". A row for which it
is false can still be changed; TRUNCATE is refused always (it cannot look at rows).

PostgreSQL functions used: ``refuse_change()`` (created by migration 0002) for unconditional
tables, and one ``<table>_refuse_frozen()`` per conditional table. The statements these helpers
emit for a table are part of a migration: change them only together with a new migration.

Pure SQL text, no Flask or database imports, so a migration can import it safely.
"""

from __future__ import annotations

MESSAGE = "{table} is append-only"


def _sqlite_when(frozen_when: str, event: str) -> str:
    rows = ["OLD"] + (["NEW"] if event == "UPDATE" else [])
    return " WHEN " + " OR ".join(f"({frozen_when.format(row=row)})" for row in rows)


def append_only_sql(
    dialect: str, table: str, frozen_when: str | None = None, row_triggers: bool = True, truncate: bool = True
) -> list[str]:
    """Statements that make ``table`` append-only on ``dialect`` ("sqlite" or "postgresql").

    ``row_triggers=False`` adds only the TRUNCATE trigger (for tables whose UPDATE/DELETE
    triggers an earlier migration created)."""
    message = MESSAGE.format(table=table)
    statements: list[str] = []
    if dialect == "sqlite":
        if row_triggers:  # SQLite has no TRUNCATE: DELETE without WHERE fires the DELETE trigger
            for event in ("UPDATE", "DELETE"):
                when = _sqlite_when(frozen_when, event) if frozen_when else ""
                statements.append(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table}{when} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
        return statements
    if row_triggers:
        function = "refuse_change"
        if frozen_when:
            function = f"{table}_refuse_frozen"
            old, new = frozen_when.format(row="OLD"), frozen_when.format(row="NEW")
            statements.append(f"""
                CREATE FUNCTION {function}() RETURNS trigger AS $$
                BEGIN
                    IF ({old}) OR (TG_OP = 'UPDATE' AND ({new})) THEN
                        RAISE EXCEPTION '{message}: the row is frozen';
                    END IF;
                    IF TG_OP = 'DELETE' THEN
                        RETURN OLD;
                    END IF;
                    RETURN NEW;
                END $$ LANGUAGE plpgsql""")
        statements.append(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {function}()"
        )
    if truncate:
        statements.append(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION refuse_change()"
        )
    return statements


def drop_append_only_sql(
    dialect: str, table: str, frozen_when: str | None = None, row_triggers: bool = True, truncate: bool = True
) -> list[str]:
    """The reverse of ``append_only_sql`` with the same arguments."""
    if dialect == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {table}_no_{event}" for event in ("update", "delete")] if row_triggers else []
    statements = []
    if truncate:
        statements.append(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    if row_triggers:
        statements.append(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        if frozen_when:
            statements.append(f"DROP FUNCTION IF EXISTS {table}_refuse_frozen()")
    return statements
