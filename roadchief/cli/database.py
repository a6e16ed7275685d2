"""Database verbs of the `roadchief` command: `init-db` (migrate to head) and `app-role NAME`, the
least-privilege PostgreSQL role the application runs as."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from roadchief.cli.common import echo_json, fail
from roadchief.services import ServiceError

CANNOT = (
    "不是超级用户，不能建库、建角色，不能绕过行级安全；",
    "不拥有任何表：不能 ALTER TABLE（含 DISABLE TRIGGER）、DROP、TRUNCATE，不能建表；",
    "不能 SET session_replication_role（跳过触发器），所以专户分录、审计日志、季度审定及已审定季度的得分只能追加。",
)


@click.command("init-db")
@with_appcontext
def init_db():
    """创建或升级数据库结构（迁移到最新版本）。"""
    from roadchief.services.database import migrate_to_head

    migrate_to_head()
    click.echo("数据库已迁移到最新版本")


@click.command("app-role")
@click.argument("name")
@click.option(
    "--password",
    envvar="ROADCHIEF_APP_ROLE_PASSWORD",
    default=None,
    help="登录口令（也可用环境变量 ROADCHIEF_APP_ROLE_PASSWORD；不给则不设口令）",
)
@click.option("--sql", "print_sql", is_flag=True, help="只打印要执行的 SQL，不执行")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出角色的实际权限")
def app_role_cmd(name: str, password: str | None, print_sql: bool, as_json: bool):
    """以库所有者身份创建（或重新核定）应用使用的最小权限 PostgreSQL 角色。

    迁移（init-db）与恢复（restore）以所有者运行；应用（serve 等）以此角色连接。"""
    from sqlalchemy import text

    from roadchief.extensions import db
    from roadchief.services.db_role import app_role_sql, ensure_app_role

    try:
        if print_sql:
            if db.engine.dialect.name != "postgresql":
                raise ServiceError("数据库角色仅适用于 PostgreSQL；SQLite 为单文件嵌入式数据库，没有角色与权限")
            with db.engine.connect() as conn:
                schema, database = conn.execute(text("SELECT current_schema(), current_database()")).one()
            for statement in app_role_sql(name, schema, database, password):
                click.echo(statement + ";")
            return
        report = ensure_app_role(name, password)
    except ServiceError as error:
        fail(error)
    if as_json:
        echo_json(report)
        return
    click.echo(
        f"{'已创建' if report['created'] else '已重新核定'}应用角色 {name}"
        f"（数据库 {report['database']}，schema {report['schema']}，所有者 {report['owner']}）"
    )
    click.echo("可以：读写各表的行（SELECT/INSERT/UPDATE/DELETE，受追加式触发器约束），使用序列。")
    for line in CANNOT:
        click.echo(f"不能：{line}")
    if report["can_create_in_schema"]:
        click.echo(
            f"注意：PUBLIC 在 schema {report['schema']} 上仍有 CREATE 权限（PostgreSQL 15 之前的默认）；"
            f"建议所有者执行 REVOKE CREATE ON SCHEMA {report['schema']} FROM PUBLIC",
            err=True,
        )
    if not password:
        click.echo("未设口令：该角色只能经 pg_hba 的 peer/trust 规则登录；如需口令请加 --password", err=True)
    click.echo(f"应用连接示例：ROADCHIEF_DATABASE_URL=postgresql://{name}:口令@主机/{report['database']}")
