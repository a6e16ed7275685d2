"""The OpenAPI response schemas of /api/v1 (components/schemas), written from what the services
return, and the one error body every refusal has. ``returns`` documents an operation's answer;
the map layers, events and assets are in schemas_layers.py."""

from __future__ import annotations

# ---------------------------------------------------------------- building blocks (OpenAPI 3.0)

STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
MONEY = {"type": "string", "pattern": r"^-?\d+\.\d{2}$", "description": "元，两位小数的字符串", "example": "2565700.20"}
KM = {"type": "string", "pattern": r"^-?\d+\.\d{3}$", "description": "km，三位小数的字符串", "example": "388.701"}
DATE = {"type": "string", "format": "date"}
MOMENT = {"type": "string", "format": "date-time", "description": "北京时间，带 +08:00"}
STAKE = {"type": "string", "pattern": r"^K\d+\+\d{3}$", "example": "K3+200"}
ANY = {}


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


def array(items: dict) -> dict:
    return {"type": "array", "items": items}


def obj(properties: dict, optional: dict | None = None, **more) -> dict:
    """An object whose ``properties`` are always present (required) and ``optional`` ones may be."""
    return {"type": "object", "required": list(properties), "properties": {**properties, **(optional or {})}, **more}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def returns(name: str, description: str = "成功", status: int = 200, media: str = "application/json", **more) -> dict:
    """``@bp.doc(responses=...)``: the operation answers ``status`` with the schema ``name`` as
    ``media`` (a file download names its own content type); ``more`` adds other statuses
    ({409: "…"} style descriptions)."""
    answer = {"description": description, "content": {media: {"schema": ref(name)}}}
    return {status: answer, **{int(code): text for code, text in more.items()}}


KM_BY_CLASS = {"type": "object", "additionalProperties": KM, "description": "按行政等级（及 total 合计）的里程"}
MONEY_BY_CLASS = {"type": "object", "additionalProperties": {"type": "string"}}


def geometry(*types: str) -> dict:
    return nullable(obj({"type": {"type": "string", "enum": list(types)}, "coordinates": array(ANY)}))


def feature_collection(properties: dict, *geometries: str, **extra) -> dict:
    feature = obj(
        {"type": {"type": "string", "enum": ["Feature"]}, "geometry": geometry(*geometries), "properties": properties},
        {"id": {"oneOf": [STRING, INTEGER]}},
    )
    return obj({"type": {"type": "string", "enum": ["FeatureCollection"]}, "features": array(feature)}, extra)


# ---------------------------------------------------------------- the error body

ERROR = obj(
    {
        "error": {**STRING, "description": "错误说明（中文；业务拒绝时为具体原因，其他为状态的简短说明）"},
        "status": {**INTEGER, "description": "HTTP 状态码"},
        "code": {
            **STRING,
            "enum": [
                "bad_request",
                "unauthorized",
                "forbidden",
                "not_found",
                "method_not_allowed",
                "conflict",
                "too_large",
                "invalid",
                "validation_error",
                "rate_limited",
                "server_error",
                "error",
            ],
            "description": "机器可读的错误类别",
        },
        "message": {**STRING, "description": "给用户看的具体原因（中文）"},
        "errors": {**array(STRING), "description": "逐行或逐字段的错误（无则为空）"},
        "detail": {
            **ANY,
            "description": "补充：参数校验失败（422）时为 {位置: {字段: [原因]}}，其他为原因文字",
            "nullable": True,
        },
    },
    description="所有错误响应的统一格式",
)

# ---------------------------------------------------------------- network

SEGMENT_PROPERTIES = obj(
    {
        "id": INTEGER,
        "code": STRING,
        "name": STRING,
        "class": STRING,
        "start_m": INTEGER,
        "end_m": INTEGER,
        "listed_km": KM,
        "listed": BOOLEAN,
        "town": STRING,
        "town_code": STRING,
        "village": nullable(STRING),
        "score": nullable(STRING),
        "grade": nullable(STRING),
        "period": nullable(STRING),
    }
)
CHIEF_ON_SEGMENT = obj(
    {
        "position": STRING,
        "position_name": STRING,
        "name": STRING,
        "title": nullable(STRING),
        "phone": nullable(STRING),
        "chief_id": INTEGER,
    }
)
SEGMENT_DETAIL = obj(
    {
        "id": INTEGER,
        "code": STRING,
        "name": STRING,
        "class": STRING,
        "start": STAKE,
        "end": STAKE,
        "listed_km": KM,
        "measured_km": KM,
        "listed": BOOLEAN,
        "tech_grade": nullable(STRING),
        "surface": nullable(STRING),
        "town": STRING,
        "village": nullable(STRING),
        "station": nullable(STRING),
        "chiefs": array(CHIEF_ON_SEGMENT),
        "missing": {**array(STRING), "description": "缺失的必需路长（第八条）"},
        "score": nullable(STRING),
        "grade": nullable(STRING),
        "period": nullable(STRING),
    }
)
NETWORK_SUMMARY = obj(
    {
        "listed_km": KM_BY_CLASS,
        "roads": INTEGER,
        "segments": INTEGER,
        "unlisted_segments": INTEGER,
        "towns": array(obj({"code": STRING, "name": STRING, "listed_km": KM_BY_CLASS, "segments": INTEGER})),
    }
)

