"""Lossless export of the road register (GeoPackage, Shapefile, GeoJSON, XLSX) in the importer's own columns.

Every register attribute of a segment goes out under a column name the importer reads back
(``services/importing/columns.py``): the Chinese 普查 names in GeoPackage, GeoJSON and XLSX, the
pinyin initials (LXBM, QDZH …) in a Shapefile, whose DBF holds 10 characters per column name.
Stakes are K-form text (K1+200), so no reader can take metres for kilometres; 列养里程 and
路面宽度 are numbers with their exact decimals. Importing the file into an empty register
(same towns, villages and stations) gives the same register and the same ``network summary``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Road, Segment
from roadchief.services import Invalid

LAYER_NAME = "路网"
FORMATS = ("gpkg", "shp", "geojson", "xlsx")
_SUFFIX_FORMATS = {
    ".gpkg": "gpkg",
    ".shp": "shp",
    ".zip": "shp",
    ".geojson": "geojson",
    ".json": "geojson",
    ".xlsx": "xlsx",
}
DBF_TEXT_BYTES = 254  # a DBF text field holds at most 254 bytes


@dataclass(frozen=True)
class Column:
    key: str
    label: str  # 普查 name, read back by the importer (or, for 实测里程 and codes, ignored on import)
    shp: str  # ≤ 10 characters, the pinyin initials the importer also knows
    kind: str = "text"  # text | km | metres


COLUMNS: tuple[Column, ...] = (
    Column("road_code", "路线编码", "LXBM"),
    Column("road_name", "路线名称", "LXMC"),
    Column("road_class", "行政等级", "XZDJ"),
    Column("start_stake", "起点桩号", "QDZH"),
    Column("end_stake", "止点桩号", "ZDZH"),
    Column("listed_km", "列养里程", "LYLC", "km"),
    Column("is_listed", "是否列养", "SFLY"),
    Column("tech_grade", "技术等级", "JSDJ"),
    Column("surface", "路面类型", "LMLX"),
    Column("width", "路面宽度", "LMKD", "metres"),
    Column("town", "所属乡镇", "SSXZ"),
    Column("village", "所属村", "SSC"),
    Column("station", "公路站", "GLZ"),
    # for the reader; the importer derives or looks these up itself
    Column("town_code", "乡镇代码", "XZDM"),
    Column("village_code", "村代码", "CDM"),
    Column("station_code", "公路站代码", "GLZDM"),
    Column("measured_km", "实测里程", "SCLC", "km"),
)


def export_format(path: Path, fmt: str | None) -> str:
    """The format asked for, else the one the file name says."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise Invalid(f"不支持的导出格式“{fmt}”（可选：{'、'.join(FORMATS)}）")
        return fmt
    found = _SUFFIX_FORMATS.get(path.suffix.lower())
    if found is None:
        raise Invalid(
            f"无法从文件名“{path.name}”判断导出格式：请用 .gpkg、.shp、.zip、.geojson 或 .xlsx，或加 --format"
        )
    return found


def _km(metres: int) -> Decimal:
    return (Decimal(metres) / 1000).quantize(Decimal("0.001"))


def register_rows(user=None) -> list[dict]:
    """Every segment (in the user's scope; all for None) as {column key: value, "geometry": GeoJSON text}."""
    from roadchief.services.permissions import segment_condition

    query = (
        select(Segment)
        .join(Road)
        .options(
            selectinload(Segment.road),
            selectinload(Segment.town),
            selectinload(Segment.village),
            selectinload(Segment.station),
        )
        .order_by(Road.code, Segment.start_m)
    )
    if user is not None:
        query = query.where(segment_condition(user))
    rows = []
    for s in db.session.scalars(query):
        rows.append(
            {
                "road_code": s.road.code,
                "road_name": s.road.name,
                "road_class": s.road.road_class,
                "start_stake": format_stake(s.start_m),
                "end_stake": format_stake(s.end_m),
                "listed_km": _km(s.listed_m),
                "is_listed": "是" if s.is_listed else "否",
                "tech_grade": s.tech_grade,
                "surface": s.surface,
                "width": None if s.width_dm is None else (Decimal(s.width_dm) / 10).quantize(Decimal("0.1")),
                "town": s.town.name,
                "village": s.village.name if s.village else None,
                "station": s.station.name if s.station else None,
                "town_code": s.town.code,
                "village_code": s.village.code if s.village else None,
                "station_code": s.station.code if s.station else None,
                "measured_km": _km(s.measured_m),
                "geometry": s.geometry,
            }
        )
    return rows


