"""The least-privilege PostgreSQL role the application runs as.

Migrations (`roadchief init-db`) and restores run as the *owner* of the schema; the web app
and batch jobs run as an *app role* made here. The app role can read and write rows, but owns
nothing, so it cannot ALTER TABLE (… DISABLE TRIGGER), DROP, TRUNCATE or create tables, and
being no superuser it cannot SET session_replication_role = replica (which skips triggers).
So the append-only triggers on the ledger, the audit log, quarter closes and frozen scores
hold against the application itself (第十七条 专款专用、独立核算).
"""

from __future__ import annotations

import re

from sqlalchemy import text

from roadchief.extensions import db
from roadchief.services import Conflict, ServiceError

ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT"
TABLE_PRIVILEGES = "SELECT, INSERT, UPDATE, DELETE"
SEQUENCE_PRIVILEGES = "USAGE, SELECT"


def _literal(value: str) -> str:
    if "\x00" in value:
        raise ServiceError("口令不能含空字符")
    return "'" + value.replace("'", "''") + "'"


def _ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def check_role_name(name: str) -> str:
    if not ROLE_NAME.match(name or ""):
        raise ServiceError(f"角色名不合法：{name!r}（须为小写字母、数字、下划线，以字母或下划线开头，至多 63 个字符）")
    return name


def app_role_sql(name: str, schema: str, database: str, password: str | None = None, exists: bool = False) -> list[str]:
    """The statements, run by the schema owner, that create (or re-assert) the app role."""
    role = _ident(check_role_name(name))
    secret = f" PASSWORD {_literal(password)}" if password else ""
    statements = [f"{'ALTER' if exists else 'CREATE'} ROLE {role} {ATTRIBUTES}{secret}"]
    schema_id = _ident(schema)
    statements += [
        f"GRANT CONNECT ON DATABASE {_ident(database)} TO {role}",
        f"GRANT USAGE ON SCHEMA {schema_id} TO {role}",
        f"GRANT {TABLE_PRIVILEGES} ON ALL TABLES IN SCHEMA {schema_id} TO {role}",
        f"GRANT {SEQUENCE_PRIVILEGES} ON ALL SEQUENCES IN SCHEMA {schema_id} TO {role}",
        # tables and sequences later migrations create (run by this owner) get the same grants
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_id} GRANT {TABLE_PRIVILEGES} ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema_id} GRANT {SEQUENCE_PRIVILEGES} ON SEQUENCES TO {role}",
    ]
    return statements


def _target(conn) -> tuple[str, str, str]:
    schema, database, owner = conn.execute(text("SELECT current_schema(), current_database(), current_user")).one()
    if schema is None:
        raise ServiceError("当前连接没有可用的 schema（search_path 为空）")
    return schema, database, owner


def describe_role(conn, name: str, schema: str) -> dict:
    """What the role may do, read back from the catalog (not from what we meant to grant)."""
    row = conn.execute(
        text(
            "SELECT rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, rolreplication, rolcanlogin "
            "FROM pg_roles WHERE rolname = :n"
        ),
        {"n": name},
    ).one()
    owned = conn.execute(
        text(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :s AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = :n)"
        ),
        {"s": schema, "n": name},
    ).scalar()
    member_of = conn.execute(
        text(
            "SELECT coalesce(array_agg(r.rolname ORDER BY r.rolname), '{}') FROM pg_auth_members m "
            "JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = :n)"
        ),
        {"n": name},
    ).scalar()
    can_create = conn.execute(text("SELECT has_schema_privilege(:n, :s, 'CREATE')"), {"n": name, "s": schema}).scalar()
    return {
        "role": name,
        "schema": schema,
        "login": row.rolcanlogin,
        "superuser": row.rolsuper,
        "createdb": row.rolcreatedb,
        "createrole": row.rolcreaterole,
        "bypassrls": row.rolbypassrls,
        "replication": row.rolreplication,
        "owns_tables": owned,
        "member_of": list(member_of),
        "can_create_in_schema": bool(can_create),
    }


def ensure_app_role(name: str, password: str | None = None) -> dict:
    """Create the app role (or re-assert its attributes and grants) on the current database,
    whose connection must be the schema owner. Returns what the catalog says the role can do."""
    check_role_name(name)
    if db.engine.dialect.name != "postgresql":
        raise ServiceError("数据库角色仅适用于 PostgreSQL；SQLite 为单文件嵌入式数据库，没有角色与权限")
    with db.engine.begin() as conn:
        schema, database, owner = _target(conn)
        if name == owner:
            raise ServiceError(f"角色 {name} 就是当前连接的所有者；应用角色须另建一个")
        existing = conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = :n"), {"n": name}).first()
        if existing is not None and existing.rolsuper:
            raise Conflict(f"角色 {name} 已存在且是超级用户，不作修改；应用角色请用新的角色名")
        for statement in app_role_sql(name, schema, database, password, exists=existing is not None):
            conn.execute(text(statement))
        report = describe_role(conn, name, schema)
        if report["owns_tables"] or report["member_of"]:
            raise ServiceError(
                f"角色 {name} 拥有 {report['owns_tables']} 张表或属于角色 {report['member_of']}，"
                "不是最小权限角色；请改用新的角色名"
            )
    report.update(database=database, owner=owner, created=existing is None)
    return report
