"""Inspections (督查/巡查) and rectifications (整改): the deduction catalog, recording an
inspection from the field form or the API, who answers for a finding, the 整改
workflow, scope, and the field form's helpers (nearest segments, GPS distance).

Who inspects decides whose score a finding hits (第二十条), kept as the inspection's
``office_key``:

* "city" — 市级路长办公室 (city_office, or an inspector without a town): assesses the
  镇级路长 of the segment's town, or the 公路站路长 when a station holds the segment;
* "town:CODE" — a 镇级路长办公室 (town_office, or an inspector of that town): assesses
  the 村级路长 of the segment's village;
* "chief:ID" — a chief's own record. A 村级路长's 督查 assesses the 路段管养责任人
  (保洁员/公益性岗位/统筹聘用) of the segment; other records are patrols (日常/汛期/冬季…),
  evidence of duty, not scored, whose findings the chief fixes and closes himself.

The chief is resolved on the inspection's (Beijing) date, so a chief replaced mid-month
answers for the days he served. Each finding opens a rectification assigned to that
chief (or, when the assessed post is vacant, the nearest chief found on the segment).
"""
from __future__ import annotations

import csv
import io
import json
import os
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

from shapely import transform as shapely_transform
from shapely.geometry import Point, shape
from sqlalchemy import exists, false, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from roadchief.domain import clock
from roadchief.domain.clock import beijing_today
from roadchief import PACKAGE_DIR
from roadchief.domain import scoring
from roadchief.domain.lengths import projected_transformer
from roadchief.domain.scoring import (DEFAULT_DEADLINE_DAYS, INSPECTION_KINDS, OVERDUE_CODE, SCORED_KINDS, CatalogItem,
                                      TransitionError, local_date)
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Chief, Segment, Town, Village
from roadchief.models.base import utcnow
from roadchief.models.operations import InspectionAsset, RoadAsset
from roadchief.models.inspections import (LAT_RANGE, LON_RANGE, DeductionCatalog, DeductionItem, Finding, Inspection,
                                          InspectionCorrection, InspectionPhoto, InspectionSegment, QuarterFinalisation,
                                          Rectification, RectificationEvent)
from roadchief.services import ServiceError
from roadchief.services.audit import current_actor
from roadchief.services.chiefs import AssignmentIndex
from roadchief.services.funding import check_period
from roadchief.services.permissions import chief_segment_condition, segment_condition
from roadchief.services.uploads import DEFAULT_MAX_BYTES, delete_stored, save_photo

GPS_WARNING_M = 500
NEAREST_MARGIN_DEG = 0.01  # ≈ 1.1 km north–south, 0.9 km east–west at 38°N
MAX_SEGMENTS = 10
MAX_FINDINGS = 50
MAX_PHOTOS = 6
CLOCK_SKEW = timedelta(minutes=10)
MAINTAINER_POSITIONS = ("cleaner", "public_welfare", "hired")
OFFICE_ROLES = ("city_office", "town_office", "inspector")


def default_catalog_path() -> Path:
    return Path(os.environ.get("ROADCHIEF_DEDUCTION_CATALOG", PACKAGE_DIR.parent / "data" / "deduction_catalog.csv"))


def aware(moment: datetime | None) -> datetime | None:
    """A moment from the database is aware UTC (models.base.UTCDateTime); this only keeps
    old callers that pass naive UTC ``now`` values working."""
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


# ================================================================== deduction catalog

def parse_points(text, what: str, required: bool = True) -> int | None:
    """"1.5" → 150 hundredths; at most two decimals."""
    value = str(text if text is not None else "").strip()
    if not value:
        if required:
            raise ServiceError(f"{what}不能为空")
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ServiceError(f"{what}应为数字：{value!r}") from None
    if not number.is_finite() or number.as_tuple().exponent < -2:
        raise ServiceError(f"{what}最多两位小数：{value!r}")
    return int(number.scaleb(2))


def points_text(centi: int | None) -> str:
    """150 → "1.5", 200 → "2", None → ""."""
    if centi is None:
        return ""
    text = f"{Decimal(centi).scaleb(-2):.2f}"
    return text.rstrip("0").rstrip(".")


UNIT_ALIASES = {"处": "处", "次": "次", "100m": "100m", "100米": "100m", "百米": "100m"}


def _unit(text) -> str:
    value = str(text or "").strip().replace(" ", "").lower()
    return UNIT_ALIASES.get(value, value)