def _gis_value(value):
    # A GIS field is a double: the km and metres numbers (three and one decimals) survive it exactly,
    # since the importer reads a double back through its shortest repr.
    return float(value) if isinstance(value, Decimal) else value


def _frame(rows: list[dict], shapefile: bool):
    import geopandas
    import shapely

    names = {c.key: (c.shp if shapefile else c.label) for c in COLUMNS}
    records = [{names[c.key]: _gis_value(row[c.key]) for c in COLUMNS} for row in rows]
    geometries = [shapely.from_geojson(row["geometry"]) for row in rows]
    frame = geopandas.GeoDataFrame(records, geometry=geometries, crs="EPSG:4326", columns=list(names.values()))
    return frame


def _check_dbf_widths(rows: list[dict]) -> None:
    for number, row in enumerate(rows, 1):
        for column in COLUMNS:
            value = row[column.key]
            if isinstance(value, str) and len(value.encode("utf-8")) > DBF_TEXT_BYTES:
                raise Invalid(
                    f"第 {number} 行（{row['road_code']} {row['start_stake']}）的{column.label}超过 Shapefile 的 "
                    f"{DBF_TEXT_BYTES} 字节上限，无法无损导出为 Shapefile：请导出为 GeoPackage 或 GeoJSON"
                )


def _write_shapefile(frame, path: Path) -> None:
    """A Shapefile with a .cpg saying UTF-8; for a .zip, the files of one inside the archive."""
    if path.suffix.lower() != ".zip":
        frame.to_file(path, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
        return
    with tempfile.TemporaryDirectory() as folder:
        shp = Path(folder) / f"{path.stem}.shp"
        frame.to_file(shp, driver="ESRI Shapefile", engine="pyogrio", encoding="UTF-8")
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            for part in sorted(Path(folder).iterdir()):
                archive.write(part, part.name)


def _write_geojson(rows: list[dict], path: Path) -> None:
    """RFC 7946 text written by hand around the stored geometry (no float re-serialisation)."""
    features = []
    for row in rows:
        properties = {
            c.label: (None if row[c.key] is None else float(row[c.key]) if c.kind != "text" else row[c.key])
            for c in COLUMNS
        }
        props = json.dumps(properties, ensure_ascii=False, separators=(",", ":"))
        features.append(f'{{"type":"Feature","properties":{props},"geometry":{row["geometry"]}}}')
    path.write_text('{"type":"FeatureCollection","features":[\n' + ",\n".join(features) + "\n]}\n", "utf-8")


def export_network(path, fmt: str | None = None, user=None) -> int:
    """Write the register (the user's scope; everything for None) to ``path``; returns the segment count."""
    path = Path(path)
    fmt = export_format(path, fmt)
    rows = register_rows(user)
    if not rows:
        raise Invalid("登记簿中没有路段，无可导出")
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        from roadchief.reports.network_xlsx import network_xlsx

        path.write_bytes(network_xlsx(rows, COLUMNS))
    elif fmt == "geojson":
        _write_geojson(rows, path)
    elif fmt == "shp":
        _check_dbf_widths(rows)
        _write_shapefile(_frame(rows, shapefile=True), path)
    else:
        if path.exists():
            path.unlink()  # GDAL would add a layer to an existing GeoPackage
        _frame(rows, shapefile=False).to_file(path, driver="GPKG", layer=LAYER_NAME, engine="pyogrio")
    return len(rows)


def export_bytes(fmt: str, user=None) -> tuple[bytes, str, str]:
    """The export as (content, file name, MIME type) for a download; a Shapefile comes zipped."""
    names = {"gpkg": "路网.gpkg", "shp": "路网.zip", "geojson": "路网.geojson", "xlsx": "路网.xlsx"}
    mimes = {
        "gpkg": "application/geopackage+sqlite3",
        "shp": "application/zip",
        "geojson": "application/geo+json",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
    fmt = export_format(Path(names.get(fmt, "x")), fmt)
    folder = Path(tempfile.mkdtemp(prefix="roadchief-export-"))
    try:
        target = folder / names[fmt]
        export_network(target, fmt, user)
        return target.read_bytes(), names[fmt], mimes[fmt]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
