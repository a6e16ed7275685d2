"""Road-network importer: 农村公路普查 layers (GeoJSON, Shapefile, GeoPackage) → the road register.

One call reads a file, checks every row against the register (towns, villages,
stations, existing stake ranges) and either writes the whole file in one
transaction or writes nothing and returns every problem with its row and
column, so an office can fix the spreadsheet in one pass instead of one error
per upload.

Lengths never pass through float: 列养里程 "3.200" is 3200 m exactly. When the
reader hands us a float (a numeric DBF or GeoJSON field) it is turned into a
Decimal from its shortest repr, and a value with more than three decimals is
refused, since 列养里程 is kept to the metre.
"""
from __future__ import annotations

import codecs
import dataclasses
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from numbers import Integral, Real
from pathlib import Path
from typing import Any, Callable, Iterable

import shapely
from shapely.geometry import LineString, MultiLineString, mapping as geojson_mapping
from shapely.geometry.base import BaseGeometry
from shapely.ops import linemerge
from sqlalchemy import func, select
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm.exc import StaleDataError

from roadchief.domain.clock import beijing_today
from roadchief.domain.lengths import exceeds_tolerance, length_deviation, projected_length_km
from roadchief.domain.roads import (
    class_from_code, normalize_class, normalize_surface, normalize_tech_grade, validate_road_code,
)
from roadchief.domain.mileage import MileageDiff, MileageEntry, frozen_message, merge_version
from roadchief.domain.stakes import StakeError, find_overlaps, format_stake, parse_stake, parse_stake_km
from roadchief.extensions import db
from roadchief.models import MileageVersion, Road, Segment, Station, Town, Village
from roadchief.services import ServiceError, mileage

__all__ = [
    "FIELDS", "ImportFailed", "ImportReport", "LengthWarning", "RowError", "import_roads", "load_mapping",
]

Progress = Callable[[int, int, str], None]

# ---------------------------------------------------------------------------
# Columns
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    label: str               # what the office calls the column; used in every error
    aliases: tuple[str, ...]  # accepted source names, earlier ones win when several are present
    required: bool = False


# Earlier aliases win, so 列养里程 is used over a plain 里程 column in the same file.
FIELDS: dict[str, FieldSpec] = {
    "road_code": FieldSpec("路线编码", ("路线编码", "LXBM", "road_code", "code", "route_code"), True),
    "road_name": FieldSpec("路线名称", ("路线名称", "LXMC", "road_name", "name")),
    "road_class": FieldSpec("行政等级", ("行政等级", "XZDJ", "road_class", "class", "admin_class")),
    "start_stake": FieldSpec("起点桩号", ("起点桩号", "QDZH", "start_stake", "start", "from_stake"), True),
    "end_stake": FieldSpec("止点桩号", ("止点桩号", "ZDZH", "end_stake", "end", "to_stake"), True),
    "listed_km": FieldSpec("列养里程", ("列养里程", "LYLC", "里程", "LC", "listed_km", "length_km", "length"), True),
    "tech_grade": FieldSpec("技术等级", ("技术等级", "JSDJ", "tech_grade")),
    "surface": FieldSpec("路面类型", ("路面类型", "LMLX", "surface")),
    "width": FieldSpec("路面宽度", ("路面宽度", "LMKD", "width")),
    "town": FieldSpec("所属乡镇", ("所属乡镇", "SSXZ", "XZMC", "乡镇", "town"), True),
    "village": FieldSpec("所属村", ("所属村", "SSC", "CMC", "行政村", "village")),
    "is_listed": FieldSpec("是否列养", ("是否列养", "SFLY", "is_listed", "listed")),
    "station": FieldSpec("公路站", ("公路站", "GLZ", "station")),
}
GEOMETRY_LABEL = "几何"
FILE_LABEL = "文件"
MAPPING_LABEL = "映射"
STAKES_LABEL = "桩号"

LENGTH_TOLERANCE = Decimal("0.05")
COORD_DIGITS = 6            # ≈ 0.1 m: finer than any survey we receive
MID_TOLERANCE_DEG = 0.00005  # ≈ 5 m at 38°N, for the town-level map
LOW_TOLERANCE_DEG = 0.0003   # ≈ 30 m, for the whole-city map
BAND_DIGITS = 5
ROAD_NAME_MAX = 120          # Road.name column width
VILLAGE_NAME_MAX = 40        # Village.name column width
FIRST_CREATED_VILLAGE = 901  # codes 901+ are visibly ours, not from the 统计用区划代码
_IN_CHUNK = 500              # keep IN (...) lists well under any driver's parameter limit

_SUFFIX_KINDS = {".geojson": "geojson", ".json": "geojson", ".shp": "shp", ".zip": "zip", ".gpkg": "gpkg"}
_YES = {"是", "Y", "YES", "1", "TRUE", "T", "列养"}
_NO = {"否", "N", "NO", "0", "FALSE", "F", "不列养"}
_MULTI_VILLAGE = re.compile(r"[、,，;；/]")

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------


@dataclass
class RowError:
    row: int    # 1-based data row as the office counts them; 0 = the file as a whole
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
        return (f"第 {self.row} 行 {self.road_code} {self.stakes}：列养 {self.listed_km} km，"
                f"实测 {self.measured_km} km，偏差 {_percent(self.deviation)}")


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
    needs_confirmation: bool = False   # a preview: re-run with --yes to write
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


def _file_error(reason: str, field_label: str = FILE_LABEL) -> ImportFailed:
    return ImportFailed(f"导入失败：{reason}", [RowError(0, field_label, reason)])


