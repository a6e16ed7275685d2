"""Builders for road-network import files, made in tmp_path with geopandas (no binary fixtures).

Lines are drawn in EPSG:4544 metres near 青铜峡 (≈106°E, 38°N), so a segment
listed as 2.000 km really is 2000 m long in the projection the importer
measures in, and a deliberately wrong length is wrong by a known amount.
"""

from __future__ import annotations

import copy
import zipfile
from decimal import Decimal
from pathlib import Path

import geopandas
from shapely.geometry import LineString

from roadchief.extensions import db
from roadchief.models import Station, Town, Village

PROJECTED = "EPSG:4544"
ORIGIN_X, ORIGIN_Y = 587_000.0, 4_208_000.0  # ≈ 106.0°E, 38.0°N in EPSG:4544

CHINESE = {
    "road_code": "路线编码",
    "road_name": "路线名称",
    "road_class": "行政等级",
    "start_stake": "起点桩号",
    "end_stake": "止点桩号",
    "listed_km": "列养里程",
    "tech_grade": "技术等级",
    "surface": "路面类型",
    "width": "路面宽度",
    "town": "所属乡镇",
    "village": "所属村",
    "is_listed": "是否列养",
    "station": "公路站",
}
PINYIN = {
    "road_code": "LXBM",
    "road_name": "LXMC",
    "road_class": "XZDJ",
    "start_stake": "QDZH",
    "end_stake": "ZDZH",
    "listed_km": "LYLC",
    "tech_grade": "JSDJ",
    "surface": "LMLX",
    "width": "LMKD",
    "town": "SSXZ",
    "village": "SSC",
    "is_listed": "SFLY",
    "station": "GLZ",
}
ENGLISH = {name: name for name in CHINESE}

TOWNS = [("640381100", "小坝镇"), ("640381101", "大坝镇")]
VILLAGES = [
    ("640381100", "640381100201", "沙湖村"),
    ("640381100", "640381100202", "韦桥村"),
    ("640381101", "640381101201", "大坝村"),
]
STATIONS = [("GLZ01", "小坝公路站")]


def seed_register() -> None:
    """The towns, villages and station the sample network refers to."""
    towns = {code: Town(code=code, name=name, kind="镇") for code, name in TOWNS}
    db.session.add_all(towns.values())
    db.session.add_all(Village(town=towns[town], code=code, name=name) for town, code, name in VILLAGES)
    db.session.add_all(Station(code=code, name=name) for code, name in STATIONS)
    db.session.commit()


def line_east(start_m: float, length_m: float, y_offset: float = 0.0, vertices: int = 5) -> LineString:
    """A straight line in EPSG:4544 running east from ORIGIN_X + start_m, ``length_m`` long."""
    x0 = ORIGIN_X + start_m
    step = length_m / (vertices - 1)
    return LineString([(x0 + i * step, ORIGIN_Y + y_offset) for i in range(vertices)])


def _row(code, name, road_class, start, end, km, town, village, y, **extra) -> dict:
    start_m, end_m = int(Decimal(start) * 1000), int(Decimal(end) * 1000)
    row = {
        "road_code": code,
        "road_name": name,
        "road_class": road_class,
        "start_stake": f"K{start_m // 1000}+{start_m % 1000:03d}",
        "end_stake": f"K{end_m // 1000}+{end_m % 1000:03d}",
        "listed_km": km,
        "tech_grade": "四级",
        "surface": "沥青",
        "width": "4.5",
        "town": town,
        "village": village,
        "is_listed": "是",
        "station": None,
        "geometry": line_east(start_m, end_m - start_m, y),
    }
    row.update(extra)
    return row


def network_rows() -> list[dict]:
    """3 roads, 6 segments, 2 towns; canonical keys, geometry in EPSG:4544."""
    return copy.deepcopy(
        [
            _row("X101640381", "青铜峡—小坝公路", "市道", "0", "2", "2.000", "小坝镇", None, 0, station="小坝公路站"),
            _row("X101640381", "青铜峡—小坝公路", "市道", "2", "4.5", "2.500", "小坝镇", None, 0),
            _row(
                "Y012640381", "大坝—韦桥公路", "镇道", "0", "1.5", "1.500", "大坝镇", None, 1000, surface="水泥混凝土"
            ),
            _row("Y012640381", "大坝—韦桥公路", "镇道", "1.5", "3.2", "1.700", "640381101", "大坝村", 1000),
            _row("C003640381", "沙湖村道", "村道", "0", "1.2", "1.200", "小坝镇", "沙湖村", 2000, tech_grade="等外"),
            _row("C003640381", "沙湖村道", "村道", "1.2", "2", "0.800", "小坝镇", "640381100202", 2000, is_listed="否"),
        ]
    )


def _km(stake: str) -> float:
    km, metres = stake.lstrip("K").split("+")
    return int(km) + int(metres) / 1000


def write_layer(
    rows: list[dict],
    path: Path,
    columns: dict[str, str] = CHINESE,
    crs: str = "EPSG:4326",
    numeric: bool = False,
    encoding: str | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """Write rows (canonical keys, EPSG:4544 geometry) with the given column names and CRS.

    ``numeric`` stores stakes as kilometres and 列养里程 as a number, as DBF-based
    普查 layers usually do; otherwise they are text such as "K1+200" and "2.000".
    """
    records = []
    for row in rows:
        record = {}
        for name, column in columns.items():
            if name in drop:
                continue
            value = row.get(name)
            if numeric and value is not None and name in ("start_stake", "end_stake"):
                value = _km(value) if isinstance(value, str) and value.startswith("K") else value
            if numeric and value is not None and name in ("listed_km", "width") and isinstance(value, str):
                value = float(value)
            record[column] = value
        records.append(record)
    frame = geopandas.GeoDataFrame(records, geometry=[row["geometry"] for row in rows], crs=PROJECTED)
    if crs != PROJECTED:
        frame = frame.to_crs(crs)
    options = {"engine": "pyogrio"}
    if encoding:
        options["encoding"] = encoding
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_file(path, **options)
    return path


SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def zip_shapefile(shp: Path, target: Path, include_cpg: bool = True, folder: str = "") -> Path:
    """Zip a written shapefile, optionally without its .cpg (as many 普查 exports come)."""
    with zipfile.ZipFile(target, "w") as archive:
        for suffix in SHAPEFILE_PARTS:
            part = shp.with_suffix(suffix)
            if part.exists() and (include_cpg or suffix != ".cpg"):
                archive.write(part, f"{folder}{shp.stem}{suffix}")
    return target


def clear_ldid(dbf: Path) -> None:
    """Zero the DBF language-driver byte, so only the text itself tells its encoding."""
    data = bytearray(dbf.read_bytes())
    data[29] = 0
    dbf.write_bytes(bytes(data))
