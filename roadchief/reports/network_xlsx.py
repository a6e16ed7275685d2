"""The road register as a spreadsheet the importer reads back: one header row, one row per segment, the line as WKT."""

from __future__ import annotations

from roadchief.reports.list_xlsx import ListColumn, list_workbook
from roadchief.services.importing.workbook import split_wkt, wkt_headers

_WIDTHS = {"路线编码": 13, "路线名称": 22, "起点桩号": 11, "止点桩号": 11, "所属乡镇": 10, "所属村": 10, "公路站": 14}


def network_xlsx(rows: list[dict], columns) -> bytes:
    """``rows`` from ``services.network_export.register_rows``; ``columns`` its COLUMNS."""
    import shapely

    wkts = [split_wkt(shapely.to_wkt(shapely.from_geojson(row["geometry"]), rounding_precision=-1)) for row in rows]
    pieces = max(len(w) for w in wkts)
    kinds = {"km": "km", "metres": "number", "text": "text"}
    sheet_columns = [ListColumn(c.label, _WIDTHS.get(c.label, 9), kinds[c.kind]) for c in columns]
    sheet_columns += [ListColumn(h, 40) for h in wkt_headers(pieces)]
    values = ([row[c.key] for c in columns] + wkt + [None] * (pieces - len(wkt)) for row, wkt in zip(rows, wkts))
    return list_workbook("路网", sheet_columns, values)