# ---------------------------------------------------------------------------
# Mapping file
# ---------------------------------------------------------------------------


def load_mapping(path) -> dict[str, str]:
    """Read a JSON column mapping {"road_code": "MYCOL", ...} (canonical field → source column)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ServiceError(f"映射文件不存在：{path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServiceError(f"映射文件 {path.name} 不是有效的 JSON：{exc}") from None
    return _check_mapping(data, ServiceError)


def _check_mapping(data: Any, error: type[ServiceError]) -> dict[str, str]:
    if not isinstance(data, dict):
        raise error("映射须为 JSON 对象，如 {\"road_code\": \"MYCOL\"}")
    unknown = [key for key in data if key not in FIELDS]
    if unknown:
        raise error(f"映射中有未知字段：{'、'.join(map(str, unknown))}（可用：{'、'.join(FIELDS)}）")
    bad = [key for key, value in data.items() if not isinstance(value, str) or not value.strip()]
    if bad:
        raise error(f"映射字段须对应非空的列名：{'、'.join(bad)}")
    return {key: value.strip() for key, value in data.items()}


class _MappingFailed(ImportFailed):
    """A bad mapping handed straight to import_roads (the web form), reported like any other input error."""

    def __init__(self, message: str):
        super().__init__(f"导入失败：{message}", [RowError(0, MAPPING_LABEL, message)])


def _column_key(name: Any) -> str:
    # Headers typed by hand carry full-width letters, stray spaces and mixed case.
    return "".join(unicodedata.normalize("NFKC", str(name)).split()).casefold()


def _resolve_columns(columns: Iterable[str], mapping: dict[str, str]) -> dict[str, str]:
    """Canonical field → source column present in the file."""
    by_key = {}
    for column in columns:
        by_key.setdefault(_column_key(column), column)
    resolved: dict[str, str] = {}
    errors: list[RowError] = []
    for name, spec in FIELDS.items():
        if name in mapping:
            column = by_key.get(_column_key(mapping[name]))
            if column is None:
                errors.append(RowError(0, spec.label, f"映射指定的列“{mapping[name]}”在文件中不存在"))
            else:
                resolved[name] = column
            continue
        for alias in spec.aliases:
            column = by_key.get(_column_key(alias))
            if column is not None:
                resolved[name] = column
                break
        else:
            if spec.required:
                errors.append(RowError(0, spec.label, f"缺少必需的列“{spec.label}”（可用列名：{'、'.join(spec.aliases)}）"))
    if errors:
        raise ImportFailed(f"导入失败：文件缺少必需的列或映射有误（{len(errors)} 处）", errors)
    return resolved


# ---------------------------------------------------------------------------
# Reading the file
# ---------------------------------------------------------------------------


def _arrow_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _shapefile_in_zip(path: Path) -> tuple[str, bool]:
    """The /vsizip/ path of the one .shp inside, and whether a .cpg sits beside it."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if not n.startswith("__MACOSX/")]
    except (zipfile.BadZipFile, OSError) as exc:
        raise _file_error(f"无法读取压缩包 {path.name}：{exc}") from None
    shapefiles = [n for n in names if n.lower().endswith(".shp")]
    if not shapefiles:
        raise _file_error(f"压缩包 {path.name} 中没有 .shp 文件")
    if len(shapefiles) > 1:
        raise _file_error(f"压缩包 {path.name} 中有多个 .shp 文件（{'、'.join(shapefiles)}），请一次导入一个")
    inner = shapefiles[0]
    cpg = (inner[:-4] + ".cpg").lower()
    has_cpg = any(n.lower() == cpg for n in names)
    return f"/vsizip/{path.resolve().as_posix()}/{inner}", has_cpg


def _sidecar_exists(shp: Path, suffix: str) -> bool:
    return any(shp.with_suffix(s).exists() for s in (suffix, suffix.upper()))


def _line_layer(path: Path) -> str | None:
    """A GeoPackage may hold several layers: take the (first) line layer."""
    import pyogrio
    try:
        layers = pyogrio.list_layers(str(path))
    except Exception as exc:  # not a GeoPackage at all; reported like any unreadable file
        raise _file_error(f"无法读取文件 {path.name}：{exc}") from exc
    if len(layers) <= 1:
        return None
    for name, geometry_type in layers:
        if geometry_type and "LINE" in str(geometry_type).upper():
            return str(name)
    return str(layers[0][0])


def _attribute_records(frame) -> list[dict]:
    """Every attribute cell as a Python value. Arrow decodes text lazily, so this is
    also where a wrong guess of the encoding surfaces (UnicodeDecodeError)."""
    geometry_column = getattr(frame, "_geometry_column_name", None)
    attributes = frame.drop(columns=[geometry_column]) if geometry_column in frame.columns else frame
    return attributes.to_dict("records")


