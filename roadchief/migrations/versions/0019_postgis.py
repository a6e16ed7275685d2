"""postgis: on PostgreSQL, enable the PostGIS extension where the server has it, so the province
map's vector tiles are cut by `ST_AsMVT` in the database (issue #15). It goes into a schema of its
own (`postgis`), apart from the application's tables, and the app calls it schema-qualified.

Optional by design: SQLite, or a PostgreSQL server without the package (Debian:
postgresql-15-postgis-3) or without the right to create extensions, keeps working — the tiles are
then built in Python (`services/road_tiles.py`). A DBA can enable it later by hand:
`CREATE SCHEMA IF NOT EXISTS postgis; CREATE EXTENSION postgis SCHEMA postgis;`.
The downgrade leaves the extension alone: other databases' users may rely on it.

Revision ID: 0019
Revises: 0016
"""

import logging

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    if conn.scalar(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")):
        return
    if not conn.scalar(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")):
        log.warning("PostGIS is not installed on this server: map tiles will be built in Python")
        return
    try:
        with conn.begin_nested():  # a failure (no privilege, a concurrent creator) must not abort the upgrade
            conn.execute(sa.text("CREATE SCHEMA IF NOT EXISTS postgis"))
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA postgis"))
    except sa.exc.DBAPIError as error:
        log.warning("could not enable PostGIS (%s): map tiles will be built in Python", error.orig)


def downgrade():
    pass
