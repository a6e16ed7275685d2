"""OpenAPI response schemas of /api/v1, third part: patrol tracks (巡查轨迹, 第二十二条 手机APP), written
from what services/patrol_views.py returns — a track with its metrics, flags, the year's rules and
per-segment coverage, the same with its points, the GeoJSON layer, and the GPX download."""

from __future__ import annotations

from roadchief.domain.patrol_proof import FLAG_LABELS, RULE_LIMITS
from roadchief.domain.scoring import DUTY_PHASES
from roadchief.models.patrols import PATROL_KINDS, SOURCES
from roadchief.web.api.schemas import (
    BOOLEAN,
    INTEGER,
    MOMENT,
    NUMBER,
    STRING,
    array,
    feature_collection,
    nullable,
    obj,
    ref,
)

GPX_MEDIA = "application/gpx+xml"
METRES = {**INTEGER, "minimum": 0, "description": "米"}
PERCENT = {**STRING, "pattern": r"^\d{1,3}\.\d$", "description": "覆盖率（%，一位小数的字符串）", "example": "96.4"}
PHASES = sorted({phase for phases in DUTY_PHASES.values() for phase in phases})

TRACK_SEGMENT = obj(
    {
        "segment_id": INTEGER,
        "segment": {**STRING, "description": "路线编码与起止桩号，如 C123 K0+000–K2+300"},
        "segment_m": {**METRES, "description": "路段长度（米，EPSG:4544）"},
        "covered_m": {**METRES, "description": "缓冲距离内、车速不超限的覆盖长度（米）"},
        "passed_m": {**METRES, "description": "超过最高车速路过的长度（米，不计覆盖）"},
        "coverage_pct": PERCENT,
        "covered": {**BOOLEAN, "description": "覆盖率达到当年阈值"},
        "driven_past": {**BOOLEAN, "description": "超速路过"},
    }
)
RULES = obj(
    {
        "year": {**INTEGER, "description": "核验规则所属年度（轨迹开始时的北京时间年份）"},
        **{
            name: {**INTEGER, "minimum": low, "maximum": high, "description": label}
            for name, (low, high, label) in RULE_LIMITS.items()
        },
    },
    description="该轨迹核验时所用的当年规则",
)
PATROL_TRACK = obj(
    {
        "id": INTEGER,
        "client_id": {**STRING, "format": "uuid", "description": "客户端编号（未提供时由服务器生成）"},
        "patroller": STRING,
        "chief_id": nullable(INTEGER),
        "kind": {**STRING, "enum": list(PATROL_KINDS)},
        "kind_label": {**STRING, "enum": list(PATROL_KINDS.values())},
        # OpenAPI 3.0: a nullable enum lists null among its values
        "duty_phase": nullable(
            {**STRING, "enum": [*PHASES, None], "description": "汛期：雨前/雨中/雨后；冬季：除雪/撒砂"}
        ),
        "source": {**STRING, "enum": list(SOURCES)},
        "started_at": MOMENT,
        "ended_at": MOMENT,
        "metrics": obj(
            {
                "points": {**INTEGER, "minimum": 2, "description": "定位点数"},
                "duration_s": {**INTEGER, "minimum": 0, "description": "时长（秒）"},
                "length_m": {**METRES, "description": "里程（米）"},
                "fast_m": {**METRES, "description": "超过最高车速的里程（米）"},
                "max_speed_kmh": {**INTEGER, "minimum": 0, "description": "最高车速（km/h）"},
                "gaps": {**INTEGER, "minimum": 0, "description": "定位中断次数"},
            }
        ),
        "flags": {**array({**STRING, "enum": list(FLAG_LABELS)}), "description": "核验标记（无则为空）"},
        "flag_labels": {**array({**STRING, "enum": list(FLAG_LABELS.values())}), "description": "核验标记的中文"},
        "passed": {**BOOLEAN, "description": "核验通过（无标记）"},
        "rules": RULES,
        "segments": {**array(TRACK_SEGMENT), "description": "经过的路段，覆盖率高的在前"},
        "note": STRING,
    }
)
POINT = obj(
    {
        "lon": {**NUMBER, "description": "经度（WGS84）"},
        "lat": {**NUMBER, "description": "纬度（WGS84）"},
        "t": {**NUMBER, "description": "定位时间（Unix 秒，UTC）"},
    }
)
PATROL_TRACK_DETAIL = {
    "allOf": [ref("PatrolTrack"), obj({"points": {**array(POINT), "minItems": 2, "description": "按时间先后的定位点"}})]
}
LAYER_PROPERTIES = obj(
    {
        "layer": {**STRING, "enum": ["patrol"]},
        "id": INTEGER,
        "patroller": STRING,
        "kind": {**STRING, "enum": list(PATROL_KINDS.values()), "description": "巡查类型（中文）"},
        "started_at": {**STRING, "description": "北京时间 YYYY-MM-DD HH:MM"},
        "length_m": METRES,
        "duration_s": {**INTEGER, "minimum": 0},
        "passed": BOOLEAN,
        "flags": {**array({**STRING, "enum": list(FLAG_LABELS.values())}), "description": "核验标记（中文）"},
        "coverage_pct": {**PERCENT, "description": "经过路段中最高的覆盖率（%）"},
        "url": {**STRING, "description": "轨迹页面"},
    }
)
_LAYER = feature_collection(LAYER_PROPERTIES, "LineString")
PATROL_LAYER = {
    **_LAYER,
    "required": [*_LAYER["required"], "truncated"],
    "properties": {
        **_LAYER["properties"],
        "truncated": {**BOOLEAN, "description": "达到条数上限（300 条），更早的轨迹未列出"},
    },
}
GPX_DOCUMENT = {**STRING, "format": "binary", "description": "GPX 1.1 文档（UTF-8，<trkpt> 的时间为 UTC）"}

PATROL_SCHEMAS: dict[str, dict] = {
    "PatrolTrack": PATROL_TRACK,
    "PatrolTrackDetail": PATROL_TRACK_DETAIL,
    "PatrolTrackList": obj({"tracks": array(ref("PatrolTrack"))}),
    "PatrolTrackCollection": PATROL_LAYER,
    "GpxDocument": GPX_DOCUMENT,
}