def _encoding_name(encoding: str) -> str:
    """Python's canonical codec name ("latin-1" → "iso8859-1", "cp936" → "gbk"), which iconv in GDAL also knows."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise _file_error(f"未知的文字编码：{encoding}（常用 UTF-8 或 GBK）") from None


def _read_frame(path: Path, encoding: str | None):
    """The layer as a GeoDataFrame plus its attribute rows as plain dicts."""
    import geopandas

    kind = _SUFFIX_KINDS.get(path.suffix.lower())
    if kind is None:
        raise _file_error(f"不支持的文件格式“{path.suffix or path.name}”（可导入 .geojson/.json、.shp、含 .shp 的 .zip、.gpkg）")
    if not path.exists():
        raise _file_error(f"文件不存在：{path.name}")
    source, has_cpg = str(path), True
    if kind == "zip":
        source, has_cpg = _shapefile_in_zip(path)
    elif kind == "shp":
        has_cpg = _sidecar_exists(path, ".cpg")
    encoding = _encoding_name(encoding) if encoding else None
    # Without a .cpg GDAL guesses Latin-1; 普查 data without one is usually GBK.
    # Try UTF-8 first and fall back to GBK when the text is not valid UTF-8.
    attempts: list[str | None] = [encoding] if encoding else ([None] if has_cpg else ["UTF-8", "GBK"])
    options: dict[str, Any] = {"engine": "pyogrio", "use_arrow": _arrow_available()}
    layer = _line_layer(path) if kind == "gpkg" else None
    if layer:
        options["layer"] = layer
    last_error: Exception | None = None
    for attempt in attempts:
        try:
            frame = geopandas.read_file(source, **options, **({"encoding": attempt} if attempt else {}))
            return frame, _attribute_records(frame)
        except Exception as exc:  # pyogrio/GDAL/arrow raise many types; all mean "unreadable"
            last_error = exc
    raise _file_error(f"无法读取文件 {path.name}：{last_error}") from last_error


def _in_lonlat_range(bounds) -> bool:
    min_x, min_y, max_x, max_y = (float(b) for b in bounds)
    finite = all(b == b and abs(b) != float("inf") for b in (min_x, min_y, max_x, max_y))
    return finite and -180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90


def _to_lonlat(frame, file_name: str):
    """Reproject to EPSG:4326 (GeoJSON storage); a file without CRS must already be lon/lat."""
    present = frame.geometry[~(frame.geometry.isna() | frame.geometry.is_empty)]
    if frame.crs is None:
        if len(present) and not _in_lonlat_range(present.total_bounds):
            raise _file_error(f"文件 {file_name} 缺少坐标系（.prj），且坐标不是经纬度，无法确定位置")
        return frame.set_crs("EPSG:4326")
    if frame.crs.is_geographic and len(present) and not _in_lonlat_range(present.total_bounds):
        # e.g. a GeoJSON holding projected metres without a "crs" member
        raise _file_error(f"文件 {file_name} 的坐标不是经纬度，但文件未声明投影坐标系（缺少坐标系）")
    if frame.crs.to_epsg() == 4326:
        return frame
    try:
        return frame.to_crs("EPSG:4326")
    except Exception as exc:
        raise _file_error(f"无法把文件 {file_name} 的坐标系 {frame.crs.to_string()} 转换为经纬度：{exc}") from exc


# ---------------------------------------------------------------------------
# Cell values
# ---------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    from pandas import NA, NaT

    if value is None or value is NA or value is NaT:
        return True
    return isinstance(value, float) and value != value  # NaN: pandas' empty numeric cell


def _text(value: Any) -> str | None:
    """A cell as trimmed text; numbers such as 640381100.0 (codes read as numbers) become "640381100"."""
    if _is_missing(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real) and float(value).is_integer():
        return str(int(value))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def _float_decimal(value: Real) -> Decimal:
    """A float from the reader → Decimal of its shortest text (3.2 → Decimal("3.2"), not 3.2000000000000001776…).

    str() rather than float(): a numpy float32 cell prints as "1.2" but widens to 1.2000000476837158.
    """
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"不是有限数：{value}")
    return number


def _has_more_than_3_decimals(number: Decimal) -> bool:
    return number != number.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def parse_listed_km(value: Any) -> Decimal:
    """列养里程 cell → km as a Decimal with at most three decimals (whole metres)."""
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        raise ValueError("列养里程为空")
    if isinstance(value, bool):
        raise ValueError(f"列养里程不是数值：{value!r}")
    if isinstance(value, Integral):
        km = Decimal(int(value))
    elif isinstance(value, Real):
        exact = _float_decimal(value)
        if _has_more_than_3_decimals(exact):
            raise ValueError(f"列养里程最多 3 位小数（精确到米）：{exact}")
        km = exact
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        text = re.sub(r"\s*(km|KM|Km|公里)$", "", text)
        try:
            km = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"列养里程不是数值：{value!r}") from None
        if not km.is_finite():
            raise ValueError(f"列养里程不是有限数：{value!r}")
        if _has_more_than_3_decimals(km):
            raise ValueError(f"列养里程最多 3 位小数（精确到米）：{text}")
    if km <= 0:
        raise ValueError(f"列养里程须大于 0：{km}")
    return km.quantize(Decimal("0.001"))


def _parse_stake_cell(value: Any) -> int:
    """桩号 cell → metres: text like K12+345, or a number of kilometres."""
    if _is_missing(value):
        raise StakeError("桩号为空")
    if isinstance(value, bool):
        raise StakeError(f"桩号格式不正确：{value!r}")
    if isinstance(value, Integral):
        return parse_stake_km(int(value))
    if isinstance(value, Real):
        return parse_stake_km(_float_decimal(value))
    return parse_stake(str(value))


def _parse_width_dm(value: Any) -> int | None:
    """路面宽度 in metres → whole decimetres (the column's unit), half-up."""
    if _is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        metres = _float_decimal(value) if isinstance(value, Real) and not isinstance(value, Integral) \
            else Decimal(unicodedata.normalize("NFKC", str(value)).strip().removesuffix("m").removesuffix("米"))
    except (InvalidOperation, ValueError):
        raise ValueError(f"路面宽度不是数值：{value!r}") from None
    if not metres.is_finite() or metres <= 0:
        raise ValueError(f"路面宽度须大于 0：{value!r}")
    return int((metres * 10).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _parse_is_listed(value: Any) -> bool:
    text = _text(value)
    if text is None:
        return True  # 普查 layers mostly omit the column: everything in them is listed
    key = text.upper()
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError(f"是否列养应为 是/否（或 Y/N、1/0）：{value!r}")


def _road_name(value: Any) -> str | None:
    text = _text(value)
    if text is not None and len(text) > ROAD_NAME_MAX:
        raise ValueError(f"路线名称超过 {ROAD_NAME_MAX} 个字：{text[:20]}…")
    return text


def _optional(parse: Callable[[str], str]) -> Callable[[Any], str | None]:
    def parse_optional(value: Any) -> str | None:
        text = _text(value)
        return None if text is None else parse(text)
    return parse_optional


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Shape:
    geometry: str
    geometry_mid: str
    geometry_low: str
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    measured_km: Decimal

    @property
    def measured_m(self) -> int:
        return int(self.measured_km * 1000)


def _parts(geom: BaseGeometry) -> list[LineString]:
    return list(geom.geoms) if isinstance(geom, MultiLineString) else [geom]


def _tidy(geom: BaseGeometry, digits: int) -> LineString | MultiLineString | None:
    """Round coordinates (Python's correctly rounded round(), so the JSON stays short and stable)
    and drop consecutive duplicate vertices; parts shorter than the rounding vanish."""
    parts = []
    for part in _parts(geom):
        coords: list[tuple[float, float]] = []
        for x, y in ((c[0], c[1]) for c in part.coords):
            point = (round(x, digits), round(y, digits))
            if not coords or coords[-1] != point:
                coords.append(point)
        if len(coords) >= 2:
            parts.append(LineString(coords))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else MultiLineString(parts)


def _merge(geom: LineString | MultiLineString) -> LineString | MultiLineString:
    """Join the parts of a MultiLineString when they connect end to end.

    Merging along the digitised direction first keeps the line running from the
    start stake to the end stake; parts drawn against each other are merged
    undirected only if that yields one line.
    """
    if not isinstance(geom, MultiLineString):
        return geom
    directed = linemerge(geom, directed=True)
    if isinstance(directed, LineString):
        return directed
    undirected = linemerge(geom)
    if isinstance(undirected, LineString):
        return undirected
    return directed if isinstance(directed, MultiLineString) else geom


def _geojson(geom: BaseGeometry) -> str:
    return json.dumps(geojson_mapping(geom), separators=(",", ":"))


def _band(geom: BaseGeometry, tolerance: float) -> str:
    """A pre-simplified copy for a map zoom band; falls back to the full line when it would vanish."""
    simplified = _tidy(geom.simplify(tolerance, preserve_topology=True), BAND_DIGITS)
    return _geojson(simplified if simplified is not None else geom)


def _shape(geom: BaseGeometry | None) -> _Shape:
    """Validate and clean one row's lon/lat geometry; ValueError says what is wrong."""
    if geom is None:
        raise ValueError("缺少几何（空值）")
    if geom.is_empty:
        raise ValueError("几何为空")
    if not isinstance(geom, (LineString, MultiLineString)):
        raise ValueError(f"几何须为线（LineString 或 MultiLineString），收到 {geom.geom_type}")
    if not geom.is_valid:
        raise ValueError(f"几何无效：{shapely.is_valid_reason(geom)}")
    if not _in_lonlat_range(geom.bounds):
        raise ValueError("坐标超出经纬度范围")
    cleaned = _tidy(shapely.force_2d(geom), COORD_DIGITS)
    if cleaned is None:
        raise ValueError("几何长度为零（所有顶点重合）")
    cleaned = _merge(cleaned)
    measured = projected_length_km(cleaned)
    if measured <= 0:
        raise ValueError("几何长度不足 1 米")
    min_lon, min_lat, max_lon, max_lat = cleaned.bounds
    return _Shape(
        geometry=_geojson(cleaned),
        geometry_mid=_band(cleaned, MID_TOLERANCE_DEG),
        geometry_low=_band(cleaned, LOW_TOLERANCE_DEG),
        min_lon=min_lon, min_lat=min_lat, max_lon=max_lon, max_lat=max_lat,
        measured_km=measured,
    )


# ---------------------------------------------------------------------------
# The register as it stands (loaded once, not per row)
# ---------------------------------------------------------------------------


@dataclass(eq=False)
class _NewVillage:
    """A village to be created (create_villages=True); its code is assigned when writing."""
    town: Town
    name: str
    created: Village | None = None


def _chunks(items: list, size: int = _IN_CHUNK) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


class _Register:
    def __init__(self, create_villages: bool):
        self.create_villages = create_villages
        towns = db.session.scalars(select(Town)).all()
        self.towns = {key: town for town in towns for key in (town.code, town.name)}
        villages = db.session.scalars(select(Village)).all()
        self.villages_by_code = {v.code: v for v in villages}
        self.villages_by_name = {(v.town_id, v.name): v for v in villages}
        self.new_villages: dict[tuple[int, str], _NewVillage] = {}
        stations = db.session.scalars(select(Station)).all()
        self.stations = {key: s for s in stations for key in (s.code, s.name)}
        self.roads: dict[str, Road] = {}
        self.segments: dict[int, list[Segment]] = {}

    def town(self, value: Any) -> Town:
        text = _text(value)
        if text is None:
            raise ValueError("所属乡镇为空")
        town = self.towns.get(text)
        if town is None:
            raise ValueError(f"未知乡镇“{text}”（须为已登记乡镇的名称或 9 位代码）")
        return town

    def village(self, town: Town, value: Any) -> Village | _NewVillage | None:
        text = _text(value)
        if text is None:
            return None
        if _MULTI_VILLAGE.search(text):
            raise ValueError(f"一个路段只能属于一个行政村（第八条）：“{text}”，请按村拆分路段")
        if text.isdigit() and len(text) == 12:
            village = self.villages_by_code.get(text)
            if village is None:
                raise ValueError(f"未知行政村代码“{text}”")
            if village.town_id != town.id:
                raise ValueError(f"行政村 {village.name}（{text}）不属于{town.name}")
            return village
        village = self.villages_by_name.get((town.id, text))
        if village is not None:
            return village
        if self.create_villages:
            if len(text) > VILLAGE_NAME_MAX:
                raise ValueError(f"行政村名称超过 {VILLAGE_NAME_MAX} 个字：{text[:20]}…")
            return self.new_villages.setdefault((town.id, text), _NewVillage(town, text))
        raise ValueError(f"{town.name}没有行政村“{text}”（可选择自动新建行政村后重新导入）")

    def station(self, value: Any) -> Station | None:
        text = _text(value)
        if text is None:
            return None
        station = self.stations.get(text)
        if station is None:
            raise ValueError(f"未知公路站“{text}”（须为已登记公路站的名称或代码）")
        return station

    def load_network(self, codes: Iterable[str]) -> None:
        """Existing roads of the file and all their segments: two queries per 500 roads."""
        codes = sorted(set(codes))
        for chunk in _chunks(codes):
            self.roads.update((r.code, r) for r in db.session.scalars(select(Road).where(Road.code.in_(chunk))))
        road_ids = [road.id for road in self.roads.values()]
        for chunk in _chunks(road_ids):
            query = select(Segment).where(Segment.road_id.in_(chunk)).order_by(Segment.road_id, Segment.start_m)
            for segment in db.session.scalars(query):
                self.segments.setdefault(segment.road_id, []).append(segment)

    def existing_segments(self, code: str) -> list[Segment]:
        road = self.roads.get(code)
        return self.segments.get(road.id, []) if road is not None else []


# ---------------------------------------------------------------------------
# Rows
# ---------------------------------------------------------------------------


@dataclass
class _Row:
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
    village: Village | _NewVillage | None
    station: Station | None
    shape: _Shape

    @property
    def listed_m(self) -> int:
        return int(self.listed_km * 1000)

    @property
    def stakes(self) -> str:
        return f"{format_stake(self.start_m)}—{format_stake(self.end_m)}"


_INVALID = object()


class _RowReader:
    """Turns one record into a _Row, recording every problem instead of stopping at the first."""

    def __init__(self, register: _Register, columns: dict[str, str], errors: list[RowError]):
        self.register = register
        self.columns = columns
        self.errors = errors

    def _cell(self, record: dict, name: str) -> Any:
        column = self.columns.get(name)
        return None if column is None else record.get(column)

    def _parse(self, row: int, label: str, parse: Callable[..., Any], *args: Any) -> Any:
        try:
            return parse(*args)
        except (ValueError, TypeError) as exc:  # StakeError is a ValueError
            self.errors.append(RowError(row, label, str(exc)))
            return _INVALID

    def _field(self, row: int, record: dict, name: str, parse: Callable[[Any], Any]) -> Any:
        return self._parse(row, FIELDS[name].label, parse, self._cell(record, name))

    def read(self, row: int, record: dict, geom: BaseGeometry | None) -> _Row | None:
        before = len(self.errors)
        shape = self._parse(row, GEOMETRY_LABEL, _shape, geom)
        code = self._field(row, record, "road_code", lambda v: validate_road_code(_text(v) or ""))
        road_name = self._field(row, record, "road_name", _road_name)
        road_class = self._road_class(row, record, code)
        start_m = self._field(row, record, "start_stake", _parse_stake_cell)
        end_m = self._field(row, record, "end_stake", _parse_stake_cell)
        if start_m is not _INVALID and end_m is not _INVALID and end_m <= start_m:
            self.errors.append(RowError(row, FIELDS["end_stake"].label,
                                        f"止点桩号须大于起点桩号：{format_stake(start_m)} — {format_stake(end_m)}"))
        values = {
            "listed_km": self._field(row, record, "listed_km", parse_listed_km),
            "is_listed": self._field(row, record, "is_listed", _parse_is_listed),
            "tech_grade": self._field(row, record, "tech_grade", _optional(normalize_tech_grade)),
            "surface": self._field(row, record, "surface", _optional(normalize_surface)),
            "width_dm": self._field(row, record, "width", _parse_width_dm),
            "station": self._field(row, record, "station", self.register.station),
        }
        town = self._field(row, record, "town", self.register.town)
        village = self._village(row, record, town, road_class)
        if len(self.errors) > before:
            return None
        return _Row(row=row, road_code=code, road_name=road_name, road_class=road_class,
                    start_m=start_m, end_m=end_m, town=town, village=village, shape=shape, **values)

    def _road_class(self, row: int, record: dict, code: Any) -> Any:
        # Without a class the code's prefix decides (X 市道, Y 镇道, C 村道, Z 专用公路; 第三条).
        if _text(self._cell(record, "road_class")) is None:
            return _INVALID if code is _INVALID else class_from_code(code)
        return self._field(row, record, "road_class", normalize_class)

    def _village(self, row: int, record: dict, town: Any, road_class: Any) -> Any:
        label = FIELDS["village"].label
        if town is _INVALID:
            return _INVALID
        village = self._parse(row, label, self.register.village, town, self._cell(record, "village"))
        if village is None and road_class == "村道":
            # 第八条: every 村道 segment belongs to exactly one village, whose 村级路长 answers for it.
            self.errors.append(RowError(row, label, "村道路段须填写所属行政村（第八条：每个村道路段有且只有一个村）"))
            return _INVALID
        return village


def _check_roads_consistent(rows: list[_Row], errors: list[RowError]) -> None:
    """A road has one name and one class: rows of the same road must agree."""
    first: dict[str, _Row] = {}
    for row in rows:
        seen = first.setdefault(row.road_code, row)
        if seen is row:
            continue
        same_road = f"与第 {seen.row} 行同一路线 {row.road_code}"
        if row.road_class != seen.road_class:
            errors.append(RowError(row.row, FIELDS["road_class"].label,
                                   f"{same_road}的行政等级不一致（{seen.road_class} / {row.road_class}）"))
        if row.road_name and seen.road_name and row.road_name != seen.road_name:
            errors.append(RowError(row.row, FIELDS["road_name"].label,
                                   f"{same_road}的名称不一致（{seen.road_name} / {row.road_name}）"))
        elif row.road_name and not seen.road_name:
            first[row.road_code] = row  # later rows are compared with the first named one


def _check_stakes(rows: list[_Row], register: _Register, errors: list[RowError]) -> None:
    """Duplicates and overlapping stake ranges, within the file and against the register."""
    by_road: dict[str, list[_Row]] = {}
    for row in rows:
        by_road.setdefault(row.road_code, []).append(row)
    for code, road_rows in by_road.items():
        unique: dict[tuple[int, int], _Row] = {}
        for row in road_rows:
            twin = unique.setdefault((row.start_m, row.end_m), row)
            if twin is not row:
                errors.append(RowError(row.row, STAKES_LABEL, f"与第 {twin.row} 行重复：{code} {row.stakes}"))
        # A stored segment with exactly a row's stakes is that row's upsert target, not an overlap.
        stored = [s for s in register.existing_segments(code) if (s.start_m, s.end_m) not in unique]
        ranges = [(row, row.start_m, row.end_m) for row in unique.values()]
        ranges += [(segment, segment.start_m, segment.end_m) for segment in stored]
        for pair in find_overlaps(ranges):
            in_file = sorted((item for item in pair if isinstance(item, _Row)), key=lambda r: r.row)
            if len(in_file) == 2:
                earlier, later = in_file
                errors.append(RowError(later.row, STAKES_LABEL,
                                       f"{code} {later.stakes} 与第 {earlier.row} 行 {earlier.stakes} 桩号重叠"))
            elif len(in_file) == 1:
                row = in_file[0]
                segment = next(item for item in pair if isinstance(item, Segment))
                errors.append(RowError(row.row, STAKES_LABEL, f"{code} {row.stakes} 与已登记路段 "
                                       f"{format_stake(segment.start_m)}—{format_stake(segment.end_m)} 桩号重叠"))
            # two stored segments overlapping is the register's own problem, not this file's


def _length_warnings(rows: list[_Row]) -> list[LengthWarning]:
    """Segments whose 列养里程 differs from the mapped line by more than 5% (第十五条 pays on 列养里程)."""
    warnings = []
    for row in rows:
        measured = row.shape.measured_km
        if exceeds_tolerance(row.listed_km, measured, LENGTH_TOLERANCE):
            deviation = length_deviation(row.listed_km, measured).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            warnings.append(LengthWarning(row.row, row.road_code, row.stakes, row.listed_km, measured, deviation))
    return warnings


class _Ticker:
    """Calls progress about every 2% of rows (and at the end), not on every row."""

    def __init__(self, progress: Progress | None, total: int, label: str):
        self.progress, self.total, self.label = progress, total, label
        self.step = max(1, total // 50)

    def tick(self, done: int) -> None:
        if self.progress is not None and (done % self.step == 0 or done == self.total):
            self.progress(done, self.total, self.label)


def _read_rows(records: list[dict], geometries: list, columns: dict[str, str], register: _Register,
               progress: Progress | None) -> list[_Row]:
    errors: list[RowError] = []
    reader = _RowReader(register, columns, errors)
    ticker = _Ticker(progress, len(records), "校验")
    rows: list[_Row] = []
    for index, (record, geom) in enumerate(zip(records, geometries)):
        row = reader.read(index + 1, record, geom)
        if row is not None:
            rows.append(row)
        ticker.tick(index + 1)
    # Cross-row checks need the register's existing segments of the roads in the file.
    register.load_network(row.road_code for row in rows)
    _check_roads_consistent(rows, errors)
    _check_stakes(rows, register, errors)
    if errors:
        errors.sort(key=lambda e: e.row)
        raise ImportFailed(f"导入失败：{len(errors)} 处错误，未写入任何数据", errors)
    return rows


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    roads_created: int = 0
    roads_updated: int = 0
    mileage_written: int = 0
    villages_created: list[str] = field(default_factory=list)


def _create_villages(register: _Register, counts: _Counts) -> None:
    """Villages named in the file but not registered (create_villages=True).

    Their codes are the town code + 901, 902 …: the 统计用区划代码 never uses
    9xx for 村委会, so an office can spot (and later correct) our placeholders.
    """
    used = set(register.villages_by_code)
    for new in register.new_villages.values():
        number = FIRST_CREATED_VILLAGE
        while f"{new.town.code}{number:03d}" in used:
            number += 1
        if number > 999:
            raise ImportFailed(f"导入失败：{new.town.name}已没有可用的行政村代码",
                               [RowError(0, FIELDS["village"].label, f"{new.town.name}的 901–999 号村代码已用完")])
        code = f"{new.town.code}{number:03d}"
        used.add(code)
        new.created = Village(town=new.town, code=code, name=new.name)
        db.session.add(new.created)
        counts.villages_created.append(f"{new.town.name}{new.name}（{code}）")


def _road_attributes(rows: list[_Row]) -> dict[str, tuple[str | None, str]]:
    """Road code → (name, class); rows already agree (_check_roads_consistent), the first name given wins."""
    attributes: dict[str, tuple[str | None, str]] = {}
    for row in rows:
        name, _ = attributes.get(row.road_code, (None, row.road_class))
        attributes[row.road_code] = (name or row.road_name, row.road_class)
    return attributes


def _upsert_roads(rows: list[_Row], register: _Register, counts: _Counts) -> dict[str, Road]:
    roads: dict[str, Road] = {}
    for code, (name, road_class) in _road_attributes(rows).items():
        road = register.roads.get(code)
        if road is None:
            # A layer without names still needs one on the register: the code stands in until edited.
            road = Road(code=code, name=name or code, road_class=road_class)
            db.session.add(road)
            counts.roads_created += 1
        elif _assign(road, {"road_class": road_class, **({"name": name} if name else {})}):
            counts.roads_updated += 1
        roads[code] = road
    return roads


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ, so an identical row leaves the object clean
    (no UPDATE, no version bump, no audit entry)."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _segment_values(row: _Row) -> dict[str, Any]:
    village = row.village.created if isinstance(row.village, _NewVillage) else row.village
    shape = row.shape
    return {
        "listed_m": row.listed_m, "is_listed": row.is_listed, "tech_grade": row.tech_grade,
        "surface": row.surface, "width_dm": row.width_dm,
        "town": row.town, "village": village, "station": row.station,
        "geometry": shape.geometry, "geometry_mid": shape.geometry_mid, "geometry_low": shape.geometry_low,
        "min_lon": shape.min_lon, "min_lat": shape.min_lat, "max_lon": shape.max_lon, "max_lat": shape.max_lat,
        "measured_m": shape.measured_m,
    }


def _upsert_segments(rows: list[_Row], roads: dict[str, Road], register: _Register, counts: _Counts,
                     progress: Progress | None) -> list[tuple[_Row, Segment]]:
    stored = {(s.road_id, s.start_m, s.end_m): s for segments in register.segments.values() for s in segments}
    ticker = _Ticker(progress, len(rows), "导入")
    written = []
    for done, row in enumerate(rows, start=1):
        road = roads[row.road_code]
        values = _segment_values(row)
        segment = stored.get((road.id, row.start_m, row.end_m)) if road.id is not None else None
        if segment is None:
            segment = Segment(road=road, start_m=row.start_m, end_m=row.end_m, **values)
            db.session.add(segment)
            counts.created += 1
        elif _assign(segment, values):
            counts.updated += 1
        else:
            counts.unchanged += 1
        written.append((row, segment))
        ticker.tick(done)
    return written


@dataclass
class _VersionOutcome:
    name: str                       # the version written (or that would be)
    base: str | None                # what the difference is against: the version changed or the one before
    diff: MileageDiff
    lines: list[str]
    frozen: str | None = None       # why the version was left alone (import without --effective)


def _file_entries(written: list[tuple[_Row, Segment]]) -> dict[int, MileageEntry]:
    entries = {}
    for row, segment in written:
        village = row.village.created if isinstance(row.village, _NewVillage) else row.village
        entries[segment.id] = MileageEntry(row.road_class, row.town.id, village.id if village else None,
                                           row.station.id if row.station else None, row.listed_m, row.is_listed)
    return entries


def _with_road_classes(after: dict[int, MileageEntry], roads: dict[str, Road], register: _Register,
                       rows: list[_Row]) -> dict[int, MileageEntry]:
    """A road has one class (第三条): when the file sets it, every segment of that road in the
    version follows, the ones absent from a partial file included."""
    classes = {roads[code].id: road_class for code, (_, road_class) in _road_attributes(rows).items()}
    for road_id, segments in register.segments.items():
        road_class = classes.get(road_id)
        for segment in segments:
            entry = after.get(segment.id)
            if road_class and entry is not None and entry.road_class != road_class:
                after[segment.id] = dataclasses.replace(entry, road_class=road_class)
    return after


def _write_mileage(to_write: list, version: MileageVersion, counts: _Counts) -> None:
    """Write a version's changes (rows added, changed or removed); unchanged rows are left alone."""
    mileage.apply_changes(version, to_write)
    counts.mileage_written += len(to_write)
    db.session.flush()


def _frozen_note(version: MileageVersion, hits: list[tuple[int, list[int]]]) -> str:
    suggest = date(max(year for year, _ in hits) + 1, 1, 1).isoformat()
    return (f"列养里程版本“{version.name}”未改动：{frozen_message(hits)}，该版本已冻结（登记簿已按文件更新）。"
            f"如需按本文件调整列养里程，请加 --effective 日期 新建版本（如 --effective {suggest}）")


def _mileage(written: list[tuple[_Row, Segment]], roads: dict[str, Road], register: _Register, rows: list[_Row],
             effective: date | None, complete: bool, counts: _Counts) -> _VersionOutcome:
    """Bring the file into the 列养里程 version it belongs to (re-set every two years, 第十五条).

    A version is complete: with --effective D the file goes into the version dated D, or a
    new one that starts from the version in force before D (with none, from the whole
    register); without, into the latest version. A partial file changes only its own
    segments; ``complete`` removes the others from the version.
    """
    db.session.flush()  # new segments and villages need their ids
    target = mileage.version_at(effective) if effective else mileage.latest_version()
    new_date = effective or (target.effective_from if target else date(beijing_today().year, 1, 1))
    previous = None if target else mileage.previous_version(new_date)
    if target is not None:
        before, base_name = mileage.version_entries(target), target.name
        base = before
    elif previous is not None:
        before, base_name = mileage.version_entries(previous), previous.name
        base = before
    else:
        before, base_name = {}, None
        base = mileage.register_entries()
    after = merge_version(base, _file_entries(written), complete)
    after = _with_road_classes(after, roads, register, rows)
    diff = mileage.diff(before, after)
    villages = [*register.villages_by_code.values(), *(v.created for v in register.new_villages.values() if v.created)]
    names = mileage.Names(set(register.towns.values()), villages, set(register.stations.values()))
    lines = mileage.describe(diff, names=names)
    name = target.name if target else f"{new_date.year}年列养里程"
    if target is not None and diff.is_empty:
        return _VersionOutcome(name, base_name, diff, lines)
    hits = mileage.frozen_for(new_date, existing=target is not None)
    if hits:
        if effective is not None:
            reason = mileage.frozen_refusal(hits, new_date)
            raise ImportFailed(f"导入失败：{reason}，未写入任何数据", [RowError(0, "列养里程版本", reason)])
        return _VersionOutcome(name, base_name, diff, lines, frozen=_frozen_note(target, hits) if target
                               else f"未创建列养里程版本：{frozen_message(hits)}，请加 --effective 日期 新建版本")
    version = target
    if version is None:
        version = MileageVersion(name=name, effective_from=new_date)
        db.session.add(version)
        db.session.flush()
    _write_mileage(mileage.changes(before if target else {}, after), version, counts)
    mileage.record_version_change(version, diff, created=target is None)
    return _VersionOutcome(name, base_name, diff, lines)


def _write(rows: list[_Row], register: _Register, effective: date | None, complete: bool,
           progress: Progress | None) -> tuple[_Counts, _VersionOutcome]:
    counts = _Counts()
    _create_villages(register, counts)
    roads = _upsert_roads(rows, register, counts)
    written = _upsert_segments(rows, roads, register, counts, progress)
    outcome = _mileage(written, roads, register, rows, effective, complete, counts)
    return counts, outcome


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def import_roads(path, mapping: dict | None = None, dry_run: bool = False, effective: date | None = None,
                 create_villages: bool = False, encoding: str | None = None,
                 progress: Progress | None = None, complete: bool = False,
                 confirm: bool | None = None) -> ImportReport:
    """Import a road layer into the register: all rows or none.

    Raises ImportFailed (nothing written) listing every bad row; returns an
    ImportReport otherwise. ``dry_run`` checks and counts everything, then
    rolls back. ``complete`` says the file is the whole network: segments it
    lacks leave the mileage version (they stay in the register). ``confirm``
    is the interfaces' "--yes": False makes an import into a register that
    already holds segments a preview (the report's difference, nothing
    written, ``needs_confirmation``); None (programmatic callers) writes. The whole import is one transaction of the current session,
    which this function commits or rolls back: call it with no pending work.
    Progress is reported as ("校验", rows checked) and then ("导入", rows written).
    """
    path = Path(path)
    mapping = _check_mapping(mapping, _MappingFailed) if mapping else {}
    frame, records = _read_frame(path, encoding)
    geometry_column = getattr(frame, "_geometry_column_name", None)
    if geometry_column is None or geometry_column not in frame.columns:
        raise _file_error(f"文件 {path.name} 没有几何列（须为线图层）", GEOMETRY_LABEL)
    if len(frame) == 0:
        raise _file_error(f"文件 {path.name} 中没有数据行")
    columns = _resolve_columns([c for c in frame.columns if c != geometry_column], mapping)
    frame = _to_lonlat(frame, path.name)
    try:
        hold = confirm is False and not dry_run and bool(db.session.scalar(select(func.count(Segment.id))))
        register = _Register(create_villages)
        rows = _read_rows(records, list(frame.geometry.values), columns, register, progress)
        warnings = _length_warnings(rows)
        counts, outcome = _write(rows, register, effective, complete, progress)
        if dry_run or hold:
            db.session.rollback()
        else:
            db.session.commit()
    except ImportFailed:
        db.session.rollback()
        raise
    except (DatabaseError, StaleDataError) as exc:
        # Most likely someone changed the register while we were importing: a unique key, the
        # stake-overlap trigger (a ProgrammingError on PostgreSQL) or the segments' optimistic lock.
        db.session.rollback()
        raise _file_error(f"写入时数据库拒绝（可能有人同时修改了路网），未写入任何数据：{exc.__class__.__name__}: "
                          f"{str(exc).splitlines()[0]}") from exc
    except BaseException:
        db.session.rollback()
        raise
    return ImportReport(
        path=str(path), rows=len(frame), created=counts.created, updated=counts.updated,
        unchanged=counts.unchanged, roads_created=counts.roads_created, length_warnings=warnings,
        dry_run=dry_run, mileage_version=outcome.name, roads_updated=counts.roads_updated,
        villages_created=counts.villages_created, mileage_written=counts.mileage_written,
        mileage_base=outcome.base, mileage_diff=outcome.diff, mileage_lines=outcome.lines,
        mileage_frozen=outcome.frozen, needs_confirmation=hold, complete=complete,
    )

