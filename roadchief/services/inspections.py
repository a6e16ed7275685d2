"""Recording an inspection (督查/巡查) from the field form or the API — validated and stored
with its findings, photos and rectifications all or nothing, idempotent by ``client_uuid`` —
its corrections, the list of inspections, and their JSON.

Each finding opens a rectification assigned to the chief whose score it hits (see
services.inspection_scope), or, when the assessed post is vacant, the nearest chief found on
the segment. The catalog lives in services.deduction_catalog, the 整改 workflow in
services.rectifications, the field form's helpers in services.inspection_segments.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from roadchief.domain import clock, scoring
from roadchief.domain.scoring import INSPECTION_KINDS, OVERDUE_CODE, SCORED_KINDS, local_date
from roadchief.extensions import db
from roadchief.models import Chief, Segment
from roadchief.models.base import utcnow
from roadchief.models.inspections import (
    Finding,
    Inspection,
    InspectionCorrection,
    InspectionSegment,
    QuarterFinalisation,
    Rectification,
    RectificationEvent,
)
from roadchief.models.operations import InspectionAsset, RoadAsset
from roadchief.models.routing import RectificationAssignee
from roadchief.services import (
    ServiceError,
    deadline_rules,
    inspection_context,
    notifications,
    permissions,
    rectification_routing,
    token_cache,
)
from roadchief.services.deduction_catalog import catalog_for, points_text
from roadchief.services.inspection_photos import _photo_row, _save_photos, _stage, check_unused
from roadchief.services.inspection_scope import (
    assessed_chief,
    assignee_for,
    aware,
    inspection_condition,
    office_label,
    record_condition,
    recordable_kinds,
)
from roadchief.services.inspection_segments import (
    GPS_WARNING_M,
    MAX_ID,
    MAX_SEGMENTS,
    clean_point,
    point_distance_m,
    segment_json,
    segment_label,
)
from roadchief.services.permissions import office_key
from roadchief.services.rectifications import rectification_json
from roadchief.services.transactions import unit_of_work

MAX_FINDINGS = 50
CLOCK_SKEW = timedelta(minutes=10)


# ================================================================== recording an inspection


@dataclass
class FindingInput:
    item_code: str
    quantity: int | str
    segment_id: int | None = None
    note: str = ""
    photos: list = field(default_factory=list)  # FileStorage objects
    photo_ids: list = field(default_factory=list)  # the phone's client id of each photo (optional, same order)


@dataclass
class InspectionInput:
    kind: str
    segment_ids: list[int]
    inspected_at: datetime | None = None
    client_uuid: str | None = None
    lon: float | str | None = None
    lat: float | str | None = None
    note: str = ""
    deadline: date | None = None
    findings: list[FindingInput] = field(default_factory=list)
    duty_phase: str | None = None  # 雨前/雨中/雨后 (汛期巡查), 除雪/撒砂 (冬季巡查); required for those kinds only
    asset_ids: list[int] = field(default_factory=list)  # 路产 looked at, each on one of the segments


@dataclass
class Recorded:
    inspection: Inspection
    created: bool
    warnings: list[str]
    json: dict | None = None  # the answer, built before the commit (no reload after it)


def _clean_uuid(value: str | None) -> str:
    if not value:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise ServiceError("提交编号（client_uuid）格式不正确") from None


def _existing(client_uuid: str, user_id: int, accounts: set[int] | None = None) -> Inspection | None:
    """The inspection stored under this uuid by this user, loaded with what its answer shows;
    ``accounts`` (the chiefs with an account, from the reference context) saves the 无账号 query."""
    found = db.session.scalar(  # with what its JSON shows, loaded a table at a time (a repeat's answer)
        select(Inspection)
        .where(Inspection.client_uuid == client_uuid)
        .options(
            joinedload(Inspection.catalog),
            selectinload(Inspection.photos),
            selectinload(Inspection.segments)
            .joinedload(InspectionSegment.segment)
            .options(joinedload(Segment.road), joinedload(Segment.village), joinedload(Segment.town)),
            selectinload(Inspection.findings).options(
                joinedload(Finding.item),
                joinedload(Finding.rectification).options(
                    joinedload(Rectification.chief),
                    # the answer names the assignees: one more SELECT for all, not two per 整改
                    selectinload(Rectification.assignees).joinedload(RectificationAssignee.chief),
                ),
            ),
        )
    )
    if found is not None and found.user_id != user_id:
        raise ServiceError("提交编号已被使用，请刷新页面后重新填写")
    if found is not None:  # a finding's photos are among the inspection's, loaded above
        for finding in found.findings:
            set_committed_value(
                finding,
                "photos",
                [p for p in found.photos if p.finding_id == finding.id and p.rectification_id is None],
            )
        rects = [f.rectification for f in found.findings if f.rectification is not None]
        if accounts is None:
            accounts = rectification_routing.with_account(a.chief_id for r in rects for a in r.assignees)
        for rect in rects:
            rect.known_accounts = accounts  # the 无账号 flags: one query for the whole answer
    return found


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def finalised(scope_key: str, day: date) -> QuarterFinalisation | None:
    """The finalisation covering an office's 督查 on a day (scope "city" or "town:CODE";
    a chief's own records are never finalised)."""
    year, quarter = quarter_of(day)
    return db.session.scalar(
        select(QuarterFinalisation).where(
            QuarterFinalisation.year == year,
            QuarterFinalisation.quarter == quarter,
            QuarterFinalisation.scope_key == scope_key,
        )
    )


