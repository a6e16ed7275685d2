"""Bulk inserts for the importer: COPY on PostgreSQL (psycopg's ``cursor.copy``), core
executemany in chunks elsewhere (SQLite) and for small writes. Rows are dicts with the same keys; columns they
leave out get their Python-side defaults (timestamps, ``version = 1``) as SQLAlchemy's
insert would. Runs in the session's transaction; writes no audit entry (callers record one)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

from roadchief.extensions import db

CHUNK = 5000  # rows per executemany
# Below this many rows COPY gains little, and small writes stay ordinary INSERTs that
# SQLAlchemy's cursor events see (tests/integration/test_faults.py injects faults there).
COPY_MIN_ROWS = 2000


def _defaults(table: Table, given: list[str], dialect) -> dict[str, Any]:
    """Values of the Python-side defaults of the columns ``given`` leaves out (one per insert)."""
    values: dict[str, Any] = {}
    for column in table.columns:
        default = column.default
        if column.key in given or column.primary_key or default is None:
            continue
        if default.is_scalar:
            value = default.arg
        elif default.is_callable:
            value = default.arg(None)  # SQLAlchemy wraps every callable to take the context
        else:
            continue
        if isinstance(column.type, TypeDecorator):
            value = column.type.process_bind_param(value, dialect)
        values[column.key] = value
    return values


def insert_rows(table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = db.session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(table), rows[start : start + CHUNK])
        return
    given = list(rows[0])
    extra = _defaults(table, given, connection.dialect)
    names = ", ".join(f'"{name}"' for name in [*given, *extra])
    tail = tuple(extra.values())
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    driver = connection.connection.driver_connection  # the psycopg connection, in this transaction
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row((*(row[name] for name in given), *tail))
    except driver.Error as exc:  # a trigger or constraint refused: the DatabaseError an insert would raise
        raise DBAPIError.instance(statement, None, exc, driver.Error) from exc
