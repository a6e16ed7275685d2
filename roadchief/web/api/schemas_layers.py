"""OpenAPI response schemas of /api/v1, second part: the map layers, events and assets (GeoJSON)."""

from __future__ import annotations

from roadchief.web.api.schemas import (
    BOOLEAN,
    DATE,
    INTEGER,
    KM,
    MOMENT,
    NUMBER,
    STAKE,
    STRING,
    array,
    feature_collection,
    nullable,
    obj,
)

# ---------------------------------------------------------------- map layers

MARKER_PROPERTIES = {
    "type": "object",
    "required": ["layer", "id", "located", "url"],
    "properties": {
        "layer": {**STRING, "enum": ["inspection", "rectification"]},
        "id": INTEGER,
        "located": {**STRING, "enum": ["gps", "segment"]},
        "url": STRING,
        "kind": STRING,
        "kind_label": STRING,
        "date": DATE,
        "office": STRING,
        "inspector": STRING,
        "findings": INTEGER,
        "segments": INTEGER,
        "inspection_id": INTEGER,
        "status": STRING,
        "status_label": STRING,
        "deadline": DATE,
        "overdue": BOOLEAN,
        "returned": INTEGER,
        "item": STRING,
        "item_code": STRING,
        "segment": STRING,
        "segment_id": INTEGER,
        "chief": nullable(STRING),
    },
}
TOWN_PROPERTIES = obj(
    {
        "code": STRING,
        "name": STRING,
        "kind": STRING,
        "segments": INTEGER,
        "listed_km": KM,
        "label": {**array(NUMBER), "minItems": 2, "maxItems": 2, "description": "标注点 [经度, 纬度]"},
    }
)
COVERAGE_GAPS = obj(
    {
        "date": DATE,
        "segments": array(
            obj(
                {
                    "id": INTEGER,
                    "code": STRING,
                    "name": STRING,
                    "town": STRING,
                    "village": nullable(STRING),
                    "missing": array(STRING),
                }
            )
        ),
    }
)

# ---------------------------------------------------------------- events and assets

EVENT = obj(
    {
        "id": INTEGER,
        "segment_id": INTEGER,
        "kind": STRING,
        "kind_label": STRING,
        "severity": STRING,
        "state": {**STRING, "enum": ["reported", "restored", "repaired"]},
        "state_label": STRING,
        "closed": BOOLEAN,
        "interrupted": BOOLEAN,
        "place": STRING,
        "occurred_at": MOMENT,
        "restored_at": nullable(MOMENT),
        "repaired_at": nullable(MOMENT),
        "stake": nullable(STAKE),
        "lon": nullable(NUMBER),
        "lat": nullable(NUMBER),
        "description": nullable(STRING),
        "warning_sign": nullable(STRING),
        "detour": nullable(STRING),
        "detour_road": nullable(STRING),
        "detour_geometry": nullable({"type": "object", "description": "GeoJSON LineString"}),
        "reported_by": nullable(STRING),
        "restored_by": nullable(STRING),
        "repaired_by": nullable(STRING),
        "hours_to_restore": nullable(NUMBER),
        "hours_to_repair": nullable(NUMBER),
    }
)
EVENT_PROPERTIES = {
    "type": "object",
    "required": ["id", "layer", "state"],
    "properties": {
        "id": INTEGER,
        "layer": {**STRING, "enum": ["event", "detour"]},
        "state": STRING,
        "kind": STRING,
        "kind_label": STRING,
        "severity": STRING,
        "state_label": STRING,
        "interrupted": BOOLEAN,
        "segment_id": INTEGER,
        "road_code": STRING,
        "place": STRING,
        "occurred_at": {**STRING, "description": "北京时间 YYYY-MM-DD HH:MM"},
        "detour": nullable(STRING),
        "warning_sign": nullable(STRING),
    },
}
ASSET_PROPERTIES = obj(
    {
        "id": INTEGER,
        "layer": {**STRING, "enum": ["asset"]},
        "code": nullable(STRING),
        "kind": STRING,
        "kind_label": STRING,
        "name": nullable(STRING),
        "condition": STRING,
        "condition_label": STRING,
        "segment_id": INTEGER,
        "stake": STRING,
    }
)

LAYER_SCHEMAS: dict[str, dict] = {
    "MarkerCollection": feature_collection(MARKER_PROPERTIES, "Point", truncated=BOOLEAN),
    "TownCollection": feature_collection(TOWN_PROPERTIES, "Polygon", "MultiPolygon"),
    "CoverageGaps": COVERAGE_GAPS,
    "Event": EVENT,
    "EventCollection": feature_collection(EVENT_PROPERTIES, "Point", "LineString", "MultiLineString"),
    "AssetCollection": feature_collection(ASSET_PROPERTIES, "Point", "LineString", "MultiLineString"),
    "VectorTile": {
        "type": "string",
        "format": "binary",
        "description": "Mapbox Vector Tile 2.1（protobuf），图层 roads，范围 4096，缓冲 64",
    },
}