def _check_when(when: datetime | None, now: datetime) -> datetime:
    when = clock.parse_local(when) or now  # a naive time (form, API without offset) is Beijing time
    if when > now + CLOCK_SKEW:
        raise ServiceError("检查时间不能晚于当前时间")
    if when.year < 2000:
        raise ServiceError("检查时间不正确")
    return when


def _id(value, what: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ServiceError(f"{what}不正确：{value!r}") from None
    if not 1 <= number <= MAX_ID:
        raise ServiceError(f"{what}不正确：{value!r}")
    return number


def _parse_quantity(value, number: int) -> int:
    try:
        quantity = int(str(value).strip())
    except (TypeError, ValueError):
        raise ServiceError(f"第 {number} 条问题：数量应为整数") from None
    if not 1 <= quantity <= scoring.MAX_QUANTITY:
        raise ServiceError(f"第 {number} 条问题：数量应在 1–{scoring.MAX_QUANTITY} 之间")
    return quantity


MAX_ASSETS = 20


def _assets_on(asset_ids, segments: dict[int, Segment]) -> list[RoadAsset]:
    """The 路产 an inspection references: each must exist and lie on one of its segments."""
    ids = list(dict.fromkeys(_id(a, "路产编号") for a in asset_ids or [] if str(a).strip()))
    if len(ids) > MAX_ASSETS:
        raise ServiceError(f"一次检查最多关联 {MAX_ASSETS} 个路产")
    if not ids:
        return []
    found = {a.id: a for a in db.session.scalars(select(RoadAsset).where(RoadAsset.id.in_(ids)))}
    if missing := [str(i) for i in ids if i not in found]:
        raise ServiceError(f"路产不存在：{', '.join(missing)}")
    if outside := [found[i] for i in ids if found[i].segment_id not in segments]:
        raise ServiceError("路产不在本次检查的路段上：" + "、".join(f"{a.code} {a.name}".strip() for a in outside))
    return [found[i] for i in ids]


def create_inspection(
    user, data: InspectionInput, upload_dir: str | Path, photos=(), now: datetime | None = None, photo_ids=()
) -> Recorded:
    """Validate and store an inspection with its findings, photos and rectifications,
    all or nothing. A repeated ``client_uuid`` returns the inspection already stored (with
    its photos: a re-sent form never stores them twice); ``photo_ids`` are the photos'
    client ids (see inspection_photos.receipts).

    The repeat is found by the UNIQUE client_uuid (the insert fails, then one SELECT) or, when
    the repeat would now be refused, before refusing: a new submission pays no lookup. The
    reference data comes from services.inspection_context (cached per reference version),
    so a typical POST costs 8 SQL statements with the bearer token from the worker's cache
    (services.token_cache; issue #15 point 4, see benchmarks/README.md), 9 with a full lookup."""
    client_uuid = _clean_uuid(data.client_uuid)
    user_id = user.id  # read now: a rollback expires the user
    try:
        return _create(user, data, client_uuid, upload_dir, photos, now, photo_ids)
    except ServiceError:
        db.session.rollback()
        existing = _existing(client_uuid, user_id)  # stored before: the same answer as the first time
        if existing is not None:
            return Recorded(existing, False, [])
        raise


def _create(user, data: InspectionInput, client_uuid: str, upload_dir, photos, now, photo_ids=()) -> Recorded:
    user_id = user.id
    key = office_key(user)
    kinds = recordable_kinds(user)
    if key is None or not kinds:
        raise ServiceError("当前账号不能登记检查记录")
    if data.kind not in kinds:
        raise ServiceError(f"检查类型不正确或无权登记：{INSPECTION_KINDS.get(data.kind, data.kind)}")
    now = aware(now) or utcnow()
    when = _check_when(data.inspected_at, now)
    day = local_date(when)
    scored = data.kind in SCORED_KINDS
    lon, lat = clean_point(data.lon, data.lat)
    segment_ids = list(dict.fromkeys(_id(s, "路段编号") for s in data.segment_ids or []))
    if not segment_ids:
        raise ServiceError("请至少选择一个路段")
    if len(segment_ids) > MAX_SEGMENTS:
        raise ServiceError(f"一次检查最多 {MAX_SEGMENTS} 个路段")
    # the segments with their road, village and town, and the reference version; when the web
    # layer took the bearer token from the worker's cache, this statement verifies it too
    # (services.token_cache: revoked, expired, disabled or changed → StaleIdentity, nothing written)
    token_check = token_cache.verification_column()
    rows = db.session.execute(
        select(
            Segment, inspection_context.reference_version_column(), *([token_check] if token_check is not None else [])
        )
        .options(joinedload(Segment.road), joinedload(Segment.village), joinedload(Segment.town))
        .where(Segment.id.in_(segment_ids), record_condition(user, day))
    ).all()
    if token_check is not None and rows:  # no rows: the refusal below is checked by the web layer
        token_cache.confirm(rows[0][2])
    segments = {row[0].id: row[0] for row in rows}
    if missing := [str(s) for s in segment_ids if s not in segments]:
        raise ServiceError(f"路段不存在或不在本单位管辖范围内：{', '.join(missing)}")
    context = inspection_context.context_for(rows[0][1], day)
    year, quarter = quarter_of(day)
    if scored and (key, year, quarter) in context.finalised:
        raise ServiceError(f"{year} 年第 {quarter} 季度已定稿，不能再补录督查；如需更正请对原记录登记更正")
    try:
        duty_phase = scoring.check_duty_phase(data.kind, data.duty_phase)
    except ValueError as error:
        raise ServiceError(str(error)) from None
    assets = _assets_on(data.asset_ids, segments)
    if len(data.findings) > MAX_FINDINGS:
        raise ServiceError(f"一次检查最多登记 {MAX_FINDINGS} 条问题")
    check_unused([*photo_ids, *(i for f in data.findings for i in f.photo_ids)])
    deadline = data.deadline  # None: each finding's own, from the year's rules (services.deadline_rules)
    if deadline is not None and deadline < day:
        raise ServiceError("整改期限不能早于检查日期")
    catalog = context.catalog_in(db.session) if context.catalog is not None else catalog_for(day.year)
    deadline_rules_of_year = context.deadline_rules
    items = {i.code: i for i in catalog.items}
    index = context.index
    warnings: list[str] = []

    inspection = Inspection(
        client_uuid=client_uuid,
        kind=data.kind,
        inspected_at=when,
        user_id=user.id,
        inspector_name=user.display_name or user.username,
        office_key=key,
        catalog=catalog,
        lon=lon,
        lat=lat,
        note=(data.note or "").strip()[:2000],
        duty_phase=duty_phase,
    )
    for asset in assets:
        inspection.assets.append(InspectionAsset(asset=asset))
    assessed: dict[int, Chief | None] = {}
    for segment_id in segment_ids:
        segment = segments[segment_id]
        chief = assessed_chief(index, segment, key) if scored else None
        assessed[segment_id] = chief
        distance = point_distance_m(lon, lat, segment.geometry) if lon is not None else None
        if distance is not None and distance > GPS_WARNING_M:
            warnings.append(
                f"定位点距路段 {segment_label(segment)} 约 {distance} 米（超过 {GPS_WARNING_M} 米），请核对路段"
            )
        if scored and chief is None:
            warnings.append(f"路段 {segment_label(segment)} 在 {day} 无被考核路长，问题不计入得分")
        inspection.segments.append(
            InspectionSegment(segment_id=segment_id, distance_m=distance, chief_id=chief.id if chief else None)
        )
    # the chiefs with an account (the answer's 无账号 flags), from the context: no query
    accounts = {cid for cid, who in context.recipients.items() if any(w.user_id for w in who)}
    with _stage(upload_dir) as stage:
        try:
            for number, entry in enumerate(data.findings, start=1):
                code = (entry.item_code or "").strip().upper()
                item = items.get(code)
                if item is None or code == OVERDUE_CODE:
                    raise ServiceError(
                        f"第 {number} 条问题：请选择扣分项（{code or '未选择'} 不在 {catalog.label}扣分标准中）"
                    )
                quantity = _parse_quantity(entry.quantity, number)
                segment_id = (
                    _id(entry.segment_id, f"第 {number} 条问题的路段编号")
                    if entry.segment_id
                    else (segment_ids[0] if len(segment_ids) == 1 else None)
                )
                if segment_id not in segments:
                    raise ServiceError(f"第 {number} 条问题：请选择问题所在路段（须为本次检查的路段）")
                finding = Finding(
                    segment_id=segment_id,
                    item=item,
                    quantity=quantity,
                    note=(entry.note or "").strip()[:1000],
                    chief_id=assessed[segment_id].id if assessed[segment_id] else None,
                )
                owner = assignee_for(index, segments[segment_id], key, assessed[segment_id])
                finding.rectification = Rectification(
                    chief=context.chief_in(db.session, owner),
                    deadline=deadline
                    or deadline_rules.finding_deadline(
                        day, item, emergency=data.kind == "emergency", rules=deadline_rules_of_year
                    ),
                    state=scoring.OPEN,
                )
                # who sees and answers it: the owner and the segment's 村级路长 / 管养责任人 that day
                rectification_routing.attach(
                    finding.rectification,
                    owner,
                    index,
                    segments[segment_id],
                    key,
                    local=lambda chief: context.chief_in(db.session, chief),
                )
                inspection.findings.append(finding)
                for photo in _save_photos(entry.photos, stage, f"第 {number} 条问题", entry.photo_ids):
                    inspection.photos.append(_photo_row(photo, user, finding=finding))
            for photo in _save_photos(photos, stage, "现场照片", photo_ids):
                inspection.photos.append(_photo_row(photo, user))
            db.session.add(inspection)
            db.session.flush()
            added = inspection.__dict__.get("photos", [])
            set_committed_value(inspection, "photos", list(added))  # what was just written: no lazy loads
            for finding in inspection.findings:
                set_committed_value(finding, "photos", [p for p in added if p.finding is finding])
            rects = [finding.rectification for finding in inspection.findings]
            for rect in rects:
                rect.known_accounts = accounts  # the answer's 无账号 flags without a query per rectification
            if inspection_context.only_assignees(context.notification_rules, "created"):
                inspection_context.enqueue_created(rects, context, now)
            else:
                for rect in rects:
                    notifications.enqueue_for_rectification(rect, "created")
            answer = inspection_json(inspection, office=_office_name(key, context))  # before commit expires it
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            stage.discard()
            again = _existing(client_uuid, user_id, accounts)  # the same form arrived twice (at once, or again)
            if again is None:
                raise
            # the answer with the office's name from the context too (no town lookup)
            return Recorded(again, False, [], inspection_json(again, office=_office_name(again.office_key, context)))
        except Exception:
            db.session.rollback()  # then staged_photos removes the photos
            raise
    return Recorded(inspection, True, warnings, answer)


def _office_name(key: str, context) -> str | None:
    kind, _, code = key.partition(":")
    if kind == "town" and code in context.town_names:
        return f"{context.town_names[code]}路长办公室"
    return None if kind == "chief" else office_label(key)


def list_inspections(
    user, kind: str | None = None, month: tuple[int, int] | None = None, limit: int = 100
) -> list[Inspection]:
    query = (
        select(Inspection)
        .where(inspection_condition(user))
        .options(
            selectinload(Inspection.segments).selectinload(InspectionSegment.segment).selectinload(Segment.road),
            selectinload(Inspection.findings).selectinload(Finding.rectification),
        )
    )
    if kind in INSPECTION_KINDS:
        query = query.where(Inspection.kind == kind)
    if month:
        first, last = scoring.month_days(month)
        start = datetime.combine(first, datetime.min.time(), tzinfo=clock.BEIJING)  # Beijing months
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=clock.BEIJING)
        query = query.where(Inspection.inspected_at >= start, Inspection.inspected_at < end)
    return list(db.session.scalars(query.order_by(Inspection.inspected_at.desc(), Inspection.id.desc()).limit(limit)))