def catalog_rows(rows: list[dict]) -> list[CatalogItem]:
    """Catalog items from table rows (CSV or the edit form); ServiceError naming each bad row."""
    items, errors = [], []
    for number, row in enumerate(rows, start=1):
        code = str(row.get("code") or "").strip().upper()
        if not code and not str(row.get("text") or "").strip():
            continue  # an empty line of the form
        try:
            items.append(CatalogItem(
                code=code, category=str(row.get("category") or "").strip(), text=str(row.get("text") or "").strip(),
                points_centi=parse_points(row.get("points"), "每次扣分"),
                unit=_unit(row.get("unit")),
                cap_centi=parse_points(row.get("cap"), "单项上限", required=False),
                category_cap_centi=parse_points(row.get("category_cap"), "类别上限", required=False),
                basis=str(row.get("basis") or "").strip()[:60]))
        except ServiceError as error:
            errors.append(f"第 {number} 条（{code or '无编号'}）：{error}")
    errors += scoring.validate_catalog(items)
    if errors:
        raise ServiceError(f"扣分标准有 {len(errors)} 处错误，未保存", errors)
    return items


def read_catalog_csv(text: str) -> list[CatalogItem]:
    """The CSV layout of data/deduction_catalog.csv; lines starting with # are comments."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if not line.lstrip().startswith("#")]
    return catalog_rows([dict(r) for r in csv.DictReader(io.StringIO("\n".join(lines)))])


def _store_catalog(year: int, items: list[CatalogItem], is_example: bool, note: str) -> DeductionCatalog:
    latest = latest_catalog(year)
    catalog = DeductionCatalog(year=year, version=(latest.version + 1) if latest else 1, is_example=is_example,
                               note=note, created_by=current_actor().name)
    catalog.items = [DeductionItem(position=i, code=it.code, category=it.category, text=it.text,
                                   points_centi=it.points_centi, unit=it.unit, cap_centi=it.cap_centi,
                                   category_cap_centi=it.category_cap_centi, basis=it.basis)
                     for i, it in enumerate(items)]
    db.session.add(catalog)
    return catalog


def latest_catalog(year: int) -> DeductionCatalog | None:
    return db.session.scalar(select(DeductionCatalog).where(DeductionCatalog.year == year)
                             .order_by(DeductionCatalog.version.desc()).limit(1))


def catalog_for(year: int) -> DeductionCatalog:
    """The year's catalog in force: its latest version. A year without one starts from
    the previous year's latest, else from the shipped example (flagged until confirmed)."""
    check_period(year)
    catalog = latest_catalog(year)
    if catalog is not None:
        return catalog
    previous = db.session.scalar(select(DeductionCatalog).where(DeductionCatalog.year < year)
                                 .order_by(DeductionCatalog.year.desc(), DeductionCatalog.version.desc()).limit(1))
    if previous is not None:
        catalog = _store_catalog(year, [i.rule() for i in previous.items], previous.is_example and not previous.confirmed,
                                 f"沿用 {previous.label}")
        if previous.confirmed:
            catalog.confirmed_by, catalog.confirmed_at = previous.confirmed_by, utcnow()
    else:
        path = default_catalog_path()
        catalog = _store_catalog(year, read_catalog_csv(path.read_text(encoding="utf-8")), True,
                                 "系统默认示例表（依据第十条、第十三条、第十四条），须市级路长办公室确认")
    try:
        db.session.commit()
    except IntegrityError:  # two first requests of the year at once: the other one's version stands
        db.session.rollback()
        return latest_catalog(year)
    return catalog


def save_catalog(year: int, rows: list[dict], note: str = "") -> DeductionCatalog:
    """A new version of the year's catalog (the city office's edit); earlier inspections keep theirs."""
    items = catalog_rows(rows)
    catalog = _store_catalog(year, items, False, note.strip() or "市级路长办公室修订")
    db.session.commit()
    return catalog


def confirm_catalog(catalog: DeductionCatalog) -> DeductionCatalog:
    if catalog.confirmed:
        raise ServiceError(f"{catalog.label}已确认")
    catalog.confirmed_by, catalog.confirmed_at, catalog.is_example = current_actor().name, utcnow(), False
    db.session.commit()
    return catalog


def catalog_versions(year: int) -> list[DeductionCatalog]:
    return list(db.session.scalars(select(DeductionCatalog).where(DeductionCatalog.year == year)
                                   .order_by(DeductionCatalog.version.desc())))


def catalog_json(catalog: DeductionCatalog) -> dict:
    return {"id": catalog.id, "year": catalog.year, "version": catalog.version, "confirmed": catalog.confirmed,
            "is_example": catalog.is_example,
            "items": [{"code": i.code, "category": i.category, "text": i.text, "points": points_text(i.points_centi),
                       "unit": i.unit, "cap": points_text(i.cap_centi) or None,
                       "category_cap": points_text(i.category_cap_centi) or None, "basis": i.basis}
                      for i in catalog.items]}


# ================================================================== offices and scope

def office_key(user) -> str | None:
    """The assessing office a user records for (see the module docstring)."""
    if user.role == "city_office" or (user.role == "inspector" and not user.town_id):
        return "city"
    if user.role in ("town_office", "inspector") and user.town_id:
        return f"town:{user.town.code}"
    if user.role == "chief" and user.chief_id:
        return f"chief:{user.chief_id}"
    return None


