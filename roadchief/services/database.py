"""Schema management: Alembic migrations (Flask-Migrate) are the only way the schema changes."""
from __future__ import annotations

from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import inspect as sa_inspect

from roadchief import MIGRATIONS_DIR
from roadchief.extensions import db


def migrate_to_head() -> None:
    upgrade(directory=str(MIGRATIONS_DIR))


def table_names() -> list[str]:
    return sa_inspect(db.engine).get_table_names()


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"


def database_label() -> str:
    url = db.engine.url
    return f"{url.get_backend_name()}:{url.database}" if current_app else str(url)