# ================================================================== corrections


def can_correct(user, inspection: Inspection) -> bool:
    return permissions.can_correct(user, inspection)


def correct_finding(user, finding: Finding, quantity, reason: str) -> InspectionCorrection:
    """Change a finding's quantity (0 voids it), recorded with the reason. The only edit
    an inspection takes, and the only one once frozen by a finalised quarter; the
    quarter's scores change when it is finalised again (as a correction)."""
    if not can_correct(user, finding.inspection):
        raise PermissionError("correct")
    reason = (reason or "").strip()
    if not reason:
        raise ServiceError("更正须写明原因")
    try:
        new = int(str(quantity).strip())
    except (TypeError, ValueError):
        raise ServiceError("数量应为整数（0 表示撤销该问题）") from None
    if not 0 <= new <= scoring.MAX_QUANTITY:
        raise ServiceError(f"数量应在 0–{scoring.MAX_QUANTITY} 之间")
    if new == finding.quantity:
        raise ServiceError("数量未改变")
    with unit_of_work():
        correction = InspectionCorrection(
            inspection_id=finding.inspection_id,
            finding_id=finding.id,
            quantity_before=finding.quantity,
            quantity_after=new,
            reason=reason[:1000],
            user_id=user.id,
            actor=user.username,
        )
        finding.quantity = new
        rect = finding.rectification
        if (
            new == 0 and rect is not None and rect.state != scoring.VERIFIED
        ):  # nothing left to fix: closed, with the reason
            rect.office_note, rect.state, rect.verified_at = (
                f"问题已更正撤销：{reason[:200]}",
                scoring.VERIFIED,
                utcnow(),
            )
            db.session.add(
                RectificationEvent(
                    rectification_id=rect.id,
                    at=rect.verified_at,
                    action="verify",
                    user_id=user.id,
                    actor=user.username,
                    note=rect.office_note,
                )
            )
        db.session.add(correction)
    return correction


