"""`roadchief backup FILE` and `roadchief restore FILE` (database rows and photos, one archive)."""

from __future__ import annotations

from pathlib import Path

import click

from roadchief.cli.common import echo_json, fail
from roadchief.services import ServiceError

CHECKSUM_LABELS = {
    "ledger_entry.amount_fen": "专户分录金额合计（分）",
    "quarter_score.score_centi": "季度得分合计（百分之一分）",
}


def _summary_lines(summary: dict):
    yield (
        f"数据库：{summary['dialect']}，结构版本 {summary['schema_revision']}，"
        f"备份时间 {summary['created_at']}（UTC），格式版本 {summary['format_version']}"
    )
    for name, count in summary["tables"].items():
        yield f"  {name:<20} {count:>10} 行"
    yield f"  {'合计':<18} {summary['rows_total']:>10} 行"
    for name, value in summary["checksums"].items():
        yield f"{CHECKSUM_LABELS.get(name, name)}：{value}"
    yield f"照片：{summary['photos']} 个文件，{summary['photo_bytes']} 字节"


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="覆盖已存在的备份文件")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出备份清单")
def backup_cmd(file: Path, overwrite: bool, as_json: bool):
    """备份数据库与照片到一个 .tar.gz 文件（含清单：行数、金额校验和）。"""
    from roadchief.services.backup import create_backup, summary

    try:
        manifest = create_backup(file, overwrite=overwrite)
    except ServiceError as error:
        fail(error)
    if as_json:
        echo_json(summary(manifest))
        return
    click.echo(f"已备份到 {file}（{file.stat().st_size} 字节）")
    click.echo("\n".join(_summary_lines(summary(manifest))))


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--dry-run", is_flag=True, help="只检查备份文件和目标库并试装载，然后撤销，不复制照片")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出核对结果")
def restore_cmd(file: Path, dry_run: bool, as_json: bool):
    """从备份恢复到空数据库，并核对行数、内容摘要与金额校验和。

    目标库须为空（新建后 init-db 即可；不要先运行 serve，它会在空库中载入演示数据）。
    旧版本 roadchief 制作的备份先按其结构版本恢复，再迁移到最新版本。"""
    from roadchief.services.backup_restore import restore_backup

    try:
        report = restore_backup(file, dry_run=dry_run)
    except ServiceError as error:
        fail(error)
    if as_json:
        echo_json(report)
        return
    click.echo(("试恢复（已撤销）" if dry_run else "已恢复") + f"：{file}")
    click.echo("\n".join(_summary_lines(report["manifest"])))
    click.echo("核对：")
    for name, row in report["tables"].items():
        mark = "✓" if row["expected"] == row["restored"] else "✗"
        click.echo(f"  {mark} {name:<20} 清单 {row['expected']:>10}  恢复 {row['restored']:>10}")
    for name, row in report["checksums"].items():
        mark = "✓" if row["expected"] == row["restored"] else "✗"
        click.echo(f"  {mark} {CHECKSUM_LABELS.get(name, name)}：清单 {row['expected']}  恢复 {row['restored']}")
    if report["upgraded_from"]:
        click.echo(f"数据库结构已从备份时的版本 {report['upgraded_from']} 迁移到最新版本")
    photos = report["photos"]
    click.echo(
        f"照片：复制 {photos['restored']} 个（{photos['bytes']} 字节），已存在且相同 {photos['already_present']} 个"
    )