def office_label(key: str) -> str:
    kind, _, code = key.partition(":")
    if kind == "city":
        return "市级路长办公室"
    if kind == "town":
        town = db.session.scalar(select(Town).where(Town.code == code))
        return f"{town.name if town else code}路长办公室"
    chief = db.session.get(Chief, int(code)) if code.isdigit() else None
    return chief.name if chief else key


def recordable_kinds(user) -> dict[str, str]:
    """Offices record every kind; chiefs record patrols, and a 村级路长 also 督查s the
    路段管养责任人 (第二十条); finance records nothing."""
    if user.role in OFFICE_ROLES:
        return dict(INSPECTION_KINDS)
    if user.role == "chief" and user.chief_id:
        kinds = {k: v for k, v in INSPECTION_KINDS.items() if k not in SCORED_KINDS}
        if user.chief.position == "village":
            kinds = {"supervision": "督查（管养责任人）", **kinds}
        return kinds
    return {}


def record_condition(user, day: date):
    """Segments a user may record an inspection on: the town's for a town office or
    inspector, the chief's own for a chief, everything for the city office."""
    if user.role == "chief":
        return chief_segment_condition(user.chief_id, day) if user.chief_id else false()
    if user.role in OFFICE_ROLES:
        return segment_condition(user, day)
    return false()


def _chiefs_in(index: AssignmentIndex, kind: str, target: int | None, positions) -> list[Chief]:
    if target is None:
        return []
    return sorted((a.chief for a in index.by_scope.get((kind, target), ()) if a.chief.position in positions),
                  key=lambda c: c.id)


def assessed_chief(index: AssignmentIndex, segment: Segment, key: str) -> Chief | None:
    """Whose score a 督查 finding on this segment hits, on the index's day (第二十条)."""
    kind = key.partition(":")[0]
    if kind == "city":
        found = _chiefs_in(index, "station", segment.station_id, ("station",)) or \
            _chiefs_in(index, "town", segment.town_id, ("town",))
    elif kind == "town":
        found = _chiefs_in(index, "village", segment.village_id, ("village",))
    else:
        found = sorted((c.chief for c in index.chiefs_for(segment) if c.position in MAINTAINER_POSITIONS),
                       key=lambda c: c.id)
    return found[0] if found else None


def assignee_for(index: AssignmentIndex, segment: Segment, key: str, assessed: Chief | None) -> Chief | None:
    """Who must fix a finding: the assessed chief; for a chief's own record, that chief;
    when the post is vacant, the 村级/镇级/公路站路长 found on the segment."""
    if assessed is not None:
        return assessed
    if key.startswith("chief:"):
        return db.session.get(Chief, int(key.partition(":")[2]))
    for kind, target, position in (("village", segment.village_id, "village"), ("town", segment.town_id, "town"),
                                   ("station", segment.station_id, "station")):
        found = _chiefs_in(index, kind, target, (position,))
        if found:
            return found[0]
    return None


# ================================================================== GPS

def point_distance_m(lon: float, lat: float, geometry: str | dict) -> int:
    """Distance in whole metres from a lon/lat point to a segment's line, measured in
    EPSG:4544 (the projection the register's lengths use, see domain.lengths)."""
    transformer = projected_transformer()
    line = shape(json.loads(geometry) if isinstance(geometry, str) else geometry)

    def to_plane(coords):
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        coords = coords.copy()
        coords[:, 0], coords[:, 1] = x, y
        return coords

    x, y = transformer.transform(lon, lat)
    return int(round(shapely_transform(line, to_plane).distance(Point(x, y))))


def distance_warning(lon: float | None, lat: float | None, geometry: str | dict, limit: int = GPS_WARNING_M) -> int | None:
    """The distance in metres when the point is more than ``limit`` from the segment, else None."""
    if lon is None or lat is None:
        return None
    distance = point_distance_m(lon, lat, geometry)
    return distance if distance > limit else None


def clean_point(lon, lat) -> tuple[float | None, float | None]:
    if lon in (None, "") and lat in (None, ""):
        return None, None
    try:
        lon_f, lat_f = float(lon), float(lat)
    except (TypeError, ValueError):
        raise ServiceError("定位坐标不正确：经度和纬度须同时为数字") from None
    if not (LON_RANGE[0] <= lon_f <= LON_RANGE[1] and LAT_RANGE[0] <= lat_f <= LAT_RANGE[1]):
        raise ServiceError(f"定位点（{lon_f:.5f}, {lat_f:.5f}）不在青铜峡市范围内")
    return round(lon_f, 6), round(lat_f, 6)


def segment_label(segment: Segment) -> str:
    place = segment.village.name if segment.village else segment.town.name
    return (f"{segment.road.code} {segment.road.name} {format_stake(segment.start_m)}–{format_stake(segment.end_m)}"
            f"（{place}）")


