"""`roadchief serve` and `roadchief load-demo`: the waitress server and the synthetic demo register."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from roadchief.cli.common import fail, progress
from roadchief.services import ServiceError


@click.command("load-demo")
@with_appcontext
def load_demo():
    """载入演示路网（合成数据）与路长名册。"""
    from roadchief.services.demo import load_demo_network

    try:
        report = load_demo_network(progress=progress)
    except ServiceError as error:
        fail(error)
    click.echo(report)


@click.command("serve")
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
        click.echo(load_demo_network(progress=progress), err=True)
        accounts = create_demo_accounts(Path(current_app.instance_path))
        if accounts:
            click.echo("演示账号（密码另存于 instance/demo_accounts.txt）：", err=True)
            for username, label, password in accounts:
                click.echo(f"  {username:<10} {label:<10} {password}", err=True)
    from roadchief.services.public_url import loopback_warning

    if warning := loopback_warning():  # the 公示牌 QR codes would point at the server itself
        click.echo(f"警告：{warning}", err=True)
    click.echo(f"roadchief 正在 http://{host}:{port} 提供服务（Ctrl+C 停止）", err=True)
    waitress_serve(current_app._get_current_object(), host=host, port=port, threads=threads)