# ---------------------------------------------------------------- funding

PLAN_PLACE = obj(
    {"code": STRING, "name": STRING, "listed_km": KM_BY_CLASS, "local": MONEY, "remainder": MONEY, "standard": MONEY}
)
FUNDING_PLAN = obj(
    {
        "year": INTEGER,
        "generated_on": DATE,
        "mileage_version": obj({"effective_from": DATE, "name": STRING}),
        "listed_km": KM_BY_CLASS,
        "rates": MONEY_BY_CLASS,
        "local_share": STRING,
        "standard_total": MONEY,
        "local_total": MONEY,
        "remainder_total": MONEY,
        "towns": array(
            {
                **PLAN_PLACE,
                "properties": {
                    **PLAN_PLACE["properties"],
                    "own": obj({"listed_km": KM_BY_CLASS, "local": MONEY, "remainder": MONEY, "standard": MONEY}),
                    "villages": array(PLAN_PLACE),
                },
            }
        ),
    }
)
QUARTER_UNIT = obj(
    {
        "unit_key": STRING,
        "kind": {**STRING, "enum": ["town", "village", "station"]},
        "town": STRING,
        "town_code": STRING,
        "village": nullable(STRING),
        "village_code": nullable(STRING),
        "chief": nullable(STRING),
        "chief_id": nullable(INTEGER),
        "chief_title": nullable(STRING),
        "chiefs": array(obj({"id": INTEGER, "name": STRING, "title": nullable(STRING), "months": array(INTEGER)})),
        "listed_km": KM_BY_CLASS,
        "base": MONEY,
        "quarter_base": MONEY,
        "score": nullable(STRING),
        "score_source": nullable(STRING),
        "grade": nullable(STRING),
        "factor": nullable(STRING),
        "payable": MONEY,
        "deduction": MONEY,
        "withheld": MONEY,
        "provisional": BOOLEAN,
        "note": nullable(STRING),
    }
)
FUNDING_QUARTER = obj(
    {
        "year": INTEGER,
        "quarter": INTEGER,
        "status": STRING,
        "provisional": BOOLEAN,
        "generated_on": DATE,
        "closed_at": nullable(STRING),
        "closed_by": nullable(STRING),
        "params": {"type": "object", "description": "本年度经费参数（第十五条–第十八条）"},
        "budget": MONEY,
        "payable_total": MONEY,
        "deduction_total": MONEY,
        "withheld_total": MONEY,
        "pool": MONEY,
        "units": array(QUARTER_UNIT),
    },
    {"adjustments": array({"type": "object"})},
)

# ---------------------------------------------------------------- inspections and rectifications

