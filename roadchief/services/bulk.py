"""Bulk inserts for the importer: COPY on PostgreSQL (psycopg's ``cursor.copy``), core
executemany in chunks elsewhere (SQLite) and for small writes. Rows are dicts with the same keys; columns they
leave out get their Python-side defaults (timestamps, ``version = 1``) as SQLAlchemy's
insert would. Runs in the session's transaction; writes no audit entry (callers record one)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import TypeDecorator

from roadchief.extensions import db

CHUNK = 5000  # rows per executemany
# Below this many rows COPY gains little, and small writes stay ordinary INSERTs that
# SQLAlchemy's cursor events see (tests/integration/test_faults.py injects faults there).
COPY_MIN_ROWS = 2000


def _defaults(table: Table, given: list[str], dialect, processed: bool = True) -> dict[str, Any]:
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
        if processed and isinstance(column.type, TypeDecorator):
            value = column.type.process_bind_param(value, dialect)
        values[column.key] = value
    return values


def _picker(names: list[str]):
    """row dict → tuple of its values in ``names`` order (itemgetter builds it in C)."""
    if len(names) == 1:
        name = names[0]
        return lambda row: (row[name],)
    return itemgetter(*names)


def _executemany(connection, table: Table, given: list[str], rows: list[dict[str, Any]]) -> None:
    """Many rows as positional tuples straight to the driver's executemany (SQLite): SQLAlchemy's
    per-row parameter processing of a dict executemany cost more than the insert itself. Values
    still go through each column type's bind processor, as ``insert(table)`` would apply."""
    dialect = connection.dialect
    extra = _defaults(table, given, dialect, processed=False)
    processors = [table.columns[name].type._cached_bind_processor(dialect) for name in given]
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in [*given, *extra])
    marks = ", ".join("?" for _ in range(len(given) + len(extra)))
    statement = f"INSERT INTO {dialect.identifier_preparer.format_table(table)} ({names}) VALUES ({marks})"
    tail = tuple(
        process(value) if (process := table.columns[name].type._cached_bind_processor(dialect)) else value
        for name, value in extra.items()
    )
    if any(processors):
        pairs = list(zip(given, processors))
        values = [(*(p(row[n]) if p else row[n] for n, p in pairs), *tail) for row in rows]
    else:
        pick = _picker(given)
        values = [pick(row) + tail for row in rows]
    for start in range(0, len(values), CHUNK):
        connection.exec_driver_sql(statement, values[start : start + CHUNK])


def assign_ids(table: Table, rows: list[dict[str, Any]]) -> bool:
    """On PostgreSQL, give each row an ``id`` from the table's own sequence (one statement),
    so rows copied with their id need nothing read back; False (rows untouched) elsewhere.
    The sequence hands each id out once, so concurrent writers cannot collide with them."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
        return False
    statement = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)")
    ids = connection.execute(statement, {"table": table.name, "count": len(rows)}).scalars()
    for row, id_ in zip(rows, ids, strict=True):
        row["id"] = id_
    return True


def insert_rows(table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = db.session.connection()
    if len(rows) < COPY_MIN_ROWS:
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(table), rows[start : start + CHUNK])
        return
    given = list(rows[0])
    if connection.dialect.name != "postgresql":
        if connection.dialect.paramstyle == "qmark":
            _executemany(connection, table, given, rows)
        else:
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(table), rows[start : start + CHUNK])
        return
    _copy_job(connection, table, rows)()


def _copy_job(connection, table: Table, rows: list[dict[str, Any]]) -> Callable[[], None]:
    """The COPY of ``rows`` on the session's psycopg connection, ready to run. Everything that
    needs SQLAlchemy (the statement, the defaults) is done here, by the caller's thread."""
    given = list(rows[0])
    extra = _defaults(table, given, connection.dialect)
    names = ", ".join(f'"{name}"' for name in [*given, *extra])
    tail = tuple(extra.values())
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    driver = connection.connection.driver_connection  # the psycopg connection, in this transaction
    pick = _picker(given)

    def run() -> None:
        try:
            with driver.cursor() as cursor, cursor.copy(statement) as copy:
                for row in rows:
                    copy.write_row(pick(row) + tail)
        except driver.Error as exc:  # a trigger or constraint refused: the DatabaseError an insert would raise
            raise DBAPIError.instance(statement, None, exc, driver.Error) from exc

    return run


class CopyBehind:
    """Large inserts that run behind the caller: on PostgreSQL each COPY goes to one worker
    thread, which runs them in the order given, on the session's own connection and so in its
    transaction. While the server checks a table's foreign keys and updates its indexes (most of
    a large import's write time, issue #15), the caller's thread goes on preparing the next rows;
    the worker waits on the socket, which leaves the interpreter to the caller.

    psycopg serialises every use of a connection with its lock, so a statement the caller issues
    meanwhile waits for the COPY in progress and runs between two COPYs. Hence two rules, which
    the importer keeps: read nothing that a queued COPY writes, and leave the block (which waits
    for every COPY, on every exit path) before committing. A COPY that fails skips the ones after
    it and its error is raised on leaving the block, in place of the aborted transaction's errors
    it caused meanwhile. Elsewhere (SQLite, small writes) ``insert`` writes at once, in order."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._error: BaseException | None = None

    def insert(self, table: Table, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        connection = db.session.connection()
        if connection.dialect.name != "postgresql" or len(rows) < COPY_MIN_ROWS:
            self.wait()  # what was queued before goes first
            insert_rows(table, rows)
            return
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="roadchief-copy", daemon=True)
            self._worker.start()
        self._jobs.put(_copy_job(connection, table, rows))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is None:
                try:
                    job()
                except BaseException as exc:  # handed to the caller's thread by wait()
                    self._error = exc

    def wait(self) -> None:
        """Block until every queued COPY has run; raise the first one's error."""
        if self._worker is not None:
            self._jobs.put(None)
            self._worker.join()
            self._worker = None
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def __enter__(self) -> CopyBehind:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        try:
            self.wait()
        except BaseException as copy_error:
            if error is None or isinstance(error, DBAPIError):
                # the caller's database error is most likely the transaction this COPY aborted
                raise copy_error from error
            # a refusal of the caller's own (such as ImportFailed) stands: it rolls back anyway
