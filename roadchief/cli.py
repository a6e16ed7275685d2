"""The `roadchief` command: Flask's CLI plus the project's batch jobs.

Every batch job is a thin verb over a service, the same one a web action calls.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import FlaskGroup, with_appcontext

from roadchief import create_app
from roadchief.services import ServiceError


def _app_factory(*_args, **_kwargs):
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app_factory, add_default_commands=True, add_version_option=False)
def main():
    """青铜峡市农村公路“路长制”管理系统 roadchief."""


def fail(error: ServiceError):
    click.echo(f"错误：{error}", err=True)
    for item in getattr(error, "errors", []) or []:
        click.echo(f"  {item}", err=True)
    sys.exit(1)


def echo_json(data) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@main.command("init-db")
@with_appcontext
def init_db():
    """创建或升级数据库结构（迁移到最新版本）。"""
    from roadchief.services.database import migrate_to_head
    migrate_to_head()
    click.echo("数据库已迁移到最新版本")


@main.command("load-demo")
@with_appcontext
def load_demo():
    """载入演示路网（合成数据）与路长名册。"""
    from roadchief.services.demo import load_demo_network
    try:
        report = load_demo_network(progress=_progress)
    except ServiceError as error:
        fail(error)
    click.echo(report)


def _progress(done: int, total: int, stage: str = "") -> None:
    if total and (done == total or done % max(1, total // 20) == 0):
        click.echo(f"\r{stage} {done}/{total} ({done * 100 // total}%)", err=True, nl=done == total)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="空库时不载入演示路网")
@with_appcontext
def serve(host: str, port: int, threads: int, no_demo: bool):
    """迁移数据库（空库时载入演示路网），然后以 waitress 提供服务。"""
    from flask import current_app
    from waitress import serve as waitress_serve

    from roadchief.services.database import migrate_to_head
    from roadchief.services.demo import create_demo_accounts, load_demo_network, register_is_empty

    migrate_to_head()
    if not no_demo and register_is_empty():
        click.echo("首次启动：载入演示路网（合成数据）……", err=True)
        click.echo(load_demo_network(progress=_progress), err=True)
        accounts = create_demo_accounts(Path(current_app.instance_path))
        if accounts:
            click.echo("演示账号（密码另存于 instance/demo_accounts.txt）：", err=True)
            for username, label, password in accounts:
                click.echo(f"  {username:<10} {label:<10} {password}", err=True)
    click.echo(f"roadchief 正在 http://{host}:{port} 提供服务（Ctrl+C 停止）", err=True)
    waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads)


from roadchief import cli_commands  # noqa: E402,F401  (registers the remaining verbs)
from roadchief import cli_funding  # noqa: E402,F401
from roadchief import cli_backup  # noqa: E402,F401
from roadchief import cli_inspections  # noqa: E402,F401
from roadchief import cli_operations  # noqa: E402,F401
from roadchief import cli_database  # noqa: E402,F401