RECTIFICATION = obj(
    {
        "id": INTEGER,
        "finding_id": INTEGER,
        "inspection_id": INTEGER,
        "chief_id": nullable(INTEGER),
        "chief": nullable(STRING),
        "deadline": DATE,
        "state": {**STRING, "enum": ["open", "done", "verified"]},
        "state_label": STRING,
        "overdue": BOOLEAN,
        "late": BOOLEAN,
        "chief_note": STRING,
        "office_note": STRING,
        "returned_count": INTEGER,
        "completed_at": nullable(MOMENT),
        "verified_at": nullable(MOMENT),
        "item": STRING,
        "segment": STRING,
    }
)
INSPECTION_SEGMENT = obj(
    {
        "id": INTEGER,
        "label": STRING,
        "road_code": STRING,
        "road_name": STRING,
        "road_class": STRING,
        "start": STAKE,
        "end": STAKE,
        "town": STRING,
        "village": nullable(STRING),
        "distance_m": nullable(INTEGER),
        "far": BOOLEAN,
    },
    {"chief_id": nullable(INTEGER)},
)
FINDING = obj(
    {
        "id": INTEGER,
        "segment_id": INTEGER,
        "item": STRING,
        "text": STRING,
        "category": STRING,
        "quantity": INTEGER,
        "unit": STRING,
        "points": {**STRING, "description": "扣分（字符串）"},
        "note": STRING,
        "chief_id": nullable(INTEGER),
        "photos": array(INTEGER),
        "rectification": nullable(ref("Rectification")),
    }
)
INSPECTION = obj(
    {
        "id": INTEGER,
        "client_uuid": nullable(STRING),
        "kind": STRING,
        "kind_label": STRING,
        "inspected_at": MOMENT,
        "inspector": STRING,
        "office": STRING,
        "office_key": STRING,
        "catalog": STRING,
        "frozen": BOOLEAN,
        "lon": nullable(NUMBER),
        "lat": nullable(NUMBER),
        "note": STRING,
        "segments": array(ref("InspectionSegment")),
        "findings": array(ref("Finding")),
        "photos": array(INTEGER),
    }
)
RECORDED_INSPECTION = {
    "allOf": [ref("Inspection"), obj({"warnings": {**array(STRING), "description": "提醒（如定位远离路段）"}})]
}
PHOTO = obj(
    {"id": INTEGER, "finding_id": nullable(INTEGER), "taken_at": nullable(STRING)},
    {"client_id": nullable(STRING), "sha256": nullable(STRING)},
)
CATALOG = obj(
    {
        "id": INTEGER,
        "year": INTEGER,
        "version": INTEGER,
        "confirmed": BOOLEAN,
        "is_example": BOOLEAN,
        "items": array(
            obj(
                {
                    "code": STRING,
                    "category": STRING,
                    "text": STRING,
                    "unit": STRING,
                    "points": STRING,
                    "cap": nullable(STRING),
                    "category_cap": nullable(STRING),
                    "basis": nullable(STRING),
                }
            )
        ),
    }
)
BULLETIN_ROW = obj(
    {
        "chief": STRING,
        "chief_id": INTEGER,
        "title": nullable(STRING),
        "level": STRING,
        "level_name": STRING,
        "unit_key": STRING,
        "unit_name": STRING,
        "months": array({"type": "object", "description": "各月得分与扣分"}),
        "gaps": {**array(STRING), "description": "未接受督查的月份 YYYY-MM"},
        "desk_gaps": {**array(STRING), "description": "仅有案头检查嫌疑的督查的月份 YYYY-MM（仍计分，第二十一条）"},
        "deduction": STRING,
        "score": nullable(STRING),
        "grade": nullable(STRING),
        "rank": nullable(INTEGER),
    }
)
BULLETIN = obj(
    {
        "title": STRING,
        "issuer": STRING,
        "scope": STRING,
        "year": INTEGER,
        "quarter": INTEGER,
        "date": DATE,
        "finalised": BOOLEAN,
        "finalised_at": nullable(MOMENT),
        "overview": obj(
            {
                "inspections": INTEGER,
                "segments": INTEGER,
                "km": KM,
                "findings": INTEGER,
                "chiefs": INTEGER,
                "scored": INTEGER,
                "average": nullable(STRING),
                "grades": {"type": "object", "additionalProperties": INTEGER, "description": "优、良、一般 各多少人"},
                "overdue_charges": INTEGER,
                "duty_charges": INTEGER,
            }
        ),
        "levels": array(obj({"level": STRING, "name": STRING, "rows": array(BULLETIN_ROW)})),
        "problems": array({"type": "object", "description": "突出问题"}),
        "overdue": array({"type": "object", "description": "逾期未整改"}),
        "gaps": array(
            obj(
                {"chief": STRING, "unit_name": STRING, "level_name": STRING, "months": array(STRING)},
                {"desk_months": array(STRING)},
            )
        ),
        "duty": array(
            obj(
                {
                    "chief": STRING,
                    "unit_name": STRING,
                    "month": STRING,
                    "code": STRING,
                    "points": STRING,
                    "reason": nullable(STRING),
                }
            )
        ),
        "requirements": array(STRING),
    }
)

TODO = obj(
    {
        "kind": STRING,
        "kind_label": STRING,
        "id": INTEGER,
        "title": STRING,
        "place": STRING,
        "deadline": {**nullable(STRING), "description": "期限（北京日期，YYYY-MM-DD）；无期限为 null"},
        "overdue": BOOLEAN,
        "state": STRING,
        "url": STRING,
    }
)
TODOS = obj({"count": INTEGER, "items": array(TODO), "office": nullable(STRING)})

BASE_SCHEMAS: dict[str, dict] = {
    "Error": ERROR,
    "Todos": TODOS,
    "SegmentCollection": feature_collection(SEGMENT_PROPERTIES, "LineString", "MultiLineString"),
    "SegmentDetail": SEGMENT_DETAIL,
    "NetworkSummary": NETWORK_SUMMARY,
    "FundingPlan": FUNDING_PLAN,
    "FundingQuarter": FUNDING_QUARTER,
    "Rectification": RECTIFICATION,
    "RectificationList": obj({"rectifications": array(ref("Rectification"))}),
    "InspectionSegment": INSPECTION_SEGMENT,
    "Finding": FINDING,
    "Inspection": INSPECTION,
    "RecordedInspection": RECORDED_INSPECTION,
    "InspectionList": obj({"inspections": array(ref("Inspection"))}),
    "InspectionPhoto": PHOTO,
    "NearestSegments": obj({"segments": array(ref("InspectionSegment")), "limit_m": INTEGER}),
    "DeductionCatalog": CATALOG,
    "Bulletin": BULLETIN,
}


def all_schemas() -> dict[str, dict]:
    """components/schemas of the document: these, the map layers' (schemas_layers.py) and the
    patrol tracks' (schemas_patrols.py)."""
    from roadchief.web.api.schemas_layers import LAYER_SCHEMAS
    from roadchief.web.api.schemas_patrols import PATROL_SCHEMAS

    return {**BASE_SCHEMAS, **LAYER_SCHEMAS, **PATROL_SCHEMAS}
