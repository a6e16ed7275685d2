"""Reading a layer file (GeoJSON, Shapefile, zipped Shapefile, GeoPackage): encodings, CRS → lon/lat."""

from __future__ import annotations

import codecs
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roadchief.services.importing.geometry import in_lonlat_range
from roadchief.services.importing.results import GEOMETRY_LABEL, file_error

_SUFFIX_KINDS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".shp": "shp",
    ".zip": "zip",
    ".gpkg": "gpkg",
    ".xlsx": "xlsx",
}


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
        raise file_error(f"无法读取压缩包 {path.name}：{exc}") from None
    shapefiles = [n for n in names if n.lower().endswith(".shp")]
    if not shapefiles:
        raise file_error(f"压缩包 {path.name} 中没有 .shp 文件")
    if len(shapefiles) > 1:
        raise file_error(f"压缩包 {path.name} 中有多个 .shp 文件（{'、'.join(shapefiles)}），请一次导入一个")
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
        raise file_error(f"无法读取文件 {path.name}：{exc}") from exc
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
    import numpy

    attributes = frame.drop(columns=[geometry_column]) if geometry_column in frame.columns else frame
    names = list(attributes.columns)
    # Column by column (tolist boxes numpy scalars as Python ones, as to_dict does; object
    # columns are boxed here): 5× faster than to_dict("records") on 60,000 rows.
    values = []
    for position in range(len(names)):
        column = attributes.iloc[:, position].tolist()
        values.append([v.item() if isinstance(v, numpy.generic) else v for v in column])
    return [dict(zip(names, row)) for row in zip(*values)] if names else [{} for _ in range(len(attributes))]


def _encoding_name(encoding: str) -> str:
    """Python's canonical codec name ("latin-1" → "iso8859-1", "cp936" → "gbk"), which iconv in GDAL also knows."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise file_error(f"未知的文字编码：{encoding}（常用 UTF-8 或 GBK）") from None


def read_frame(path: Path, encoding: str | None):
    """The layer as a GeoDataFrame plus its attribute rows as plain dicts."""
    import geopandas

    kind = _SUFFIX_KINDS.get(path.suffix.lower())
    if kind is None:
        raise file_error(
            f"不支持的文件格式“{path.suffix or path.name}”（可导入 .geojson/.json、.shp、含 .shp 的 .zip、.gpkg、.xlsx）"
        )
    if not path.exists():
        raise file_error(f"文件不存在：{path.name}")
    if kind == "xlsx":
        from roadchief.services.importing.workbook import read_workbook

        return read_workbook(path)
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
    raise file_error(f"无法读取文件 {path.name}：{last_error}") from last_error


def to_lonlat(frame, file_name: str):
    """Reproject to EPSG:4326 (GeoJSON storage); a file without CRS must already be lon/lat."""
    present = frame.geometry[~(frame.geometry.isna() | frame.geometry.is_empty)]
    if frame.crs is None:
        if len(present) and not in_lonlat_range(present.total_bounds):
            raise file_error(f"文件 {file_name} 缺少坐标系（.prj），且坐标不是经纬度，无法确定位置")
        return frame.set_crs("EPSG:4326")
    if frame.crs.is_geographic and len(present) and not in_lonlat_range(present.total_bounds):
        # e.g. a GeoJSON holding projected metres without a "crs" member
        raise file_error(f"文件 {file_name} 的坐标不是经纬度，但文件未声明投影坐标系（缺少坐标系）")
    if frame.crs.to_epsg() == 4326:
        return frame
    try:
        return frame.to_crs("EPSG:4326")
    except Exception as exc:
        raise file_error(f"无法把文件 {file_name} 的坐标系 {frame.crs.to_string()} 转换为经纬度：{exc}") from exc


@dataclass
class Layer:
    """A layer read and checked to hold rows and a geometry column; geometries still in the file's CRS."""

    path: Path
    frame: Any  # the GeoDataFrame
    records: list[dict]  # attribute rows as plain dicts
    columns: list[str]  # attribute columns, the geometry column left out

    def lonlat_geometries(self) -> list:
        """Every row's geometry in EPSG:4326 (ImportFailed when the CRS cannot be placed)."""
        return list(to_lonlat(self.frame, self.path.name).geometry.values)


def open_layer(path: Path, encoding: str | None, geometry_note: str = "") -> Layer:
    """Read a layer; ImportFailed when it cannot be read, has no geometry column or no rows."""
    frame, records = read_frame(path, encoding)
    geometry_column = getattr(frame, "_geometry_column_name", None)
    if geometry_column is None or geometry_column not in frame.columns:
        raise file_error(f"文件 {path.name} 没有几何列{geometry_note}", GEOMETRY_LABEL)
    if len(frame) == 0:
        raise file_error(f"文件 {path.name} 中没有数据行")
    return Layer(path, frame, records, [c for c in frame.columns if c != geometry_column])
