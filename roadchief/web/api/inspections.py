"""API: inspections and rectifications (督查、整改), the deduction catalog and the quarterly 通报."""

from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Date, DateTime, File, Float, Integer, List, Nested
from apiflask.validators import Length, OneOf, Range
from flask import abort
from flask_login import current_user

from roadchief.domain.clock import beijing_today
from roadchief.domain.permissions import LOG_INSPECTION, READ, READ_RESULTS, roles_for
from roadchief.web.access import allow
from roadchief.web.api import BEARER, bp, visible_or_abort
from roadchief.web.api.fields import String
from roadchief.web.api.schemas import returns
from roadchief.web.auth import trusts_cached_token
from roadchief.web.errors import refused_with

INSPECTION_TAG = "督查与整改"
MAX_ID = 2**31 - 1
INSPECTION_RECORDERS = roles_for(LOG_INSPECTION)


class FindingIn(Schema):
    item = String(required=True, metadata={"description": "扣分项编号（见 /deduction-catalog），如 LM04"})
    quantity = Integer(
        required=True,
        validate=Range(1, 100000),
        metadata={"description": "处/次数；按 100 m 计的项为长度（米），每起算 100 米扣一次"},
    )
    segment_id = Integer(
        load_default=None,
        validate=Range(1, MAX_ID),
        metadata={"description": "问题所在路段（本次检查的路段之一；只有一个路段时可省略）"},
    )
    note = String(load_default="")


class InspectionIn(Schema):
    client_uuid = String(
        load_default=None, metadata={"description": "客户端生成的 UUID：同一编号重复提交返回已保存的记录（幂等）"}
    )
    kind = String(
        required=True,
        validate=OneOf(["supervision", "daily", "flood", "winter", "special", "emergency"]),
        metadata={
            "description": "supervision 督查（计分）、daily 日常巡查、flood 汛期、winter 冬季、special 专项、emergency 应急"
        },
    )
    inspected_at = DateTime(
        load_default=None,
        metadata={"description": "检查时间（ISO 8601；带时区按所带时区换算，不带时区按北京时间；省略为当前时间）"},
    )
    segment_ids = List(Integer(validate=Range(1, MAX_ID)), required=True, validate=Length(1, 10))
    lon = Float(load_default=None)
    lat = Float(load_default=None)
    note = String(load_default="")
    deadline = Date(load_default=None, metadata={"description": "整改期限（省略则按本年度扣分项的整改天数）"})
    duty_phase = String(
        load_default=None,
        validate=OneOf(["雨前", "雨中", "雨后", "除雪", "撒砂"]),
        metadata={"description": "汛期巡查必填 雨前/雨中/雨后，冬季巡查必填 除雪/撒砂（第十三条）；其他类别不填"},
    )
    asset_ids = List(
        Integer(validate=Range(1, MAX_ID)),
        load_default=[],
        validate=Length(0, 20),
        metadata={"description": "本次检查涉及的路产（须在所检查路段上）"},
    )
    findings = List(Nested(FindingIn), load_default=[])


class InspectionListQuery(Schema):
    kind = String(load_default=None)
    month = String(load_default=None, metadata={"description": "YYYY-MM"})
    limit = Integer(load_default=100, validate=Range(1, 500))


class NearestQuery(Schema):
    lon = Float(required=True)
    lat = Float(required=True)


class RectificationQuery(Schema):
    state = String(load_default="active", validate=OneOf(["active", "open", "done", "verified", "overdue"]))


class NoteIn(Schema):
    note = String(load_default="")


class CompleteIn(Schema):
    note = String(required=True)
    photo = File(required=True, metadata={"description": "整改后照片（JPEG/PNG/WebP）"})


class PhotoIn(Schema):
    photo = File(required=True)
    finding_id = Integer(load_default=None, validate=Range(1, MAX_ID))
    client_photo_id = String(
        load_default=None, metadata={"description": "手机端照片编号（UUID）：重复上传同一编号不会重复保存"}
    )


class CatalogQuery(Schema):
    year = Integer(load_default=None, validate=Range(2000, 2100))


class ScopeQuery(Schema):
    scope = String(load_default=None, metadata={"description": "city 或 town:乡镇代码（默认为本单位）"})


def _inspection_or_abort(inspection_id: int):
    from roadchief.models.inspections import Inspection
    from roadchief.services import inspection_scope

    return visible_or_abort(Inspection, inspection_id, inspection_scope.can_see_inspection)


def _rectification_or_abort(rectification_id: int):
    from roadchief.models.inspections import Rectification
    from roadchief.services import inspection_scope

    return visible_or_abort(Rectification, rectification_id, inspection_scope.can_see_rectification)


