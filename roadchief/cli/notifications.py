"""督办 and notification verbs of the `roadchief` command: escalate overdue rectifications
(``rectifications escalate``, run from cron) and send the notification outbox (``notifications send``)."""

from __future__ import annotations

import click

from roadchief.cli.common import echo_json


@click.group("rectifications")
def rectifications():
    """整改督办：逾期整改自动向上一级路长办公室督办。"""


@rectifications.command("escalate")
@click.option("--json", "as_json", is_flag=True)
def escalate_cmd(as_json):
    """督办逾期整改并发出临期提醒（可重复运行；建议 cron 每小时一次）。"""
    from roadchief.domain import clock
    from roadchief.services import escalation

    run = escalation.escalate_overdue(clock.utcnow())
    rows = [
        {"rectification_id": s.rectification_id, "level": s.level, "office": s.office_name, "notice": s.notice_number}
        for s in run.escalated
    ]
    if as_json:
        echo_json({"escalated": rows, "reminded": run.reminded})
        return
    for row in rows:
        click.echo(f"整改 #{row['rectification_id']} 督办至{row['office']}：{row['notice']}")
    click.echo(f"督办 {len(rows)} 项，临期提醒 {run.reminded} 条")


@click.group("notifications")
def notifications():
    """通知：发送待发的邮件、短信（站内通知即时可见）。"""


@notifications.command("send")
@click.option("--limit", type=int, default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def send_cmd(limit, as_json):
    """发送到期的通知（失败的按退避重试；建议 cron 每分钟一次）。"""
    from roadchief.domain import clock
    from roadchief.services import notifications as service

    counts = service.deliver_pending(clock.utcnow(), limit=limit)
    if as_json:
        echo_json(counts)
    else:
        click.echo(f"已发送 {counts['sent']} 条，失败待重试 {counts['failed']} 条，放弃 {counts['given_up']} 条")