def segment_json(segment: Segment, distance: int | None = None) -> dict:
    return {"id": segment.id, "label": segment_label(segment), "road_code": segment.road.code,
            "road_name": segment.road.name, "road_class": segment.road.road_class,
            "start": format_stake(segment.start_m), "end": format_stake(segment.end_m),
            "town": segment.town.name, "village": segment.village.name if segment.village else None,
            "distance_m": distance, "far": distance is not None and distance > GPS_WARNING_M}


def nearest_segments(user, lon: float, lat: float, limit: int = 8) -> list[dict]:
    """The user's recordable segments nearest to a point: bounding boxes within ~1 km
    (widened to ~5 km when nothing is that close), then exact distances."""
    lon, lat = clean_point(lon, lat)
    if lon is None:
        raise ServiceError("请提供定位点经纬度（lon、lat）")
    options = (selectinload(Segment.road), selectinload(Segment.town), selectinload(Segment.village))
    for margin in (NEAREST_MARGIN_DEG, NEAREST_MARGIN_DEG * 5):
        candidates = db.session.scalars(select(Segment).options(*options).where(
            record_condition(user, beijing_today()), Segment.min_lon <= lon + margin, Segment.max_lon >= lon - margin,
            Segment.min_lat <= lat + margin, Segment.max_lat >= lat - margin)).all()
        if candidates:
            break
    ranked = sorted(((point_distance_m(lon, lat, s.geometry), s) for s in candidates), key=lambda p: (p[0], p[1].id))
    return [segment_json(s, d) for d, s in ranked[:limit]]


def chosen_segments(user, ids: list[int], day: date) -> list[dict]:
    """Segments already picked (a re-shown form, or a link from a segment page) that the user may record on."""
    ids = [i for i in ids if 1 <= i <= MAX_ID]
    if not ids:
        return []
    rows = db.session.scalars(select(Segment).options(selectinload(Segment.road), selectinload(Segment.town),
                                                      selectinload(Segment.village))
                              .where(Segment.id.in_(ids), record_condition(user, day)))
    return [segment_json(s) for s in rows]


def search_segments(user, text: str, limit: int = 20) -> list[dict]:
    """Segments by road code or name, village or town name (no GPS)."""
    from roadchief.models import Road
    like = f"%{text.strip()}%"
    if not text.strip():
        return []
    rows = db.session.scalars(
        select(Segment).join(Road).join(Town, Segment.town_id == Town.id).outerjoin(Village, Segment.village_id == Village.id)
        .options(selectinload(Segment.road), selectinload(Segment.town), selectinload(Segment.village))
        .where(record_condition(user, beijing_today()),
               Road.code.ilike(like) | Road.name.ilike(like) | Village.name.ilike(like) | Town.name.ilike(like))
        .order_by(Road.code, Segment.start_m).limit(limit))
    return [segment_json(s) for s in rows]


# ================================================================== recording an inspection

@dataclass
class FindingInput:
    item_code: str
    quantity: int | str
    segment_id: int | None = None
    note: str = ""
    photos: list = field(default_factory=list)  # FileStorage objects


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


def _clean_uuid(value: str | None) -> str:
    if not value:
        return str(uuid.uuid4())
    try:
        return str(uuid.UUID(str(value).strip()))
    except ValueError:
        raise ServiceError("提交编号（client_uuid）格式不正确") from None


def _existing(client_uuid: str, user) -> Inspection | None:
    found = db.session.scalar(select(Inspection).where(Inspection.client_uuid == client_uuid))
    if found is not None and found.user_id != user.id:
        raise ServiceError("提交编号已被使用，请刷新页面后重新填写")
    return found


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def finalised(scope_key: str, day: date) -> QuarterFinalisation | None:
    """The finalisation covering an office's 督查 on a day (scope "city" or "town:CODE";
    a chief's own records are never finalised)."""
    year, quarter = quarter_of(day)
    return db.session.scalar(select(QuarterFinalisation).where(
        QuarterFinalisation.year == year, QuarterFinalisation.quarter == quarter, QuarterFinalisation.scope_key == scope_key))


def _check_when(when: datetime | None, now: datetime) -> datetime:
    when = clock.parse_local(when) or now  # a naive time (form, API without offset) is Beijing time
    if when > now + CLOCK_SKEW:
        raise ServiceError("检查时间不能晚于当前时间")
    if when.year < 2000:
        raise ServiceError("检查时间不正确")
    return when


MAX_ID = 2**31 - 1


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


def _save_photos(files, upload_dir, what: str, stored: list) -> list:
    files = [f for f in files or [] if getattr(f, "filename", None) or getattr(f, "stream", None)]
    if len(files) > MAX_PHOTOS:
        raise ServiceError(f"{what}：照片最多 {MAX_PHOTOS} 张")
    saved = []
    for number, file in enumerate(files, start=1):
        try:
            photo = save_photo(file, upload_dir, max_bytes=_photo_limit())
        except ServiceError as error:
            raise ServiceError(f"{what}第 {number} 张照片：{error}") from None
        stored.append(photo)
        saved.append(photo)
    return saved