@bp.get("/inspections")
@allow(*roles_for(READ))
@bp.input(InspectionListQuery, location="query", arg_name="query")
@bp.doc(
    tags=[INSPECTION_TAG],
    operation_id="listInspections",
    summary="检查记录列表",
    description="本人权限范围内的检查记录，新的在前。",
    responses=returns("InspectionList"),
    security=BEARER,
)
def inspections_list(query):
    from roadchief.services import inspections as service

    month = None
    if query["month"]:
        parts = query["month"].split("-")
        if (
            len(parts) != 2
            or not all(p.isdigit() for p in parts)
            or not (2000 <= int(parts[0]) <= 2100 and 1 <= int(parts[1]) <= 12)
        ):
            abort(400, "month 应为 YYYY-MM（2000–2100 年）")
        month = (int(parts[0]), int(parts[1]))
    rows = service.list_inspections(current_user, kind=query["kind"], month=month, limit=query["limit"])
    return {"inspections": [service.inspection_json(i) for i in rows]}


@bp.post("/inspections")
@allow(*INSPECTION_RECORDERS)
@bp.input(InspectionIn, arg_name="body")
@bp.doc(
    tags=[INSPECTION_TAG],
    summary="登记检查记录",
    description="督查（计分）或巡查记录，含问题清单；每个问题生成整改并派给该路段当日的责任路长。"
    "照片用 `POST /inspections/{id}/photos` 另行上传。同一 client_uuid 重复提交返回 200 与已保存的记录；新建返回 201。",
    operation_id="createInspection",
    responses={
        **returns("RecordedInspection", "已新建", 201),
        **returns("RecordedInspection", "该 client_uuid 的记录此前已保存（幂等）"),
    },
    security=BEARER,
)
@trusts_cached_token  # the token from the worker's cache, verified by the segments query (issue #15 point 4)
def inspections_create(body):
    from flask import current_app

    from roadchief.services import inspections as service

    data = service.InspectionInput(
        kind=body["kind"],
        segment_ids=body["segment_ids"],
        inspected_at=body["inspected_at"],
        client_uuid=body["client_uuid"],
        lon=body["lon"],
        lat=body["lat"],
        note=body["note"],
        deadline=body["deadline"],
        duty_phase=body["duty_phase"],
        asset_ids=body["asset_ids"],
        findings=[
            service.FindingInput(
                item_code=f["item"], quantity=f["quantity"], segment_id=f["segment_id"], note=f["note"]
            )
            for f in body["findings"]
        ],
    )
    recorded = service.create_inspection(current_user, data, current_app.config["UPLOAD_DIR"])  # refusals: 400
    return {
        **(recorded.json or service.inspection_json(recorded.inspection)),
        "warnings": recorded.warnings,
    }, 201 if recorded.created else 200


@bp.get("/inspections/<int:inspection_id>")
@allow(*roles_for(READ))
@bp.doc(
    tags=[INSPECTION_TAG],
    operation_id="getInspection",
    summary="检查记录详情",
    responses=returns("Inspection"),
    security=BEARER,
)
def inspections_detail(inspection_id: int):
    from roadchief.services import inspections as service

    return service.inspection_json(_inspection_or_abort(inspection_id))


@bp.post("/inspections/<int:inspection_id>/photos")
@allow(*INSPECTION_RECORDERS)
@bp.input(PhotoIn, location="form_and_files", arg_name="form")
@bp.doc(
    tags=[INSPECTION_TAG],
    summary="上传检查照片",
    description="multipart/form-data：photo（JPEG/PNG/WebP，解码校验，保留 EXIF 拍摄时间），可选 finding_id、"
    "client_photo_id（手机端照片编号，UUID）。仅登记人可上传。回执含 sha256（所存文件的 SHA-256）；"
    "同一 client_photo_id 再次上传返回 200 与已保存的照片，不会重复保存。",
    operation_id="uploadInspectionPhoto",
    responses={
        **returns("InspectionPhoto", "已上传", 201),
        **returns("InspectionPhoto", "该照片此前已上传（按 client_photo_id）", 200),
    },
    security=BEARER,
)
def inspections_photo(inspection_id: int, form):
    from flask import current_app

    from roadchief.services import inspection_photos

    inspection = _inspection_or_abort(inspection_id)
    try:
        photo = inspection_photos.add_photo(
            current_user,
            inspection,
            form["photo"],
            current_app.config["UPLOAD_DIR"],
            form["finding_id"],
            client_id=form["client_photo_id"],
        )
    except PermissionError:
        abort(403)
    return {
        "id": photo.id,
        "finding_id": photo.finding_id,
        "taken_at": photo.taken_at.isoformat() if photo.taken_at else None,
        "client_id": photo.client_id,
        "sha256": photo.sha256,
    }, 200 if getattr(photo, "resent", False) else 201


@bp.get("/inspections/nearest")
@allow(*INSPECTION_RECORDERS)
@bp.input(NearestQuery, location="query", arg_name="query")
@bp.doc(
    tags=[INSPECTION_TAG],
    summary="附近路段",
    description="定位点附近可登记的路段及距离（米，EPSG:4544）；far 为 true 表示超过 500 米。"
    "定位点不在本市范围内时返回 400。",
    operation_id="nearestSegments",
    responses=returns("NearestSegments"),
    security=BEARER,
)
def inspections_nearest(query):
    from roadchief.services import inspection_segments

    return {
        "segments": inspection_segments.nearest_segments(current_user, query["lon"], query["lat"]),
        "limit_m": inspection_segments.GPS_WARNING_M,
    }


