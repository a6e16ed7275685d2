"""Register verbs of the `roadchief` command: the network summary, coverage, mileage snapshots and the
road and roster imports."""

from __future__ import annotations

from pathlib import Path

import click

from roadchief.cli.common import echo_json, fail, progress
from roadchief.services import ServiceError


@click.group("network")
def network():
    """路网登记簿。"""


@network.command("summary")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出（里程为三位小数的字符串）")
def network_summary_cmd(as_json: bool):
    """按行政等级、乡镇汇总列养里程。"""
    from roadchief.services.network import format_summary, network_summary

    summary = network_summary()
    echo_json(summary) if as_json else click.echo(format_summary(summary))


@network.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format", "fmt", type=click.Choice(["gpkg", "shp", "geojson", "xlsx"]), default=None, help="默认按扩展名判断"
)
def network_export_cmd(path: Path, fmt: str | None):
    """把整个路网登记簿无损导出为 GeoPackage / Shapefile（.shp，或 .zip 压缩）/ GeoJSON / XLSX，可用 import-roads 导回。"""
    from roadchief.services.network_export import export_network

    try:
        count = export_network(path, fmt)
    except ServiceError as error:
        fail(error)
    click.echo(f"已导出 {count} 个路段到 {path}")


@network.command("coverage")
@click.option("--date", "day", default=None, help="日期 YYYY-MM-DD（默认今天）")
def network_coverage_cmd(day: str | None):
    """列出缺少所需路长的路段（第八条）。"""
    from datetime import date

    from roadchief.domain.stakes import format_stake
    from roadchief.services.chiefs import coverage_gaps

    gaps = coverage_gaps(date.fromisoformat(day) if day else None)
    for gap in gaps:
        s = gap.segment
        click.echo(
            f"{s.road.code} {format_stake(s.start_m)}–{format_stake(s.end_m)} {s.town.name} 缺：{'、'.join(gap.missing_names)}"
        )
    click.echo(f"共 {len(gaps)} 段缺少路长")


@network.command("snapshot-mileage")
@click.argument("effective")
@click.option("--name", default=None, help="版本名称")
@click.option("--yes", is_flag=True, help="确认写入（不加时只显示与上一版本的差异）")
def snapshot_mileage_cmd(effective: str, name: str | None, yes: bool):
    """把当前登记簿的列养里程（含行政等级与所属单位）保存为自 EFFECTIVE（YYYY-MM-DD）起生效的新版本（第十五条 每两年调整）。"""
    from datetime import date

    from roadchief.services.network import snapshot_mileage

    try:
        day = date.fromisoformat(effective)
    except ValueError:
        fail(ServiceError(f"日期格式应为 YYYY-MM-DD：{effective!r}"))
    try:
        result = snapshot_mileage(day, name, dry_run=not yes)
    except ServiceError as error:
        fail(error)
    against = f"对比 {result.base}" if result.base else "此前没有列养里程版本"
    click.echo(f"列养里程版本“{result.name}”（{result.effective_from.isoformat()} 起，{result.count} 个路段）")
    click.echo(f"列养里程差异（{against}）：")
    for line in result.lines:
        click.echo(f"  {line}")
    if yes:
        click.echo(f"已保存列养里程版本“{result.name}”（{result.count} 个路段）")
    else:
        click.echo("未写入：请核对以上差异，确认无误后加 --yes 重新运行")


@click.command("import-roads")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="列名映射 JSON 文件")
@click.option("--dry-run", is_flag=True, help="只校验，不写入")
@click.option("--effective", default=None, help="列养里程版本生效日期 YYYY-MM-DD（不加时并入最新版本）")
@click.option("--complete", is_flag=True, help="文件是完整路网：文件中没有的路段移出列养里程版本（仍留在登记簿）")
@click.option("--yes", is_flag=True, help="确认写入（登记簿已有路网时，不加只显示差异、不写入）")
@click.option("--create-villages", is_flag=True, help="自动新建数据中出现的未知村")
@click.option("--encoding", default=None, help="强制属性编码（如 GBK）")
def import_roads_cmd(
    path: Path,
    mapping: Path | None,
    dry_run: bool,
    effective: str | None,
    complete: bool,
    yes: bool,
    create_villages: bool,
    encoding: str | None,
):
    """导入路网（GeoJSON / Shapefile(.shp/.zip) / GeoPackage）。出错时逐行报告并不写入任何数据。

    列养里程版本总是完整的：部分文件并入上一版本（文件中没有的路段保持原值），--complete 表示文件即完整路网。
    登记簿已有路网时先显示差异，加 --yes 才写入；首次导入空登记簿无需 --yes。"""
    from datetime import date

    from roadchief.services.admin_units import ensure_admin_units
    from roadchief.services.road_import import import_roads, load_mapping

    try:
        ensure_admin_units()
        columns = load_mapping(mapping) if mapping else None
        report = import_roads(
            path,
            mapping=columns,
            dry_run=dry_run,
            create_villages=create_villages,
            encoding=encoding,
            effective=date.fromisoformat(effective) if effective else None,
            progress=progress,
            complete=complete,
            confirm=yes,
        )
    except ServiceError as error:
        fail(error)
    except ValueError as error:
        fail(ServiceError(str(error)))
    click.echo(report.summary())


@click.command("import-roster")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_roster_cmd(path: Path):
    """导入路长名册 CSV（chief_code,name,position,title,phone,scope_kind,scope_code,start_date,end_date）。"""
    from roadchief.services.roster import import_roster

    try:
        echo_json(import_roster(path))
    except ServiceError as error:
        fail(error)
