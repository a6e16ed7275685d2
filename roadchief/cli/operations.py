"""Operations verbs of the `roadchief` command: road assets import, 一路一档 PDF,
seasonal duty gaps and per-town event times."""

from __future__ import annotations

from pathlib import Path

import click

from roadchief.cli.common import echo_json, fail
from roadchief.domain import clock
from roadchief.services import ServiceError


class _CityUser:
    """The CLI runs as the city office (sees everything)."""

    role = "city_office"
    town_id = None
    chief_id = None
    id = None


@click.group("ops")
def ops():
    """运行管理：路产导入、一路一档、汛期冬季履职缺失、突发事件时效。"""


@ops.command("import-assets")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
@click.option("--encoding", default=None, help="属性表文字编码（如 GBK）")
def import_assets_cmd(path, dry_run, encoding):
    """从 GeoJSON / Shapefile（.shp 或 .zip）导入路产：全部成功或全部不写入。"""
    from roadchief.services.assets import import_assets

    try:
        report = import_assets(path, dry_run=dry_run, encoding=encoding)
    except ServiceError as error:
        fail(error)
    click.echo(report.summary())


@ops.command("road-file")
@click.argument("code")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="PDF 文件（省略则输出 JSON）")
def road_file_cmd(code, output):
    """一路一档：某条路线的档案（PDF 或 JSON）。"""
    from sqlalchemy import select

    from roadchief.extensions import db
    from roadchief.models import Road
    from roadchief.services.road_file import road_file

    road = db.session.scalar(select(Road).where(Road.code == code.strip().upper()))
    if road is None:
        fail(ServiceError(f"路线 {code} 不存在"))
    data = road_file(road)
    if output:
        from roadchief.reports.road_file_pdf import road_file_pdf

        output.write_bytes(road_file_pdf(data))
        click.echo(f"已生成 {output}")
    else:
        echo_json(data)


@ops.command("duty-gaps")
@click.argument("year", type=int)
@click.option("--json", "as_json", is_flag=True)
def duty_gaps_cmd(year, as_json):
    """某年度各汛期、冬季时段中缺少的巡查记录（已结束的周期）。"""
    from roadchief.services import seasonal

    out = []
    for window in seasonal.windows(year):
        for gap in seasonal.duty_gaps(_CityUser(), window):
            out.append(
                {
                    "window": f"{window.kind_label} {window.start_date}–{window.end_date}",
                    "period": [gap.period[0].isoformat(), gap.period[1].isoformat()],
                    "segment_id": gap.segment.id,
                    "road_code": gap.segment.road.code,
                    "missing": gap.missing,
                    "chief": gap.chief_name,
                    "deduction": gap.deduction_code,
                }
            )
    if as_json:
        echo_json(out)
        return
    for row in out:
        click.echo(
            f"{row['window']} {row['period'][0]}–{row['period'][1]} {row['road_code']}#{row['segment_id']} "
            f"缺 {'、'.join(row['missing'])} {row['chief']} {row['deduction']}"
        )
    click.echo(f"共 {len(out)} 处")


@ops.command("plan-report")
@click.argument("year", type=click.IntRange(2000, 2100))
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), help="写出 PDF 文件")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False, path_type=Path), help="写出 XLSX 文件")
def plan_report_cmd(year, pdf_path, xlsx_path):
    """年度养护计划完成情况（按乡镇：预算、支出、计划与完成数量、完成率、合计）。"""
    from roadchief.reports.works_plan_report import plan_pdf, plan_xlsx, title
    from roadchief.services.works_plan import plan_report

    report = plan_report(_CityUser(), year)
    generated = clock.beijing_now().strftime(clock.MINUTE)
    if pdf_path:
        pdf_path.write_bytes(plan_pdf(report, generated))
        click.echo(f"已生成 {pdf_path}")
    if xlsx_path:
        xlsx_path.write_bytes(plan_xlsx(report, generated))
        click.echo(f"已生成 {xlsx_path}")
    if pdf_path or xlsx_path:
        return
    click.echo(title(year))
    for t in report["towns"] + [report["total"]]:
        click.echo(
            f"{t.town}\t项目 {t.items}\t已完成 {t.done_items}\t完成率 {t.completion}\t"
            f"计划 {t.planned_text}\t完成 {t.done_text}\t预算 {t.budget} 元\t已支出 {t.spent} 元"
        )
