"""`roadchief serve` and `roadchief load-demo`: the waitress server and the synthetic demo register."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from roadchief.cli.common import fail, progress
from roadchief.services import ServiceError


def _load_activity() -> None:
    """The demo year's 督查, 整改, scores, events and reports (services/demo_activity), once."""
    from roadchief.services.demo_activity import has_activity, load_demo_activity

    if not has_activity():
        click.echo("载入演示业务数据（合成）……", err=True)
        click.echo(load_demo_activity(), err=True)


@click.command("load-demo")
@click.option("--no-activity", is_flag=True, help="只载入路网与名册，不载入演示年度的督查、得分、事件与反馈")
@with_appcontext
def load_demo(no_activity: bool):
    """载入演示路网（合成数据）与路长名册，以及演示年度的业务数据。"""
    from roadchief.services.demo import load_demo_network

    try:
        report = load_demo_network(progress=progress)
        click.echo(report)
        if not no_activity:
            _load_activity()
    except ServiceError as error:
        fail(error)


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--threads", default=8, show_default=True, type=int)
@click.option("--no-demo", is_flag=True, help="空库时不载入演示路网")
@click.option("--no-activity", is_flag=True, help="首次启动时只载入演示路网，不载入演示业务数据")
@with_appcontext
def serve(host: str, port: int, threads: int, no_demo: bool, no_activity: bool):
    """迁移数据库（空库时载入演示路网），然后以 waitress 提供服务。"""
    from flask import current_app
    from waitress import serve as waitress_serve

    from roadchief.services.database import migrate_to_head
    from roadchief.services.demo import create_demo_accounts, load_demo_network, register_is_empty

    migrate_to_head()
    if not no_demo and register_is_empty():
        click.echo("首次启动：载入演示路网（合成数据）……", err=True)
        click.echo(load_demo_network(progress=progress), err=True)
        accounts = create_demo_accounts(Path(current_app.instance_path))
        if accounts:
            click.echo("演示账号（密码另存于 instance/demo_accounts.txt）：", err=True)
            for username, label, password in accounts:
                click.echo(f"  {username:<10} {label:<10} {password}", err=True)
        if not no_activity:
            try:
                _load_activity()
            except ServiceError as error:  # the register is loaded: serve it anyway
                click.echo(f"演示业务数据未载入：{error}", err=True)
    from roadchief.services.public_url import loopback_warning

    if warning := loopback_warning():  # the 公示牌 QR codes would point at the server itself
        click.echo(f"警告：{warning}", err=True)
    click.echo(f"roadchief 正在 http://{host}:{port} 提供服务（Ctrl+C 停止）", err=True)
    waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads)
