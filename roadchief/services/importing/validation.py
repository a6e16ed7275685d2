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
_NAN = object()  # the memo key of every NaN cell: NaN is not equal to itself
_BLANK = object()


def _road_code(value: Any) -> str:
    return validate_road_code(cell_text(value) or "")


def _class_or_blank(value: Any) -> Any:
    return _BLANK if cell_text(value) is None else normalize_class(value)


class _Refusal:
    """A cell's parse error, kept as the memo's outcome for every row with that cell."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message


def _outcome(parse: Callable[..., Any], key: Any, value: Any, in_context: bool) -> Any:
    try:
        if not in_context:
            return parse(value)
        if key[0] is _INVALID:
            return _INVALID
        return parse(key[0], value)
    except (ValueError, TypeError) as exc:  # StakeError is a ValueError
        return _Refusal(str(exc))


def _memo_keys(values: list) -> list:
    """Keys under which equal cells share one parse. Mostly the cells themselves; 1, 1.0 and
    True are equal keys that may not parse alike, so a column mixing such types keys on
    (type, cell); and every NaN shares one key."""
    kinds = set(map(type, values))
    kinds.discard(type(None))
    if len(kinds) == 1 and float in kinds:
        return [_NAN if value != value else value for value in values]
    if len(kinds) <= 1:
        return values
    return [(value.__class__, _NAN if value.__class__ is float and value != value else value) for value in values]


class _ColumnReader:
    """Reads every record into a Row a column at a time, recording every problem of every row
    instead of stopping at the first. Cells repeat down a file (a town, a class, the stake where
    one segment ends and the next begins), so each distinct cell of a column is parsed once: the
    parsers are pure functions of their arguments (the register's lookups too), so a value's
    result or message is the same on every row (issue #15: a row at a time cost seconds)."""

    def __init__(
        self,
        records: list[dict],
        register: Register,
        columns: dict[str, str],
        errors: list[RowError],
        bbox: tuple[float, float, float, float] = COUNTY_BBOX,
    ):
        self.records = records
        self.register = register
        self.columns = columns
        self.errors = errors
        self.bbox = bbox
        self.bad = [False] * len(records)  # rows with an error: they make no Row

    def _stake_parser(self, name: str) -> Callable[[Any], int]:
        return parse_stake_metres if is_metre_column(self.columns.get(name)) else parse_stake_cell

    def _error(self, index: int, label: str, message: str) -> None:
        self.errors.append(RowError(index + 1, label, message))
        self.bad[index] = True

    def _cells(self, name: str) -> list:
        column = self.columns.get(name)
        return [None] * len(self.records) if column is None else [record.get(column) for record in self.records]

    def _parsed(self, name: str, parse: Callable[..., Any], contexts: list | None = None) -> list:
        """Each row's cell of field ``name`` parsed (with its row's context, given to ``parse``
        first), or _INVALID with the row's error recorded; a row whose context is _INVALID is
        _INVALID without an error of its own."""
        values = self._cells(name)
        keys = _memo_keys(values)
        if contexts is not None:
            keys = list(zip(contexts, keys))
        try:
            # one cell per distinct key, in the order they first appear (a new village's turn)
            distinct = dict(zip(keys, values))
        except TypeError:  # an unhashable cell (a list in a GeoJSON property): rows parsed alone
            numbers = range(len(values))
            keys = list(numbers) if contexts is None else list(zip(contexts, numbers))
            distinct = dict(zip(keys, values))
        outcomes = {key: _outcome(parse, key, value, contexts is not None) for key, value in distinct.items()}
        parsed = [outcomes[key] for key in keys]
        if any(outcome.__class__ is _Refusal for outcome in outcomes.values()):
            label = FIELDS[name].label
            for index, outcome in enumerate(parsed):
                if outcome.__class__ is _Refusal:
                    self._error(index, label, outcome.message)
                    parsed[index] = _INVALID
        return parsed

    def read(self, shaped: list[Shape | ValueError], ticker: Ticker) -> list[Row]:
        """``shaped`` is road_shapes' result for the rows' geometries. A row's errors are
        recorded in the order its fields are read; sorting by row keeps that order."""
        shapes = self._shapes(shaped)
        codes = self._parsed("road_code", _road_code)
        names = self._parsed("road_name", parse_road_name)
        classes = self._road_classes(codes)
        starts = self._parsed("start_stake", self._stake_parser("start_stake"))
        ends = self._parsed("end_stake", self._stake_parser("end_stake"))
        for index, (start_m, end_m) in enumerate(zip(starts, ends)):
            if start_m is not _INVALID and end_m is not _INVALID and end_m <= start_m:
                self._error(
                    index,
                    FIELDS["end_stake"].label,
                    f"止点桩号须大于起点桩号：{format_stake(start_m)} — {format_stake(end_m)}",
                )
        listed = self._parsed("listed_km", parse_listed_km)
        is_listed = self._parsed("is_listed", parse_is_listed)
        tech_grades = self._parsed("tech_grade", optional(normalize_tech_grade))
        surfaces = self._parsed("surface", optional(normalize_surface))
        widths = self._parsed("width", parse_width_dm)
        stations = self._parsed("station", self.register.station)
        self._stake_units(starts, ends, listed)
        towns = self._parsed("town", self.register.town)
        villages = self._villages(towns, classes)
        rows: list[Row] = []
        for index in range(len(self.records)):
            ticker.tick(index + 1)
            if self.bad[index]:
                continue
            rows.append(
                Row(
                    row=index + 1,
                    road_code=codes[index],
                    road_name=names[index],
                    road_class=classes[index],
                    start_m=starts[index],
                    end_m=ends[index],
                    listed_km=listed[index],
                    is_listed=is_listed[index],
                    tech_grade=tech_grades[index],
                    surface=surfaces[index],
                    width_dm=widths[index],
                    town=towns[index],
                    village=villages[index],
                    station=stations[index],
                    shape=shapes[index],
                )
            )
        return rows

    def _shapes(self, shaped: list[Shape | ValueError]) -> list:
        shapes: list = []
        box = "，".join(f"{b:g}" for b in self.bbox)
        for index, shape in enumerate(shaped):
            if isinstance(shape, ValueError):
                self._error(index, GEOMETRY_LABEL, str(shape))
                shapes.append(_INVALID)
                continue
            shapes.append(shape)
            bounds = (shape.min_lon, shape.min_lat, shape.max_lon, shape.max_lat)
            if outside_bbox(bounds, self.bbox):
                self._error(
                    index,
                    GEOMETRY_LABEL,
                    f"几何超出{COUNTY_NAME}范围（经纬度 {box}）：范围 {bounds[0]:.5f},{bounds[1]:.5f}—"
                    f"{bounds[2]:.5f},{bounds[3]:.5f}，请检查坐标系或文件是否选错",
                )
        return shapes

    def _stake_units(self, starts: list, ends: list, listed: list) -> None:
        for index, (start_m, end_m, listed_km) in enumerate(zip(starts, ends, listed)):
            if _INVALID in (start_m, end_m, listed_km) or end_m <= start_m:
                continue
            reason = stake_unit_mismatch(end_m - start_m, int(listed_km * 1000))
            if reason:
                self._error(index, FIELDS["end_stake"].label, reason)

    def _road_classes(self, codes: list) -> list:
        # Without a class the code's prefix decides (X 市道, Y 镇道, C 村道, Z 专用公路; 第三条).
        given = self._parsed("road_class", _class_or_blank)
        return [
            value if value is not _BLANK else (_INVALID if code is _INVALID else class_from_code(code))
            for code, value in zip(codes, given)
        ]

    def _villages(self, towns: list, classes: list) -> list:
        villages = self._parsed("village", self.register.village, towns)
        label = FIELDS["village"].label
        for index, (village, road_class) in enumerate(zip(villages, classes)):
            if village is None and road_class == "村道":
                # 第八条: every 村道 segment belongs to exactly one village, whose 村级路长 answers for it.
                self._error(index, label, "村道路段须填写所属行政村（第八条：每个村道路段有且只有一个村）")
                villages[index] = _INVALID
        return villages


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
    reader = _ColumnReader(records, register, columns, errors, county_bbox())
    # The lines' map texts are only needed to write them: the writer has them written (fill_texts).
    shapes = road_shapes(geometries, texts_later=True)
    rows = reader.read(shapes, Ticker(progress, len(records), "校验"))
    # Cross-row checks need the register's existing segments of the roads in the file.
    register.load_network(row.road_code for row in rows)
    check_roads_consistent(rows, errors)
    check_stakes(rows, register, errors)
    if errors:
        errors.sort(key=lambda e: e.row)
        raise ImportFailed(f"导入失败：{len(errors)} 处错误，未写入任何数据", errors)
    return rows
