"""Shared fixtures.

The database is SQLite by default; set ROADCHIEF_DATABASE_URL to a PostgreSQL
URL to run the same suite there. PostgreSQL runs get a fresh schema per run
(dropped at the end), migrated once; each test starts from empty tables.
SQLite runs migrate one template file and copy it per test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="roadchief-tests-"))
os.environ.setdefault("ROADCHIEF_SECRET_KEY", "test-secret")
os.environ["ROADCHIEF_INSTANCE_DIR"] = str(_TMP / "instance")
os.environ.setdefault("ROADCHIEF_UPLOAD_DIR", str(_TMP / "uploads"))
os.environ.setdefault("ROADCHIEF_REPORTS_DIR", str(_TMP / "reports"))

from sqlalchemy import create_engine, text  # noqa: E402

from roadchief import create_app  # noqa: E402
from roadchief.config import normalise_database_url  # noqa: E402
from roadchief.extensions import db  # noqa: E402

BASE_URL = normalise_database_url(os.environ.get("ROADCHIEF_DATABASE_URL", ""))
ON_POSTGRES = BASE_URL.startswith("postgresql")
TEST_CONFIG = {"TESTING": True, "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False}


def _with_search_path(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


class Databases:
    """Hands out a clean database per test, and a demo-loaded one on request."""

    def __init__(self):
        self.schema = None
        self._sqlite_templates: dict[str, Path] = {}
        if ON_POSTGRES:
            self.schema = f"rc_test_{uuid.uuid4().hex[:12]}"
            engine = create_engine(BASE_URL)
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
            engine.dispose()
            self.url = _with_search_path(BASE_URL, self.schema)
            self._migrate(self.url)

    @staticmethod
    def _migrate(url: str, demo: bool = False):
        from roadchief.services.database import migrate_to_head

        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            migrate_to_head()
            if demo:
                from roadchief.services.demo import load_demo_network

                load_demo_network()
            db.session.remove()
            db.engine.dispose()

    def _sqlite_template(self, demo: bool) -> Path:
        key = "demo" if demo else "empty"
        if key not in self._sqlite_templates:
            path = _TMP / f"template-{key}.db"
            self._migrate(f"sqlite:///{path}", demo=demo)
            self._sqlite_templates[key] = path
        return self._sqlite_templates[key]

    def fresh_url(self, demo: bool = False) -> str:
        if not ON_POSTGRES:
            path = _TMP / f"test-{uuid.uuid4().hex[:10]}.db"
            shutil.copyfile(self._sqlite_template(demo), path)
            return f"sqlite:///{path}"
        if demo and not hasattr(self, "demo_schema"):
            self._create_demo_schema()
        engine = create_engine(self.url)
        with engine.begin() as conn:
            tables = (
                conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename != 'alembic_version'"),
                    {"s": self.schema},
                )
                .scalars()
                .all()
            )
            if tables:
                # A test reset must get past the append-only triggers: replica mode skips triggers
                # (and FK checks) for this transaction; DELETE beats TRUNCATE on many small tables.
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for table in tables:
                    conn.execute(text(f'DELETE FROM "{self.schema}"."{table}"'))
                conn.execute(
                    text(  # ids start from 1 again, as in a new database
                        "SELECT setval(s.oid::regclass, 1, false) FROM pg_class s JOIN pg_namespace n ON n.oid = s.relnamespace "
                        "WHERE s.relkind = 'S' AND n.nspname = :s"
                    ),
                    {"s": self.schema},
                )
            if demo:
                self._copy_demo(conn)
        engine.dispose()
        return self.url

    def _create_demo_schema(self):
        self.demo_schema = f"{self.schema}_demo"
        engine = create_engine(BASE_URL)
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self.demo_schema}"'))
        engine.dispose()
        self._migrate(_with_search_path(BASE_URL, self.demo_schema), demo=True)

    def _copy_demo(self, conn):
        """Fill the test schema from a demo schema loaded once per run: copying rows in SQL
        is much faster than importing the demo network again for every test."""
        import roadchief.models  # noqa: F401  (all tables on the metadata)

        for table in db.metadata.sorted_tables:
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            conn.execute(
                text(
                    f'INSERT INTO "{self.schema}"."{table.name}" ({columns}) '
                    f'SELECT {columns} FROM "{self.demo_schema}"."{table.name}"'
                )
            )
            if (
                "id" in table.columns
                and table.columns["id"].autoincrement in (True, "auto")
                and table.columns["id"].primary_key
            ):
                conn.execute(
                    text(
                        f"""SELECT setval(pg_get_serial_sequence('"{self.schema}"."{table.name}"', 'id'),
                               COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{self.schema}"."{table.name}" """
                    )
                )

    def close(self):
        if ON_POSTGRES:
            engine = create_engine(BASE_URL)
            with engine.begin() as conn:
                for schema in (self.schema, getattr(self, "demo_schema", None)):
                    if schema:
                        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


