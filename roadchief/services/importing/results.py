"""What an import tells its caller: row errors, length warnings, the report, progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from roadchief.domain.mileage import MileageDiff
from roadchief.services import ServiceError

Progress = Callable[[int, int, str], None]

# RowError labels that name no column of the file
GEOMETRY_LABEL = "几何"
FILE_LABEL = "文件"
MAPPING_LABEL = "映射"
STAKES_LABEL = "桩号"

LENGTH_TOLERANCE = Decimal("0.05")  # 列养里程 against the measured line: a LengthWarning beyond 5%


@dataclass
class RowError:
    row: int  # 1-based data row as the office counts them; 0 = the file as a whole
    field: str  # column label, e.g. 起点桩号
    reason: str

    def __str__(self) -> str:
        if self.row <= 0:
            return f"[{self.field}]：{self.reason}"
        return f"第 {self.row} 行 [{self.field}]：{self.reason}"


@dataclass
class LengthWarning:
    row: int
    road_code: str
    stakes: str
    listed_km: Decimal
    measured_km: Decimal
    deviation: Decimal  # |measured − listed| / listed, e.g. Decimal("0.2500")

    def __str__(self) -> str:
        return (
            f"第 {self.row} 行 {self.road_code} {self.stakes}：列养 {self.listed_km} km，"
            f"实测 {self.measured_km} km，偏差 {_percent(self.deviation)}"
        )


@dataclass
class ImportReport:
    path: str
    rows: int
    created: int
    updated: int
    unchanged: int
    roads_created: int
    length_warnings: list[LengthWarning]
    dry_run: bool
    mileage_version: str
    roads_updated: int = 0
    villages_created: list[str] = field(default_factory=list)
    mileage_written: int = 0  # SegmentMileage rows created, changed or removed
    mileage_base: str | None = None  # the version the difference is against (None: no version before)
    mileage_diff: MileageDiff | None = None
    mileage_lines: list[str] = field(default_factory=list)
    mileage_frozen: str | None = None  # the version was left alone, and why
    needs_confirmation: bool = False  # a preview: re-run with --yes to write
    complete: bool = False

    @property
    def written(self) -> bool:
        return not (self.dry_run or self.needs_confirmation)

    def summary(self) -> str:
        head = f"导入文件：{Path(self.path).name}"
        if self.dry_run:
            head += "（试导入，未写入任何数据）"
        elif self.needs_confirmation:
            head += "（预览，未写入任何数据）"
        written = "写入" if self.written else "将写入"
        version_line = f"列养里程版本：{self.mileage_version}（{written} {self.mileage_written} 条）"
        if self.mileage_frozen:
            version_line = f"列养里程版本：{self.mileage_version}（未改动）"
        lines = [
            head,
            f"数据行：{self.rows}",
            f"路段：新增 {self.created}，更新 {self.updated}，未变 {self.unchanged}",
            f"路线：新增 {self.roads_created}，更新 {self.roads_updated}",
            version_line,
        ]
        if self.mileage_lines:
            against = f"对比 {self.mileage_base}" if self.mileage_base else "此前没有列养里程版本"
            scope = "，文件为完整路网" if self.complete else ""
            lines.append(f"列养里程差异（{against}{scope}）：")
            lines.extend(f"  {line}" for line in self.mileage_lines)
        if self.mileage_frozen:
            lines.append(self.mileage_frozen)
        if self.villages_created:
            shown = "、".join(self.villages_created[:20])
            more = f" 等 {len(self.villages_created)} 个" if len(self.villages_created) > 20 else ""
            lines.append(f"新建行政村：{shown}{more}")
        if self.length_warnings:
            lines.append(f"列养里程与实测长度相差超过 {_percent(LENGTH_TOLERANCE)}：{len(self.length_warnings)} 处")
            lines.extend(f"  {warning}" for warning in self.length_warnings)
        else:
            lines.append(f"列养里程与实测长度均在 {_percent(LENGTH_TOLERANCE)} 以内")
        if self.needs_confirmation:
            lines.append("未写入：登记簿已有路网，请核对以上差异，确认无误后加 --yes 重新运行")
        return "\n".join(lines)


class ImportFailed(ServiceError):
    """Nothing was written; ``errors`` lists every RowError found."""

    def __init__(self, message: str, errors: list[RowError] | None = None):
        super().__init__(message, errors)


def _percent(fraction: Decimal) -> str:
    return f"{(fraction * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"


def file_error(reason: str, field_label: str = FILE_LABEL) -> ImportFailed:
    return ImportFailed(f"导入失败：{reason}", [RowError(0, field_label, reason)])


class Ticker:
    """Calls progress about every 2% of rows (and at the end), not on every row."""

    def __init__(self, progress: Progress | None, total: int, label: str):
        self.progress, self.total, self.label = progress, total, label
        self.step = max(1, total // 50)

    def tick(self, done: int) -> None:
        if self.progress is not None and (done % self.step == 0 or done == self.total):
            self.progress(done, self.total, self.label)