def corrections_of(inspection: Inspection) -> list[InspectionCorrection]:
    return list(
        db.session.scalars(
            select(InspectionCorrection)
            .where(InspectionCorrection.inspection_id == inspection.id)
            .options(selectinload(InspectionCorrection.finding).selectinload(Finding.item))
            .order_by(InspectionCorrection.id)
        )
    )


def findings_of_chief(chief_id: int, limit: int = 30) -> list[Finding]:
    """The latest findings that hit a chief's score."""
    return list(
        db.session.scalars(
            select(Finding)
            .join(Inspection)
            .where(Finding.chief_id == chief_id)
            .options(
                selectinload(Finding.item),
                selectinload(Finding.rectification),
                selectinload(Finding.segment).selectinload(Segment.road),
            )
            .order_by(Inspection.inspected_at.desc(), Finding.id.desc())
            .limit(limit)
        )
    )


def finding_points_text(finding: Finding) -> str:
    """The finding's points before the caps, e.g. "1.5"."""
    return points_text(scoring.finding_points(finding.item.rule(), finding.quantity)) if finding.quantity else "0"


# ================================================================== JSON (API)


def inspection_json(inspection: Inspection, today: date | None = None, office: str | None = None) -> dict:
    return {
        "id": inspection.id,
        "client_uuid": inspection.client_uuid,
        "kind": inspection.kind,
        "kind_label": inspection.kind_label,
        "inspected_at": clock.iso_beijing(inspection.inspected_at),
        "inspector": inspection.inspector_name,
        "office": office or office_label(inspection.office_key),
        "office_key": inspection.office_key,
        "catalog": inspection.catalog.label,
        "frozen": inspection.frozen,
        "lon": inspection.lon,
        "lat": inspection.lat,
        "note": inspection.note,
        "segments": [{**segment_json(s.segment, s.distance_m), "chief_id": s.chief_id} for s in inspection.segments],
        "findings": [finding_json(f, today) for f in inspection.findings],
        "photos": [p.id for p in inspection.photos if p.finding_id is None],
    }


def finding_json(finding: Finding, today: date | None = None) -> dict:
    rect = finding.rectification
    return {
        "id": finding.id,
        "segment_id": finding.segment_id,
        "item": finding.item.code,
        "text": finding.item.text,
        "category": finding.item.category,
        "quantity": finding.quantity,
        "unit": finding.item.unit,
        "points": finding_points_text(finding),
        "note": finding.note,
        "chief_id": finding.chief_id,
        "photos": [p.id for p in finding.photos],
        "rectification": rectification_json(rect, today) if rect else None,
    }