def _photo_limit() -> int:
    from flask import current_app
    return current_app.config.get("PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)


def _photo_row(photo, user, **links) -> InspectionPhoto:
    return InspectionPhoto(path=photo.path, thumb_path=photo.thumb_path, mimetype=photo.mimetype, width=photo.width,
                           height=photo.height, taken_at=photo.taken_at, user_id=user.id, **links)


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


def assets_on_segments(user, segment_ids: list[int], day: date | None = None) -> list[dict]:
    """路产 on the given segments the user may record on, for the field form's select."""
    ids = [i for i in segment_ids if 1 <= i <= MAX_ID][:MAX_SEGMENTS * 5]
    if not ids:
        return []
    from roadchief.models import Road
    rows = db.session.scalars(
        select(RoadAsset).join(Segment, RoadAsset.segment_id == Segment.id).join(Road, Segment.road_id == Road.id)
        .options(selectinload(RoadAsset.segment).selectinload(Segment.road))
        .where(RoadAsset.segment_id.in_(ids), record_condition(user, day or beijing_today()))
        .order_by(Road.code, RoadAsset.stake_m, RoadAsset.code).limit(500))
    return [asset_json(a) for a in rows]


def asset_json(asset: RoadAsset) -> dict:
    stake = format_stake(asset.stake_m) if asset.stake_m is not None else ""
    return {"id": asset.id, "segment_id": asset.segment_id, "code": asset.code,
            "label": " ".join(p for p in (asset.code, asset.kind_label, asset.name, stake) if p)}


def create_inspection(user, data: InspectionInput, upload_dir: str | Path, photos=(), now: datetime | None = None) -> Recorded:
    """Validate and store an inspection with its findings, photos and rectifications,
    all or nothing. A repeated ``client_uuid`` returns the inspection already stored."""
    client_uuid = _clean_uuid(data.client_uuid)
    existing = _existing(client_uuid, user)
    if existing is not None:
        return Recorded(existing, False, [])
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
    if scored and (closed := finalised(key, day)):
        raise ServiceError(f"{closed.year} 年第 {closed.quarter} 季度已定稿，不能再补录督查；如需更正请对原记录登记更正")
    lon, lat = clean_point(data.lon, data.lat)
    segment_ids = list(dict.fromkeys(_id(s, "路段编号") for s in data.segment_ids or []))
    if not segment_ids:
        raise ServiceError("请至少选择一个路段")
    if len(segment_ids) > MAX_SEGMENTS:
        raise ServiceError(f"一次检查最多 {MAX_SEGMENTS} 个路段")
    segments = {s.id: s for s in db.session.scalars(select(Segment).where(
        Segment.id.in_(segment_ids), record_condition(user, day)))}
    if missing := [str(s) for s in segment_ids if s not in segments]:
        raise ServiceError(f"路段不存在或不在本单位管辖范围内：{', '.join(missing)}")
    try:
        duty_phase = scoring.check_duty_phase(data.kind, data.duty_phase)
    except ValueError as error:
        raise ServiceError(str(error)) from None
    assets = _assets_on(data.asset_ids, segments)
    if len(data.findings) > MAX_FINDINGS:
        raise ServiceError(f"一次检查最多登记 {MAX_FINDINGS} 条问题")
    deadline = data.deadline or day + timedelta(days=DEFAULT_DEADLINE_DAYS)
    if deadline < day:
        raise ServiceError("整改期限不能早于检查日期")
    catalog = catalog_for(day.year)
    items = {i.code: i for i in catalog.items}
    index = AssignmentIndex(day)
    warnings: list[str] = []

    inspection = Inspection(client_uuid=client_uuid, kind=data.kind, inspected_at=when, user_id=user.id,
                            inspector_name=user.display_name or user.username, office_key=key, catalog=catalog,
                            lon=lon, lat=lat, note=(data.note or "").strip()[:2000], duty_phase=duty_phase)
    for asset in assets:
        inspection.assets.append(InspectionAsset(asset=asset))
    assessed: dict[int, Chief | None] = {}
    for segment_id in segment_ids:
        segment = segments[segment_id]
        chief = assessed_chief(index, segment, key) if scored else None
        assessed[segment_id] = chief
        distance = point_distance_m(lon, lat, segment.geometry) if lon is not None else None
        if distance is not None and distance > GPS_WARNING_M:
            warnings.append(f"定位点距路段 {segment_label(segment)} 约 {distance} 米（超过 {GPS_WARNING_M} 米），请核对路段")
        if scored and chief is None:
            warnings.append(f"路段 {segment_label(segment)} 在 {day} 无被考核路长，问题不计入得分")
        inspection.segments.append(InspectionSegment(segment_id=segment_id, distance_m=distance,
                                                     chief_id=chief.id if chief else None))
    stored: list = []
    try:
        for number, entry in enumerate(data.findings, start=1):
            code = (entry.item_code or "").strip().upper()
            item = items.get(code)
            if item is None or code == OVERDUE_CODE:
                raise ServiceError(f"第 {number} 条问题：请选择扣分项（{code or '未选择'} 不在 {catalog.label}扣分标准中）")
            quantity = _parse_quantity(entry.quantity, number)
            segment_id = _id(entry.segment_id, f"第 {number} 条问题的路段编号") if entry.segment_id else \
                (segment_ids[0] if len(segment_ids) == 1 else None)
            if segment_id not in segments:
                raise ServiceError(f"第 {number} 条问题：请选择问题所在路段（须为本次检查的路段）")
            finding = Finding(segment_id=segment_id, item=item, quantity=quantity, note=(entry.note or "").strip()[:1000],
                              chief_id=assessed[segment_id].id if assessed[segment_id] else None)
            owner = assignee_for(index, segments[segment_id], key, assessed[segment_id])
            finding.rectification = Rectification(chief_id=owner.id if owner else None, deadline=deadline, state=scoring.OPEN)
            inspection.findings.append(finding)
            for photo in _save_photos(entry.photos, upload_dir, f"第 {number} 条问题", stored):
                inspection.photos.append(_photo_row(photo, user, finding=finding))
        for photo in _save_photos(photos, upload_dir, "现场照片", stored):
            inspection.photos.append(_photo_row(photo, user))
        db.session.add(inspection)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        delete_stored(upload_dir, *[p for s in stored for p in (s.path, s.thumb_path)])
        again = _existing(client_uuid, user)  # the same form arrived twice at once
        if again is None:
            raise
        return Recorded(again, False, [])
    except Exception:
        db.session.rollback()
        delete_stored(upload_dir, *[p for s in stored for p in (s.path, s.thumb_path)])
        raise
    return Recorded(inspection, True, warnings)


# ================================================================== who sees what

def inspection_condition(user):
    """SQL condition on Inspection for what a user may read."""
    if user.role in ("city_office", "finance") or (user.role == "inspector" and not user.town_id):
        return true()
    if user.role in ("town_office", "inspector") and user.town_id:
        in_town = exists().where(InspectionSegment.inspection_id == Inspection.id, InspectionSegment.segment_id == Segment.id,
                                 Segment.town_id == user.town_id)
        return or_(Inspection.office_key == office_key(user), in_town)
    if user.role == "chief" and user.chief_id:
        mine = exists().where(Finding.inspection_id == Inspection.id, Finding.id == Rectification.finding_id,
                              or_(Rectification.chief_id == user.chief_id, Finding.chief_id == user.chief_id))
        assessed = exists().where(InspectionSegment.inspection_id == Inspection.id, InspectionSegment.chief_id == user.chief_id)
        return or_(Inspection.user_id == user.id, mine, assessed)
    return false()


def can_see_inspection(user, inspection: Inspection) -> bool:
    return bool(db.session.scalar(select(Inspection.id).where(Inspection.id == inspection.id, inspection_condition(user))))


def list_inspections(user, kind: str | None = None, month: tuple[int, int] | None = None, limit: int = 100) -> list[Inspection]:
    query = (select(Inspection).where(inspection_condition(user))
             .options(selectinload(Inspection.segments).selectinload(InspectionSegment.segment).selectinload(Segment.road),
                      selectinload(Inspection.findings).selectinload(Finding.rectification)))
    if kind in INSPECTION_KINDS:
        query = query.where(Inspection.kind == kind)
    if month:
        first, last = scoring.month_days(month)
        start = datetime.combine(first, datetime.min.time(), tzinfo=clock.BEIJING)  # Beijing months
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=clock.BEIJING)
        query = query.where(Inspection.inspected_at >= start, Inspection.inspected_at < end)
    return list(db.session.scalars(query.order_by(Inspection.inspected_at.desc(), Inspection.id.desc()).limit(limit)))


