"""Road rows: each record read and checked against the register, then checks across rows (one road, stakes, lengths)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from roadchief.domain.county import COUNTY_BBOX, COUNTY_NAME, outside_bbox, stake_unit_mismatch
from roadchief.domain.lengths import exceeds_tolerance, length_deviation
from roadchief.domain.roads import (
    class_from_code,
    normalize_class,
    normalize_surface,
    normalize_tech_grade,
    validate_road_code,
)
from roadchief.domain.stakes import find_overlaps, format_stake
from roadchief.models import Segment, Station, Town, Village
from roadchief.services.importing.cells import (
    cell_text,
    optional,
    parse_is_listed,
    parse_listed_km,
    parse_road_name,
    parse_stake_cell,
    parse_stake_metres,
    parse_width_dm,
)
from roadchief.services.importing.columns import FIELDS, is_metre_column
from roadchief.services.importing.geometry import Shape, road_shapes
from roadchief.services.importing.register import NewVillage, Register
from roadchief.services.importing.results import (
    GEOMETRY_LABEL,
    LENGTH_TOLERANCE,
    STAKES_LABEL,
    ImportFailed,
    LengthWarning,
    Progress,
    RowError,
    Ticker,
)


@dataclass
class Row:
    row: int
    road_code: str
    road_name: str | None
    road_class: str
    start_m: int
    end_m: int
    listed_km: Decimal
    is_listed: bool
    tech_grade: str | None
    surface: str | None
    width_dm: int | None
    town: Town
    village: Village | NewVillage | None
    station: Station | None
    shape: Shape

    @property
    def listed_m(self) -> int:
        return int(self.listed_km * 1000)

    @property
    def stakes(self) -> str:
        return f"{format_stake(self.start_m)}—{format_stake(self.end_m)}"


_INVALID = object()


def _road_code(value: Any) -> str:
    return validate_road_code(cell_text(value) or "")


def _shape_or_raise(shaped: Shape | ValueError) -> Shape:
    if isinstance(shaped, ValueError):
        raise shaped
    return shaped


class _RowReader:
    """Turns one record into a Row, recording every problem instead of stopping at the first."""

    def __init__(
        self,
        register: Register,
        columns: dict[str, str],
        errors: list[RowError],
        bbox: tuple[float, float, float, float] = COUNTY_BBOX,
    ):
        self.register = register
        self.columns = columns
        self.errors = errors
        self.bbox = bbox
        self._column_of: dict[str, str | None] = {name: columns.get(name) for name in FIELDS}
        self._memo: dict[str, dict[tuple, tuple[bool, Any]]] = {name: {} for name in FIELDS}
        self._stake_parsers = (self._stake_parser("start_stake"), self._stake_parser("end_stake"))

    def _stake_parser(self, name: str) -> Callable[[Any], int]:
        return parse_stake_metres if is_metre_column(self.columns.get(name)) else parse_stake_cell

    def _in_county(self, row: int, shape: Any) -> None:
        if shape is _INVALID:
            return
        bounds = (shape.min_lon, shape.min_lat, shape.max_lon, shape.max_lat)
        if outside_bbox(bounds, self.bbox):
            box = "，".join(f"{b:g}" for b in self.bbox)
            self.errors.append(
                RowError(
                    row,
                    GEOMETRY_LABEL,
                    f"几何超出{COUNTY_NAME}范围（经纬度 {box}）：范围 {bounds[0]:.5f},{bounds[1]:.5f}—"
                    f"{bounds[2]:.5f},{bounds[3]:.5f}，请检查坐标系或文件是否选错",
                )
            )

    def _cell(self, record: dict, name: str) -> Any:
        column = self.columns.get(name)
        return None if column is None else record.get(column)

    def _parse(self, row: int, label: str, parse: Callable[..., Any], *args: Any) -> Any:
        try:
            return parse(*args)
        except (ValueError, TypeError) as exc:  # StakeError is a ValueError
            self.errors.append(RowError(row, label, str(exc)))
            return _INVALID

    def _field(self, row: int, record: dict, name: str, parse: Callable[..., Any], *context: Any) -> Any:
        """A cell parsed, or _INVALID with its error recorded. Values repeat down a file (a town,
        a class, the stake where one segment ends and the next begins), so each distinct value
        (with ``context``, given to ``parse`` first) is parsed once: the parsers are pure
        functions of their arguments (the register's lookups too), so a value's result or
        message is the same on every row."""
        value = record.get(self._column_of[name])  # a column not in the file is None: no key is None
        memo = self._memo[name]
        # 1, 1.0 and True are equal keys but may not parse alike; NaN is not equal to itself.
        key = (value.__class__, "NaN" if value.__class__ is float and value != value else value, *context)
        try:
            outcome = memo.get(key)
        except TypeError:  # an unhashable cell
            return self._parse(row, FIELDS[name].label, parse, *context, value)
        if outcome is None:
            try:
                outcome = (True, parse(*context, value))
            except (ValueError, TypeError) as exc:  # StakeError is a ValueError
                outcome = (False, str(exc))
            memo[key] = outcome
        ok, result = outcome
        if ok:
            return result
        self.errors.append(RowError(row, FIELDS[name].label, result))
        return _INVALID

    def read(self, row: int, record: dict, shaped: Shape | ValueError) -> Row | None:
        """``shaped`` is road_shape's result for the row's geometry (road_shapes, all rows at once)."""
        before = len(self.errors)
        shape = self._parse(row, GEOMETRY_LABEL, _shape_or_raise, shaped)
        self._in_county(row, shape)
        code = self._field(row, record, "road_code", _road_code)
        road_name = self._field(row, record, "road_name", parse_road_name)
        road_class = self._road_class(row, record, code)
        # A segment's end stake is the next one's start: stakes repeat down the file too.
        start_m = self._field(row, record, "start_stake", self._stake_parsers[0])
        end_m = self._field(row, record, "end_stake", self._stake_parsers[1])
        if start_m is not _INVALID and end_m is not _INVALID and end_m <= start_m:
            self.errors.append(
                RowError(
                    row,
                    FIELDS["end_stake"].label,
                    f"止点桩号须大于起点桩号：{format_stake(start_m)} — {format_stake(end_m)}",
                )
            )
        values = {
            "listed_km": self._field(row, record, "listed_km", parse_listed_km),
            "is_listed": self._field(row, record, "is_listed", parse_is_listed),
            "tech_grade": self._field(row, record, "tech_grade", optional(normalize_tech_grade)),
            "surface": self._field(row, record, "surface", optional(normalize_surface)),
            "width_dm": self._field(row, record, "width", parse_width_dm),
            "station": self._field(row, record, "station", self.register.station),
        }
        self._stake_units(row, start_m, end_m, values["listed_km"])
        town = self._field(row, record, "town", self.register.town)
        village = self._village(row, record, town, road_class)
        if len(self.errors) > before:
            return None
        return Row(
            row=row,
            road_code=code,
            road_name=road_name,
            road_class=road_class,
            start_m=start_m,
            end_m=end_m,
            town=town,
            village=village,
            shape=shape,
            **values,
        )

    def _stake_units(self, row: int, start_m: Any, end_m: Any, listed_km: Any) -> None:
        if _INVALID in (start_m, end_m, listed_km) or end_m <= start_m:
            return
        reason = stake_unit_mismatch(end_m - start_m, int(listed_km * 1000))
        if reason:
            self.errors.append(RowError(row, FIELDS["end_stake"].label, reason))

    def _road_class(self, row: int, record: dict, code: Any) -> Any:
        # Without a class the code's prefix decides (X 市道, Y 镇道, C 村道, Z 专用公路; 第三条).
        if cell_text(self._cell(record, "road_class")) is None:
            return _INVALID if code is _INVALID else class_from_code(code)
        return self._field(row, record, "road_class", normalize_class)

    def _village(self, row: int, record: dict, town: Any, road_class: Any) -> Any:
        label = FIELDS["village"].label
        if town is _INVALID:
            return _INVALID
        village = self._field(row, record, "village", self.register.village, town)
        if village is None and road_class == "村道":
            # 第八条: every 村道 segment belongs to exactly one village, whose 村级路长 answers for it.
            self.errors.append(RowError(row, label, "村道路段须填写所属行政村（第八条：每个村道路段有且只有一个村）"))
            return _INVALID
        return village


def check_roads_consistent(rows: list[Row], errors: list[RowError]) -> None:
    """A road has one name and one class: rows of the same road must agree."""
    first: dict[str, Row] = {}
    for row in rows:
        seen = first.setdefault(row.road_code, row)
        if seen is row:
            continue
        same_road = f"与第 {seen.row} 行同一路线 {row.road_code}"
        if row.road_class != seen.road_class:
            errors.append(
                RowError(
                    row.row,
                    FIELDS["road_class"].label,
                    f"{same_road}的行政等级不一致（{seen.road_class} / {row.road_class}）",
                )
            )
        if row.road_name and seen.road_name and row.road_name != seen.road_name:
            errors.append(
                RowError(
                    row.row, FIELDS["road_name"].label, f"{same_road}的名称不一致（{seen.road_name} / {row.road_name}）"
                )
            )
        elif row.road_name and not seen.road_name:
            first[row.road_code] = row  # later rows are compared with the first named one


def check_stakes(rows: list[Row], register: Register, errors: list[RowError]) -> None:
    """Duplicates and overlapping stake ranges, within the file and against the register."""
    by_road: dict[str, list[Row]] = {}
    for row in rows:
        by_road.setdefault(row.road_code, []).append(row)
    for code, road_rows in by_road.items():
        unique: dict[tuple[int, int], Row] = {}
        for row in road_rows:
            twin = unique.setdefault((row.start_m, row.end_m), row)
            if twin is not row:
                errors.append(RowError(row.row, STAKES_LABEL, f"与第 {twin.row} 行重复：{code} {row.stakes}"))
        # A stored segment with exactly a row's stakes is that row's upsert target, not an overlap.
        stored = [s for s in register.existing_segments(code) if (s.start_m, s.end_m) not in unique]
        ranges = [(row, row.start_m, row.end_m) for row in unique.values()]
        ranges += [(segment, segment.start_m, segment.end_m) for segment in stored]
        for pair in find_overlaps(ranges):
            in_file = sorted((item for item in pair if isinstance(item, Row)), key=lambda r: r.row)
            if len(in_file) == 2:
                earlier, later = in_file
                errors.append(
                    RowError(
                        later.row,
                        STAKES_LABEL,
                        f"{code} {later.stakes} 与第 {earlier.row} 行 {earlier.stakes} 桩号重叠",
                    )
                )
            elif len(in_file) == 1:
                row = in_file[0]
                segment = next(item for item in pair if isinstance(item, Segment))
                errors.append(
                    RowError(
                        row.row,
                        STAKES_LABEL,
                        f"{code} {row.stakes} 与已登记路段 "
                        f"{format_stake(segment.start_m)}—{format_stake(segment.end_m)} 桩号重叠",
                    )
                )
            # two stored segments overlapping is the register's own problem, not this file's


def length_warnings(rows: list[Row]) -> list[LengthWarning]:
    """Segments whose 列养里程 differs from the mapped line by more than 5% (第十五条 pays on 列养里程)."""
    warnings = []
    for row in rows:
        measured = row.shape.measured_km
        if exceeds_tolerance(row.listed_km, measured, LENGTH_TOLERANCE):
            deviation = length_deviation(row.listed_km, measured).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            warnings.append(LengthWarning(row.row, row.road_code, row.stakes, row.listed_km, measured, deviation))
    return warnings


def county_bbox() -> tuple[float, float, float, float]:
    """The configured lon/lat box roads must lie in (ROADCHIEF_COUNTY_BBOX), else 青铜峡市's."""
    from flask import current_app, has_app_context

    from roadchief.domain.county import parse_bbox

    text = current_app.config.get("COUNTY_BBOX") if has_app_context() else None
    if not text:
        return COUNTY_BBOX
    return text if isinstance(text, tuple) else parse_bbox(str(text))


def read_rows(
    records: list[dict], geometries: list, columns: dict[str, str], register: Register, progress: Progress | None
) -> list[Row]:
    errors: list[RowError] = []
    reader = _RowReader(register, columns, errors, county_bbox())
    ticker = Ticker(progress, len(records), "校验")
    rows: list[Row] = []
    # The lines' map texts are only needed to write them: the writer has them written (fill_texts).
    for index, (record, shaped) in enumerate(zip(records, road_shapes(geometries, texts_later=True))):
        row = reader.read(index + 1, record, shaped)
        if row is not None:
            rows.append(row)
        ticker.tick(index + 1)
    # Cross-row checks need the register's existing segments of the roads in the file.
    register.load_network(row.road_code for row in rows)
    check_roads_consistent(rows, errors)
    check_stakes(rows, register, errors)
    if errors:
        errors.sort(key=lambda e: e.row)
        raise ImportFailed(f"导入失败：{len(errors)} 处错误，未写入任何数据", errors)
    return rows
