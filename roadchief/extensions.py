"""Flask extensions, created unbound and initialised in the app factory, and the engine hooks
every connection needs (they live here because whatever touches the database imports `db`)."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Named constraints so Alembic migrations are stable on SQLite and PostgreSQL.
naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming_convention))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def _sqlite_batched_inserts() -> None:
    """Let the ORM insert many rows of one table in one statement on SQLite too (issue #15: an
    inspection POST's findings, segment rows, rectifications, outbox rows). SQLAlchemy needs a
    column that tells it which RETURNING row belongs to which object; on PostgreSQL the
    autoincrement id is trusted for that, on SQLite not by default. It holds there as well: a
    rowid table without AUTOINCREMENT gives each row of a multi-row INSERT max(rowid) + 1 in
    VALUES order (https://www.sqlite.org/autoinc.html), and SQLAlchemy sorts the RETURNING rows
    by it."""
    from sqlalchemy.dialects.sqlite.base import SQLiteDialect
    from sqlalchemy.sql.compiler import InsertmanyvaluesSentinelOpts

    SQLiteDialect.insertmanyvalues_implicit_sentinel = InsertmanyvaluesSentinelOpts.AUTOINCREMENT


_sqlite_batched_inserts()


@event.listens_for(Engine, "connect")
def _sqlite_foreign_keys(dbapi_connection, connection_record):
    # SQLite ignores foreign keys unless asked, per connection.
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