def rectification_condition(user):
    """SQL condition on Rectification (joined to Finding and Inspection)."""
    if user.role in ("city_office", "finance") or (user.role == "inspector" and not user.town_id):
        return true()
    if user.role in ("town_office", "inspector") and user.town_id:
        in_town = exists().where(Segment.id == Finding.segment_id, Segment.town_id == user.town_id)
        return or_(Inspection.office_key == office_key(user), in_town)
    if user.role == "chief" and user.chief_id:
        return or_(Rectification.chief_id == user.chief_id, Inspection.office_key == office_key(user))
    return false()


def _rectification_query(user):
    return (select(Rectification).join(Finding, Rectification.finding_id == Finding.id)
            .join(Inspection, Finding.inspection_id == Inspection.id).where(rectification_condition(user))
            .options(selectinload(Rectification.finding).selectinload(Finding.item),
                     selectinload(Rectification.finding).selectinload(Finding.segment).selectinload(Segment.road),
                     selectinload(Rectification.finding).selectinload(Finding.inspection),
                     selectinload(Rectification.chief)))


def list_rectifications(user, state: str | None = None, overdue: bool = False, chief_id: int | None = None,
                        today: date | None = None, limit: int = 300) -> list[Rectification]:
    """Rectifications the user may see; ``overdue`` keeps the open ones past their deadline."""
    today = today or beijing_today()
    query = _rectification_query(user)
    if overdue:
        query = query.where(Rectification.state == scoring.OPEN, Rectification.deadline < today)
    elif state in scoring.STATE_LABELS:
        query = query.where(Rectification.state == state)
    elif state == "active":
        query = query.where(Rectification.state != scoring.VERIFIED)
    if chief_id is not None:
        query = query.where(Rectification.chief_id == chief_id)
    return list(db.session.scalars(query.order_by(Rectification.deadline, Rectification.id).limit(limit)))


