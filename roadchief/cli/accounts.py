"""Account verbs of the `roadchief` command: users, API tokens, bulk 路长 accounts."""

from __future__ import annotations

import click

from roadchief.cli.common import echo_json, fail
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
@click.option("--expires-days", type=int, default=None, help="有效天数（省略为长期有效）")
def create_token_cmd(username, label, expires_days):
    """为用户生成 API 令牌（只显示一次），用法：Authorization: Bearer <令牌>。"""
    from roadchief.services.accounts import create_token

    try:
        token = create_token(username, label, expires_days=expires_days)
    except ServiceError as error:
        fail(error)
    click.echo("API 令牌（请妥善保存，仅显示一次）：", err=True)
    click.echo(token)


def _set_active(username: str, active: bool) -> None:
    from roadchief.services.account_admin import set_active

    try:
        user = set_active(username, active)
    except ServiceError as error:
        fail(error)
    click.echo(f"已{'启用' if active else '停用'}用户 {user.username}" + ("" if active else "：其登录已全部退出"))


@click.command("disable-user")
@click.argument("username")
def disable_user_cmd(username):
    """停用用户：立即结束其全部登录，拒绝其登录与 API 令牌。"""
    _set_active(username, False)


@click.command("enable-user")
@click.argument("username")
def enable_user_cmd(username):
    """重新启用已停用的用户。"""
    _set_active(username, True)


@click.command("revoke-token")
@click.argument("reference", metavar="ID|PREFIX")
def revoke_token_cmd(reference):
    """撤销 API 令牌（按 list-tokens 中的 ID 或 rc_ 开头的前缀）。"""
    from roadchief.services.account_admin import revoke_token

    try:
        token = revoke_token(reference)
    except ServiceError as error:
        fail(error)
    click.echo(f"已撤销令牌 {token.id}（{token.token_prefix or '旧令牌'}，用户 {token.user.username}）")


@click.command("list-tokens")
@click.option("--user", "username", default=None, help="只列出此用户的令牌")
@click.option("--json", "as_json", is_flag=True, help="JSON 输出")
def list_tokens_cmd(username, as_json):
    """列出 API 令牌（不含令牌本身）：ID、前缀、用户、用途、生成与到期时间（北京时间）、状态。"""
    from roadchief.domain.clock import format_beijing
    from roadchief.services.account_admin import list_tokens

    try:
        rows = list_tokens(username)
    except ServiceError as error:
        fail(error)
    data = [
        {
            "id": t.id,
            "prefix": t.prefix,
            "user": t.username,
            "label": t.label,
            "created_at": format_beijing(t.created_at),
            "expires_at": format_beijing(t.expires_at) if t.expires_at else None,
            "status": t.status,
        }
        for t in rows
    ]
    if as_json:
        echo_json(data)
        return
    if not data:
        click.echo("暂无令牌")
    for t in data:
        click.echo(
            f"{t['id']:>4}  {t['prefix']:<12} {t['user']:<16} {t['status']:<6} "
            f"生成 {t['created_at']}  到期 {t['expires_at'] or '长期'}  {t['label']}"
        )


@click.command("create-chief-accounts")
@click.option("--town", default=None, help="只为在此乡镇（代码或名称）任职的路长创建")
@click.option(
    "--pdf", "pdf_path", required=True, type=click.Path(dir_okay=False, writable=True), help="账号通知单 PDF 写到此文件"
)
def create_chief_accounts_cmd(town, pdf_path):
    """为名册中尚无账号的路长批量创建账号（一次性密码，首次登录须修改），并输出 A4 账号通知单 PDF。"""
    import os
    from pathlib import Path

    from roadchief.domain.clock import beijing_today
    from roadchief.reports.account_slips_pdf import account_slips_pdf
    from roadchief.services.chief_accounts import create_chief_accounts
    from roadchief.services.public_url import base_url, loopback_warning

    warning = loopback_warning()
    if warning:
        click.echo(f"警告：{warning}", err=True)
    path = Path(pdf_path)
    if path.exists():
        fail(ServiceError(f"文件已存在，不覆盖：{path}"))
    try:
        slips = create_chief_accounts(town)
    except ServiceError as error:
        fail(error)
    data = account_slips_pdf(slips, base_url(), beijing_today().isoformat())
    # the slips hold clear passwords: readable by the owner only
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    click.echo(f"已创建 {len(slips)} 个路长账号，账号通知单：{path}（含一次性密码，打印后请删除此文件）")
