"""Account verbs of the `roadchief` command: users and API tokens."""

from __future__ import annotations

import click

from roadchief.cli.common import fail
from roadchief.services import ServiceError


@click.command("create-user")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice(["city_office", "town_office", "inspector", "chief", "finance"])
)
@click.option("--town", default=None, help="乡镇代码或名称（镇级办公室、督查员）")
@click.option("--chief", "chief_id", type=int, default=None, help="关联的路长 ID")
@click.option("--password", default=None, help="省略时交互输入")
@click.option("--name", "display_name", default="", help="显示名")
def create_user_cmd(username, role, town, chief_id, password, display_name):
    """创建用户。"""
    from roadchief.services.accounts import create_user

    if password is None:
        password = click.prompt("密码", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(username, role, password, town=town, chief_id=chief_id, display_name=display_name)
    except ServiceError as error:
        fail(error)
    click.echo(f"已创建用户 {user.username}（{user.role_label}）")


@click.command("create-token")
@click.argument("username")
@click.option("--label", default="", help="令牌用途说明")
def create_token_cmd(username, label):
    """为用户生成 API 令牌（只显示一次），用法：Authorization: Bearer <令牌>。"""
    from roadchief.services.accounts import create_token

    try:
        token = create_token(username, label)
    except ServiceError as error:
        fail(error)
    click.echo("API 令牌（请妥善保存，仅显示一次）：", err=True)
    click.echo(token)