def awaiting_review(user, limit: int = 50) -> list[Rectification]:
    """Rectifications answered by the chief that this user's office inspected and must now review."""
    key = office_key(user)
    if key is None:
        return []
    query = _rectification_query(user).where(Inspection.office_key == key, Rectification.state == scoring.DONE)
    return list(db.session.scalars(query.order_by(Rectification.completed_at, Rectification.id).limit(limit)))


def can_see_rectification(user, rect: Rectification) -> bool:
    return bool(db.session.scalar(_rectification_query(user).with_only_columns(Rectification.id)
                                  .where(Rectification.id == rect.id)))


def is_overdue(rect: Rectification, today: date | None = None) -> bool:
    return scoring.is_overdue(rect.state, rect.deadline, today or beijing_today())


def actors_for(user, rect: Rectification) -> set[str]:
    """The parts a user plays on a rectification: "chief" (assigned to it) and/or
    "office" (the office that inspected, which alone verifies or sends back)."""
    roles = set()
    if user.role == "chief" and user.chief_id and rect.chief_id == user.chief_id:
        roles.add("chief")
    if office_key(user) == rect.finding.inspection.office_key:
        roles.add("office")
    return roles


def act(user, rect: Rectification, action: str, note: str = "", photo=None, upload_dir: str | Path = "",
        now: datetime | None = None) -> Rectification:
    """One step of the 整改 workflow (see domain.scoring.next_state), with its history."""
    if action not in scoring.ACTIONS:
        raise ServiceError(f"未知操作：{action}")
    actor = scoring.ACTION_ACTOR[action]
    if actor not in actors_for(user, rect):
        raise PermissionError(action)
    now = aware(now) or utcnow()
    note = (note or "").strip()[:1000]
    has_photo = photo is not None and bool(getattr(photo, "filename", None) or getattr(photo, "stream", None))
    try:
        step = scoring.next_state(rect.state, action, now, rect.deadline, actor=actor, note=note, has_photo=has_photo)
    except TransitionError as error:
        raise ServiceError(str(error)) from None
    stored: list = []
    try:
        if action == "complete":
            for saved in _save_photos([photo], upload_dir, "整改后照片", stored):
                db.session.add(_photo_row(saved, user, inspection_id=rect.finding.inspection_id,
                                          finding_id=rect.finding_id, rectification_id=rect.id))
            rect.chief_note, rect.completed_at, rect.late = note, now, step.late
        elif action == "verify":
            rect.verified_at = now
            if note:
                rect.office_note = note
        else:
            rect.office_note, rect.returned_count = note, rect.returned_count + 1
        rect.state = step.state
        db.session.add(RectificationEvent(rectification_id=rect.id, at=now, action=action, user_id=user.id,
                                          actor=user.username, note=note))
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        delete_stored(upload_dir, *[p for s in stored for p in (s.path, s.thumb_path)])
        raise ServiceError("该整改刚刚已被他人处理，请刷新后查看") from None
    except Exception:
        db.session.rollback()
        delete_stored(upload_dir, *[p for s in stored for p in (s.path, s.thumb_path)])
        raise
    return rect


