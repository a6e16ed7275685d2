"""The migrations build exactly the schema the models describe: tables, columns, indexes,
unique keys and foreign keys (alembic's autogenerate comparison finds nothing to add or drop).
A model changed without a migration, or a migration without its model change, fails here."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from roadchief.extensions import db


def test_migrated_database_has_no_difference_from_the_models(app):
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.metadata)
    assert differences == []