@pytest.fixture(scope="session")
def databases():
    dbs = Databases()
    yield dbs
    dbs.close()
    shutil.rmtree(_TMP, ignore_errors=True)


def _app(databases, demo: bool, **overrides):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": databases.fresh_url(demo=demo), **overrides})

    # Test requests reuse the app context the fixture pushed, and Flask-Login caches the
    # user in g; forget it per request as a real server (fresh context per request) does.
    def forget_cached_user():
        from flask import g

        g.pop("_login_user", None)

    app.before_request_funcs.setdefault(None, []).insert(0, forget_cached_user)
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
    finally:
        db.session.remove()
        db.engine.dispose()
        ctx.pop()


@pytest.fixture
def app(databases):
    """An app on an empty, migrated database, with an app context pushed."""
    yield from _app(databases, demo=False)


@pytest.fixture
def demo_app(databases):
    """An app on a database holding the demo network and roster."""
    yield from _app(databases, demo=True)


@pytest.fixture(scope="module")
def demo_activity_app(databases):
    """The demo register plus the demo year's activity (services/demo_activity), built once per
    module: the tests using it only read. Keep function-scoped database fixtures out of that module."""
    from roadchief.services.demo_activity import load_demo_activity

    for app in _app(databases, demo=True):
        load_demo_activity()
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def demo_client(demo_app):
    return demo_app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def demo_runner(demo_app):
    return demo_app.test_cli_runner()


PASSWORD = "Test-pass-123"


def make_user(role: str, username: str | None = None, town: str | None = None, chief_id: int | None = None):
    from roadchief.services.accounts import create_user

    return create_user(username or f"{role}-{uuid.uuid4().hex[:6]}", role, PASSWORD, town=town, chief_id=chief_id)


def login(client, user) -> None:
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.data.decode()[:500]


@pytest.fixture
def make_logged_in():
    """Create a user of a role and sign a test client in as them."""

    def factory(client, role: str, **kwargs):
        user = make_user(role, **kwargs)
        login(client, user)
        return user

    return factory


@pytest.fixture
def demo_app_with(databases):
    """A demo app with extra configuration, e.g. CSRF or rate limits switched on."""
    apps = []

    def factory(**overrides):
        gen = _app(databases, demo=True, **overrides)
        app = next(gen)
        apps.append(gen)
        return app

    yield factory
    for gen in apps:
        next(gen, None)


# Tests known to take seconds each (measured with --durations): the browser journeys, and the few
# integration tests that load, back up or sweep the whole demo. `pytest -m "not slow"` skips them for
# a quick loop; CI runs everything.
SLOW_TESTS = {
    "test_access_matrix",
    "test_bulk_chief_accounts_from_the_page_stream_the_pdf",
    "test_import_killed_half_way_leaves_nothing",
    "test_three_thousand_rows_with_progress",
    "test_backup_and_restore_keep_evening_times_exactly",
    "test_api_export_imports_back_without_multiplying_stakes",
    "test_export_imports_back_into_an_empty_register_unchanged",
    "test_round_trip_of_demo_with_closed_quarter_ledger_and_photos",
    "test_round_trip_includes_inspections",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/e2e/" in item.nodeid.replace("\\", "/") or item.originalname in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)
