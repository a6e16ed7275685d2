"""Operations verbs of the `roadchief` command: road assets import, 一路一档 PDF,
seasonal duty gaps and per-town event times."""
from __future__ import annotations

from pathlib import Path

import click

from roadchief.cli import echo_json, fail, main
from roadchief.services import ServiceError


class _CityUser:
    """The CLI runs as the city office (sees everything)."""
    role = "city_office"
    town_id = None
    chief_id = None
    id = None


@main.group("ops")
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
            out.append({"window": f"{window.kind_label} {window.start_date}–{window.end_date}",
                        "period": [gap.period[0].isoformat(), gap.period[1].isoformat()],
                        "segment_id": gap.segment.id, "road_code": gap.segment.road.code, "missing": gap.missing,
                        "chief": gap.chief_name, "deduction": gap.deduction_code})
    if as_json:
        echo_json(out)
        return
    for row in out:
        click.echo(f"{row['window']} {row['period'][0]}–{row['period'][1]} {row['road_code']}#{row['segment_id']} "
                   f"缺 {'、'.join(row['missing'])} {row['chief']} {row['deduction']}")
    click.echo(f"共 {len(out)} 处")
