"""A road layer kept as a spreadsheet (the register's XLSX export): attribute columns plus the line as WKT.

A cell holds at most 32,767 characters, so a long line continues in the next columns
(``几何WKT``, ``几何WKT续1``, ``几何WKT续2`` …), read back joined; nothing is cut.
"""

from __future__ import annotations

from pathlib import Path

from roadchief.services.importing.results import GEOMETRY_LABEL, file_error

WKT_HEADER = "几何WKT"
WKT_CONTINUED = "几何WKT续"
CELL_LIMIT = 32_767  # Excel's characters per cell
WKT_CHUNK = 32_000


def wkt_headers(count: int) -> list[str]:
    return [WKT_HEADER] + [f"{WKT_CONTINUED}{i}" for i in range(1, count)]


def split_wkt(text: str) -> list[str]:
    return [text[i : i + WKT_CHUNK] for i in range(0, len(text), WKT_CHUNK)] or [""]


def _geometry_columns(header: list) -> list[int]:
    """Indexes of 几何WKT and its continuations, in order."""
    first = [i for i, name in enumerate(header) if name == WKT_HEADER]
    if not first:
        return []
    continued = {}
    for i, name in enumerate(header):
        if isinstance(name, str) and name.startswith(WKT_CONTINUED) and name[len(WKT_CONTINUED) :].isdigit():
            continued[int(name[len(WKT_CONTINUED) :])] = i
    return first + [continued[n] for n in sorted(continued)]


def read_workbook(path: Path):
    """The first sheet as a GeoDataFrame (EPSG:4326) plus its attribute rows as plain dicts."""
    import geopandas
    import shapely
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile/openpyxl raise many types; all mean "unreadable"
        raise file_error(f"无法读取电子表格 {path.name}：{exc}") from exc
    try:
        sheet = book.worksheets[0]
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    finally:
        book.close()
    rows = [r for r in rows if any(v not in (None, "") for v in r)]
    if not rows:
        raise file_error(f"电子表格 {path.name} 中没有数据行")
    header = [str(v).strip() if v is not None else "" for v in rows[0]]
    geometry_at = _geometry_columns(header)
    if not geometry_at:
        raise file_error(f"电子表格 {path.name} 没有“{WKT_HEADER}”列（线的 WKT 文本）", GEOMETRY_LABEL)
    attribute_at = [i for i, name in enumerate(header) if name and i not in geometry_at]
    records, geometries = [], []
    for number, values in enumerate(rows[1:], 1):
        values = values + [None] * (len(header) - len(values))
        records.append({header[i]: values[i] for i in attribute_at})
        text = "".join(str(values[i]) for i in geometry_at if values[i] not in (None, ""))
        try:
            geometries.append(shapely.from_wkt(text) if text else None)
        except Exception:  # shapely.errors.GEOSException: reported per row as a bad geometry
            raise file_error(
                f"电子表格 {path.name} 第 {number} 行的{WKT_HEADER}不是有效的 WKT", GEOMETRY_LABEL
            ) from None
    frame = geopandas.GeoDataFrame(records, geometry=geometries, crs="EPSG:4326")
    return frame, records
