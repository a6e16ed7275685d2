"""Schema management: Alembic migrations (Flask-Migrate) are the only way the schema changes."""

from __future__ import annotations

from flask_migrate import upgrade

from roadchief import MIGRATIONS_DIR


def migrate_to_head() -> None:
    upgrade(directory=str(MIGRATIONS_DIR))