def add_photo(user, inspection: Inspection, file, upload_dir: str | Path, finding_id: int | None = None) -> InspectionPhoto:
    """Attach a photo to an inspection (or one of its findings) after it was recorded — the
    API's way to send photos apart from the JSON. Only the recorder, and not once frozen."""
    if inspection.user_id != user.id:
        raise PermissionError("photo")
    if inspection.frozen:
        raise ServiceError("该检查记录所在季度已定稿，不能再添加照片")
    finding = next((f for f in inspection.findings if f.id == finding_id), None) if finding_id else None
    if finding_id and finding is None:
        raise ServiceError(f"问题 {finding_id} 不属于该检查记录")
    count = sum(1 for p in inspection.photos if p.finding_id == finding_id and p.rectification_id is None)
    if count >= MAX_PHOTOS:
        raise ServiceError(f"照片最多 {MAX_PHOTOS} 张")
    stored: list = []
    saved = _save_photos([file], upload_dir, "照片", stored)
    if not saved:
        raise ServiceError("请选择照片文件")
    row = _photo_row(saved[0], user, inspection_id=inspection.id, finding_id=finding_id)
    try:
        db.session.add(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        delete_stored(upload_dir, saved[0].path, saved[0].thumb_path)
        raise
    return row


def can_see_photo(user, photo: InspectionPhoto) -> bool:
    if photo.rectification_id is not None:
        rect = db.session.get(Rectification, photo.rectification_id)
        if rect is not None and can_see_rectification(user, rect):
            return True
    return can_see_inspection(user, photo.inspection)


# ================================================================== corrections

def can_correct(user, inspection: Inspection) -> bool:
    return user.role in OFFICE_ROLES + ("chief",) and office_key(user) == inspection.office_key


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
    correction = InspectionCorrection(inspection_id=finding.inspection_id, finding_id=finding.id,
                                      quantity_before=finding.quantity, quantity_after=new, reason=reason[:1000],
                                      user_id=user.id, actor=user.username)
    finding.quantity = new
    rect = finding.rectification
    if new == 0 and rect is not None and rect.state != scoring.VERIFIED:  # nothing left to fix: closed, with the reason
        rect.office_note, rect.state, rect.verified_at = f"问题已更正撤销：{reason[:200]}", scoring.VERIFIED, utcnow()
        db.session.add(RectificationEvent(rectification_id=rect.id, at=rect.verified_at, action="verify", user_id=user.id,
                                          actor=user.username, note=rect.office_note))
    db.session.add(correction)
    db.session.commit()
    return correction


def corrections_of(inspection: Inspection) -> list[InspectionCorrection]:
    return list(db.session.scalars(select(InspectionCorrection).where(InspectionCorrection.inspection_id == inspection.id)
                                   .options(selectinload(InspectionCorrection.finding).selectinload(Finding.item))
                                   .order_by(InspectionCorrection.id)))


def findings_of_chief(chief_id: int, limit: int = 30) -> list[Finding]:
    """The latest findings that hit a chief's score."""
    return list(db.session.scalars(select(Finding).join(Inspection).where(Finding.chief_id == chief_id)
                                   .options(selectinload(Finding.item), selectinload(Finding.rectification),
                                            selectinload(Finding.segment).selectinload(Segment.road))
                                   .order_by(Inspection.inspected_at.desc(), Finding.id.desc()).limit(limit)))


def finding_points_text(finding: Finding) -> str:
    """The finding's points before the caps, e.g. "1.5"."""
    return points_text(scoring.finding_points(finding.item.rule(), finding.quantity)) if finding.quantity else "0"


# ================================================================== JSON (API)

def inspection_json(inspection: Inspection, today: date | None = None) -> dict:
    return {
        "id": inspection.id, "client_uuid": inspection.client_uuid, "kind": inspection.kind,
        "kind_label": inspection.kind_label, "inspected_at": clock.iso_beijing(inspection.inspected_at),
        "inspector": inspection.inspector_name, "office": office_label(inspection.office_key),
        "office_key": inspection.office_key, "catalog": inspection.catalog.label, "frozen": inspection.frozen,
        "lon": inspection.lon, "lat": inspection.lat, "note": inspection.note,
        "segments": [{**segment_json(s.segment, s.distance_m), "chief_id": s.chief_id} for s in inspection.segments],
        "findings": [finding_json(f, today) for f in inspection.findings],
        "photos": [p.id for p in inspection.photos if p.finding_id is None],
    }


def finding_json(finding: Finding, today: date | None = None) -> dict:
    rect = finding.rectification
    return {"id": finding.id, "segment_id": finding.segment_id, "item": finding.item.code, "text": finding.item.text,
            "category": finding.item.category, "quantity": finding.quantity, "unit": finding.item.unit,
            "points": finding_points_text(finding),
            "note": finding.note, "chief_id": finding.chief_id, "photos": [p.id for p in finding.photos],
            "rectification": rectification_json(rect, today) if rect else None}


def rectification_json(rect: Rectification, today: date | None = None) -> dict:
    return {"id": rect.id, "finding_id": rect.finding_id, "inspection_id": rect.finding.inspection_id,
            "chief_id": rect.chief_id, "chief": rect.chief.name if rect.chief else None,
            "deadline": rect.deadline.isoformat(), "state": rect.state, "state_label": rect.state_label,
            "overdue": is_overdue(rect, today), "late": rect.late, "chief_note": rect.chief_note,
            "office_note": rect.office_note, "returned_count": rect.returned_count,
            "completed_at": clock.iso_beijing(rect.completed_at),
            "verified_at": clock.iso_beijing(rect.verified_at),
            "item": rect.finding.item.text, "segment": segment_label(rect.finding.segment)}