@bp.get("/rectifications")
@allow(*roles_for(READ))
@bp.input(RectificationQuery, location="query", arg_name="query")
@bp.doc(
    tags=[INSPECTION_TAG],
    summary="整改列表",
    description="路长看到派给自己的整改；督查单位看到本单位及辖区的整改。state=overdue 为逾期未整改。",
    operation_id="listRectifications",
    responses=returns("RectificationList"),
    security=BEARER,
)
def rectifications_list(query):
    from roadchief.services import rectifications

    state = query["state"]
    rows = rectifications.list_rectifications(
        current_user, state=None if state == "overdue" else state, overdue=state == "overdue"
    )
    return {"rectifications": [rectifications.rectification_json(r) for r in rows]}


@bp.get("/rectifications/<int:rectification_id>")
@allow(*roles_for(READ))
@bp.doc(
    tags=[INSPECTION_TAG],
    operation_id="getRectification",
    summary="整改详情",
    responses=returns("Rectification"),
    security=BEARER,
)
def rectifications_detail(rectification_id: int):
    from roadchief.services import rectifications

    return rectifications.rectification_json(_rectification_or_abort(rectification_id))


def _rectification_step(rectification_id: int, action: str, note: str, photo=None):
    from flask import current_app

    from roadchief.services import rectifications

    rect = _rectification_or_abort(rectification_id)
    try:  # a refused step (ServiceError) is a 409: see refused_with on the views
        rectifications.act(
            current_user, rect, action, note=note, photo=photo, upload_dir=current_app.config["UPLOAD_DIR"]
        )
    except PermissionError:
        abort(403)
    return rectifications.rectification_json(rect)


@bp.post("/rectifications/<int:rectification_id>/complete")
@allow(*INSPECTION_RECORDERS)
@refused_with(409)
@bp.input(CompleteIn, location="form_and_files", arg_name="form")
@bp.doc(
    tags=[INSPECTION_TAG],
    operation_id="completeRectification",
    summary="整改完成（责任路长）",
    responses=returns("Rectification", "操作后的整改", **{"409": "当前状态不能执行该操作"}),
    description="multipart/form-data：note（整改说明）与 photo（整改后照片），均必填。",
    security=BEARER,
)
def rectifications_complete(rectification_id: int, form):
    return _rectification_step(rectification_id, "complete", form["note"], form["photo"])


@bp.post("/rectifications/<int:rectification_id>/verify")
@allow(*INSPECTION_RECORDERS)
@refused_with(409)
@bp.input(NoteIn, arg_name="body")
@bp.doc(
    tags=[INSPECTION_TAG],
    operation_id="verifyRectification",
    summary="复核通过（督查单位）",
    responses=returns("Rectification", "操作后的整改", **{"409": "当前状态不能执行该操作"}),
    security=BEARER,
)
def rectifications_verify(rectification_id: int, body):
    return _rectification_step(rectification_id, "verify", body["note"])


@bp.post("/rectifications/<int:rectification_id>/return")
@allow(*INSPECTION_RECORDERS)
@refused_with(409)
@bp.input(NoteIn, arg_name="body")
@bp.doc(
    tags=[INSPECTION_TAG],
    operation_id="returnRectification",
    summary="退回重改（督查单位）",
    responses=returns("Rectification", "操作后的整改", **{"409": "当前状态不能执行该操作"}),
    description="note 必填：写明仍需整改的内容。",
    security=BEARER,
)
def rectifications_return(rectification_id: int, body):
    return _rectification_step(rectification_id, "return", body["note"])


@bp.get("/deduction-catalog")
@allow(*roles_for(READ))
@bp.input(CatalogQuery, location="query", arg_name="query")
@bp.doc(
    tags=[INSPECTION_TAG],
    summary="扣分标准",
    description="某年度现行扣分标准（默认今年）；分值为字符串。",
    operation_id="getDeductionCatalog",
    responses=returns("DeductionCatalog"),
    security=BEARER,
)
def deduction_catalog(query):
    from roadchief.services import deduction_catalog as catalog_service

    return catalog_service.catalog_json(catalog_service.catalog_for(query["year"] or beijing_today().year))


@bp.get("/inspections/scores/<int:year>/<int:quarter>")
@allow(*roles_for(READ_RESULTS))
@bp.input(ScopeQuery, location="query", arg_name="query")
@bp.doc(
    tags=[INSPECTION_TAG],
    summary="季度考核通报",
    description="与 `roadchief inspections bulletin YEAR Q --json` 相同：排名、突出问题、逾期整改、未督查月份。",
    operation_id="getQuarterBulletin",
    responses=returns("Bulletin"),
    security=BEARER,
)
def inspection_scores(year: int, quarter: int, query):
    from roadchief.services import assessment, permissions

    scopes = permissions.visible_scopes(current_user)
    scope = query["scope"] or (scopes[0] if scopes else None)
    if scope not in scopes or quarter not in (1, 2, 3, 4):
        abort(403 if quarter in (1, 2, 3, 4) else 404)
    return assessment.bulletin(scope, year, quarter)
