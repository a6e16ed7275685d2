"""Inspection verbs of the `roadchief` command: the deduction catalog, scores, the
quarterly bulletin and finalising a quarter (第二十条–第二十三条)."""

from __future__ import annotations

from pathlib import Path

import click

from roadchief.cli.common import echo_json, fail
from roadchief.services import ServiceError


@click.group("inspections")
def inspections():
    """督查与考核：扣分标准、得分、季度通报、季度定稿（第二十条–第二十三条）。"""


def _scopes(scope: str) -> list[str]:
    from sqlalchemy import select

    from roadchief.extensions import db
    from roadchief.models import Town

    if scope == "all":
        return ["city"] + [f"town:{code}" for code in db.session.scalars(select(Town.code).order_by(Town.code))]
    return [scope]


@inspections.command("catalog")
@click.argument("year", type=int)
@click.option(
    "--load",
    "load",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="从 CSV（格式同 data/deduction_catalog.csv）载入为新版本",
)
@click.option("--confirm", is_flag=True, help="确认当前版本（示例表须确认后使用）")
@click.option("--json", "as_json", is_flag=True)
def catalog_cmd(year, load, confirm, as_json):
    """查看、载入或确认某年度的扣分标准。"""
    from roadchief.services import deduction_catalog as service

    try:
        if load:
            items = service.read_catalog_csv(load.read_text(encoding="utf-8-sig"))
            rows = [
                {
                    "code": i.code,
                    "category": i.category,
                    "text": i.text,
                    "points": service.points_text(i.points_centi),
                    "unit": i.unit,
                    "cap": service.points_text(i.cap_centi),
                    "category_cap": service.points_text(i.category_cap_centi),
                    "basis": i.basis,
                }
                for i in items
            ]
            catalog = service.save_catalog(year, rows, note=f"自 {load.name} 载入")
        else:
            catalog = service.catalog_for(year)
        if confirm:
            catalog = service.confirm_catalog(catalog)
    except ServiceError as error:
        fail(error)
    data = service.catalog_json(catalog)
    if as_json:
        echo_json(data)
        return
    state = "已确认" if catalog.confirmed else "示例表，待确认" if catalog.is_example else "未确认"
    click.echo(f"{catalog.label}扣分标准（{state}），{len(data['items'])} 项")
    for item in data["items"]:
        caps = "／".join(
            filter(
                None, [item["cap"] and f"单项≤{item['cap']}", item["category_cap"] and f"类别≤{item['category_cap']}"]
            )
        )
        click.echo(
            f"  {item['code']:<5} {item['category']:<4} 每{item['unit']}扣 {item['points']:<4} {caps:<16} {item['text']}"
        )


@inspections.command("scores")
@click.argument("year", type=int)
@click.argument("period", type=click.Choice(["Q1", "Q2", "Q3", "Q4", "H1", "H2", "Y"]))
@click.option("--scope", default="city", show_default=True, help="city 或 town:乡镇代码")
@click.option("--json", "as_json", is_flag=True)
def scores_cmd(year, period, scope, as_json):
    """各路长的月度、期间得分与等级（扣分制，一月一督查）。"""
    from roadchief.services.chief_scores import assess

    try:
        rows = assess(scope, year, period).rows()
    except (ServiceError, ValueError) as error:
        fail(ServiceError(str(error)))
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        gaps = f"  未督查月份：{'、'.join(row['gaps'])}" if row["gaps"] else ""
        click.echo(
            f"{row['rank'] or '-':>3} {row['level_name']:<6} {row['unit_name']:<10} {row['chief']:<5} "
            f"{row['score'] or '无得分':>6} {row['grade'] or ''}{gaps}"
        )


@inspections.command("bulletin")
@click.argument("year", type=int)
@click.argument("quarter", type=click.IntRange(1, 4))
@click.option("--scope", default="city", show_default=True, help="city 或 town:乡镇代码")
@click.option("--json", "as_json", is_flag=True)
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="输出 PDF 文件")
@click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path), help="输出 XLSX 文件")
def bulletin_cmd(year, quarter, scope, as_json, pdf, xlsx):
    """季度考核通报（一季度一通报，第二十一条）。"""
    from roadchief.reports import bulletin_pdf
    from roadchief.services.assessment import bulletin

    try:
        data = bulletin(scope, year, quarter)
    except ServiceError as error:
        fail(error)
    if pdf:
        pdf.write_bytes(bulletin_pdf.bulletin_pdf(data))
        click.echo(f"已生成 PDF：{pdf}", err=True)
    if xlsx:
        xlsx.write_bytes(bulletin_pdf.bulletin_xlsx(data))
        click.echo(f"已生成 XLSX：{xlsx}", err=True)
    if as_json:
        echo_json(data)
    elif not (pdf or xlsx):
        overview = data["overview"]
        click.echo(f"{data['title']}（{data['issuer']}）")
        click.echo(
            f"督查 {overview['inspections']} 次，路段 {overview['segments']} 个 {overview['km']} km，问题 {overview['findings']} 处"
        )
        for level in data["levels"]:
            click.echo(f"{level['name']}：")
            for row in level["rows"]:
                click.echo(
                    f"  {row['rank'] or '-':>3} {row['unit_name']:<10} {row['chief']:<5} {row['score'] or '无得分':>6} {row['grade'] or ''}"
                )


@inspections.command("finalise")
@click.argument("year", type=int)
@click.argument("quarter", type=click.IntRange(1, 4))
@click.option("--scope", default="all", show_default=True, help="all、city 或 town:乡镇代码")
def finalise_cmd(year, quarter, scope):
    """季度考核定稿：得分写入经费模块（替换导入的得分），冻结本季度督查记录。"""
    from roadchief.services.assessment import finalise_quarter

    try:
        report = finalise_quarter(_scopes(scope), year, quarter)
    except ServiceError as error:
        fail(error)
    for key, part in report.items():
        click.echo(
            f"{key}：写入 {len(part['written'])} 个单位得分，冻结督查 {part['frozen']} 次（第 {part['revision']} 次定稿）"
            + (
                f"；无督查得分的单位 {len(part['unscored'])} 个：{'、'.join(part['unscored'])}"
                if part["unscored"]
                else ""
            )
        )
