"""Funding verbs of the `roadchief` command (plan, quarter, close, settle, scores, params)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import click

from roadchief.cli.common import echo_json, fail
from roadchief.services import ServiceError


def _write_outputs(data: dict, kind: str, pdf: Path | None, xlsx: Path | None) -> None:
    from roadchief.reports import funding_pdf, funding_xlsx

    if pdf:
        pdf.write_bytes(getattr(funding_pdf, f"{kind}_pdf")(data))
        click.echo(f"已生成 PDF：{pdf}", err=True)
    if xlsx:
        xlsx.write_bytes(getattr(funding_xlsx, f"{kind}_xlsx")(data))
        click.echo(f"已生成 XLSX：{xlsx}", err=True)


def _show(data: dict, as_json: bool, text_lines) -> None:
    echo_json(data) if as_json else click.echo("\n".join(text_lines(data)))


output_options = [
    click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（金额为两位小数的字符串）"),
    click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="输出 PDF 文件"),
    click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path), help="输出 XLSX 文件"),
]


def with_outputs(command):
    for option in reversed(output_options):
        command = option(command)
    return command


@click.group("funding")
def funding():
    """路长养护经费：年度计划、季度拨付、年终结算（第十五条–第二十四条）。"""


def _plan_lines(plan):
    yield f"{plan['year']} 年度养护经费计划（列养里程版本：{plan['mileage_version']['name']}）"
    yield f"镇道 {plan['listed_km']['镇道']} km，村道 {plan['listed_km']['村道']} km，合计 {plan['listed_km']['total']} km"
    for town in plan["towns"]:
        yield f"  {town['name']:<6} 标准 {town['standard']:>14}  地方配套 {town['local']:>14}"
    yield f"标准金额合计 {plan['standard_total']} 元；地方配套合计 {plan['local_total']} 元"


@funding.command("plan")
@click.argument("year", type=int)
@with_outputs
def plan_cmd(year, as_json, pdf, xlsx):
    """年度养护经费计划。"""
    from roadchief.services.funding_plan import annual_plan

    try:
        plan = annual_plan(year)
    except ServiceError as error:
        fail(error)
    _write_outputs(plan, "plan", pdf, xlsx)
    _show(plan, as_json, _plan_lines)


def _quarter_lines(report):
    state = "已审定" if report["status"] == "closed" else ("草稿，含待考核单位" if report["provisional"] else "草稿")
    yield f"{report['year']} 年第 {report['quarter']} 季度拨付（{state}）"
    for unit in report["units"]:
        name = unit["town"] + (f"/{unit['village']}" if unit["village"] else "")
        yield (
            f"  {name:<14} 基数 {unit['quarter_base']:>11} 得分 {unit['score'] or '—':>6} "
            f"扣减 {unit['deduction']:>10} 实拨 {unit['payable']:>11} {unit['note']}"
        )
    yield f"本季度基数 {report['budget']}，实拨 {report['payable_total']}，扣减入池 {report['pool']}，待考核暂缓 {report['withheld_total']}"


@funding.command("quarter")
@click.argument("year", type=int)
@click.argument("quarter", type=int)
@with_outputs
def quarter_cmd(year, quarter, as_json, pdf, xlsx):
    """季度拨付表（未审定季度为草稿，无得分单位标“待考核”）。"""
    from roadchief.services.funding_quarter import quarter_report

    try:
        report = quarter_report(year, quarter)
    except ServiceError as error:
        fail(error)
    _write_outputs(report, "quarter", pdf, xlsx)
    _show(report, as_json, _quarter_lines)


@funding.command("close")
@click.argument("year", type=int)
@click.argument("quarter", type=int)
def close_cmd(year, quarter):
    """审定季度拨付：冻结拨付表并记账（第十七条）。"""
    from roadchief.services.funding_quarter import close_quarter

    try:
        report = close_quarter(year, quarter)
    except ServiceError as error:
        fail(error)
    click.echo(f"已审定 {year} 年第 {quarter} 季度：实拨 {report['payable_total']} 元，扣减入池 {report['pool']} 元")


@funding.command("adjust", context_settings={"ignore_unknown_options": True})  # so "-50.25" is the amount
@click.argument("year", type=int)
@click.argument("quarter", type=int)
@click.argument("unit_key")
@click.argument("amount")
@click.option("--note", required=True, help="调整原因")
def adjust_cmd(year, quarter, unit_key, amount, note):
    """为已审定季度登记调整分录（正数补拨，负数扣回）。"""
    from roadchief.services.funding_quarter import add_adjustment

    try:
        entry = add_adjustment(year, quarter, unit_key, Decimal(amount), note)
    except InvalidOperation:
        fail(ServiceError(f"金额不正确：{amount!r}"))
    except ServiceError as error:
        fail(error)
    click.echo(f"已登记调整分录 #{entry.id}")


def _settle_lines(result):
    yield f"{result['year']} 年年终考评与以奖代补{'（已结算）' if result['settled'] else '（试算）'}"
    for unit in result["units"]:
        name = unit["town"] + (f"/{unit['village']}" if unit["village"] else "")
        yield f"  {unit['rank'] or '—':>3} {name:<14} 年度 {unit['annual_score'] or '—':>6} {unit['grade'] or '—':<2} 奖补 {unit['reward']:>10}"
    yield (
        f"上年结转 {result['pool_carried_in']} + 本年扣减 {result['pool_deductions']} = 资金池 {result['pool_total']}；"
        f"奖补 {result['rewards_total']}，结转下年 {result['carried_out']}"
    )


@funding.command("settle")
@click.argument("year", type=int)
@click.option("--approve", is_flag=True, help="四个季度均已审定时，记入奖补与结转")
@with_outputs
def settle_cmd(year, approve, as_json, pdf, xlsx):
    """年终考评结算与以奖代补（第二十三条、第二十四条）。"""
    from roadchief.services.settlement import approve_settlement, settlement

    try:
        result = approve_settlement(year) if approve else settlement(year)
    except ServiceError as error:
        fail(error)
    _write_outputs(result, "settlement", pdf, xlsx)
    _show(result, as_json, _settle_lines)


@funding.command("ledger")
@click.argument("year", type=int)
def ledger_cmd(year):
    """专户台账（只增不改）。"""
    from roadchief.services.funding_ledger import ledger

    echo_json(ledger(year))


@funding.command("params")
@click.argument("year", type=int)
@click.option(
    "--set",
    "assignments",
    multiple=True,
    help="如 local_share=0.65、deduction_k=1.5、rates.镇道=5200、rate_reasons.市道=理由",
)
def params_cmd(year, assignments):
    """查看或修改某年度经费参数（有季度审定后不可修改）。"""
    from roadchief.services.funding_params import params_for, set_params

    if not assignments:
        echo_json(params_for(year).to_dict())
        return
    changes: dict = {}
    current = params_for(year).to_dict()
    for item in assignments:
        name, _, value = item.partition("=")
        if name.startswith("rates."):
            changes.setdefault("rates", dict(current["rates"]))[name[6:]] = value
        elif name.startswith("rate_reasons."):
            changes.setdefault("rate_reasons", dict(current.get("rate_reasons", {})))[name[13:]] = value
        else:
            changes[name] = value
    try:
        echo_json(set_params(year, changes).to_dict())
    except ServiceError as error:
        fail(error)


@click.group("scores")
def scores():
    """季度考核得分。"""


@scores.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="覆盖已有的同期得分")
def scores_import_cmd(path, replace):
    """导入得分（.csv/.xlsx：年度、季度、得分，以及 乡镇[、村]、公路站 或 路长编号；英文列名亦可）。"""
    from roadchief.services.scores import ScoreImportFailed, import_scores

    try:
        result = import_scores(path, replace=replace)
    except ScoreImportFailed as error:
        if error.needs_replace:
            click.echo("提示：如需覆盖已有得分，请加 --replace", err=True)
        fail(error)
    except ServiceError as error:
        fail(error)
    blank = f"；{result['blank']} 行未填得分，未导入" if result["blank"] else ""
    click.echo(f"已导入 {result['rows']} 行：新增 {result['created']}，覆盖 {result['replaced']}{blank}")


@scores.command("template")
@click.argument("year", type=int)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--quarter", type=click.IntRange(1, 4), default=None, help="只列一个季度（默认四个季度）")
def scores_template_cmd(year, path, quarter):
    """写出得分填报模板（XLSX）：该年度考核的各单位（乡镇、村、公路站），得分留空。"""
    from roadchief.services.funding_params import check_period
    from roadchief.services.score_sheets import template_xlsx

    try:
        check_period(year, quarter or 1)
        path.write_bytes(template_xlsx(year, quarter))
    except ServiceError as error:
        fail(error)
    click.echo(f"已写出 {path}")
