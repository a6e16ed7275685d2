"""roadchief — 青铜峡市农村公路“路长制”管理系统."""

from __future__ import annotations

from pathlib import Path

from apiflask import APIFlask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from roadchief.config import instance_dir, load_config

PACKAGE_DIR = Path(__file__).resolve().parent
MIGRATIONS_DIR = PACKAGE_DIR / "migrations"


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


def create_app(overrides: dict | None = None) -> APIFlask:
    app = APIFlask(
        __name__,
        title="roadchief API",
        version="1",
        instance_path=str(instance_dir()),
        spec_path="/openapi.json",
        docs_path=None,
        openapi_blueprint_url_prefix="/api/v1",
        json_errors=False,
    )
    app.config.from_mapping(load_config())
    app.config.update(
        INFO={
            "description": "青铜峡市农村公路“路长制”管理系统 JSON API。需以 `Authorization: Bearer <token>` 认证（roadchief create-token）。"
            "时间：返回值为 ISO 8601 北京时间，带 `+08:00`；提交的时间带时区则按其换算，不带时区按北京时间；"
            "月份、季度按北京时间日期划分。"
        },
        SECURITY_SCHEMES={"BearerAuth": {"type": "http", "scheme": "bearer"}},
        AUTO_404_RESPONSE=False,
    )
    if overrides:
        app.config.update(overrides)

    from roadchief.extensions import csrf, db, limiter, login_manager, migrate
    from roadchief.services import audit, spatial_index, token_cache

    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    audit.install(Session)
    spatial_index.install(Session)
    token_cache.install(Session)  # no write while a request's cached bearer token is unverified
    import roadchief.models  # noqa: F401  (register tables)
    from roadchief.web import register_web

    register_web(app)
    if app.config["PROXY_FIX"]:
        # behind one reverse proxy: take the client address from X-Forwarded-For (rate limits, audit)
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    return app
