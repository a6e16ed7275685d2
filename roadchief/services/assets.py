"""Road assets (路产, 第十一条): bridges, culverts, signs, warning posts, 防撞墩, 里程碑 and
trees/green belts as point or line features on segments, imported from GeoJSON /
Shapefile (read like the road layers: roadchief.services.importing) — all rows or none,
every bad row named.

Columns (Chinese or English names, case-insensitive):
编号 code (required, unique; an existing code is updated), 路线编码 road_code (required),
类型 kind (required: 桥梁 涵洞 标志牌 示警桩 防撞墩 里程碑 行道树/绿化带 or their codes),
名称 name, 桩号 stake (K3+200 or metres; without it the nearest segment of the road is
taken), 止点桩号 end_stake (line assets), 状况 condition (良好 一般 较差 损坏), 数量 quantity, 备注 note.
Geometry: Point or LineString (lon/lat, or any declared projection).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from shapely.geometry import mapping, shape
from sqlalchemy import select
from sqlalchemy.exc import DatabaseError

from roadchief.domain.permissions import ASSET_CONDITION, EDIT_ASSETS, roles_for
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Road, Segment
from roadchief.models.operations import ASSET_CONDITIONS, ASSET_KINDS, InspectionAsset, RoadAsset, RoadAssetPhoto
from roadchief.services import Conflict, ServiceError
from roadchief.services.importing.cells import cell_text
from roadchief.services.importing.layers import open_layer
from roadchief.services.importing.results import ImportFailed, RowError, file_error
from roadchief.services.permissions import can_on_segment, can_see_segment, segment_condition
from roadchief.services.transactions import unit_of_work
from roadchief.services.uploads import photo_columns, staged_photos

COLUMNS = {
    "code": ("code", "编号", "路产编号", "asset_code"),
    "road_code": ("road_code", "路线编码", "路线编号", "roadcode"),
    "kind": ("kind", "类型", "路产类型", "type"),
    "name": ("name", "名称", "路产名称"),
    "stake": ("stake", "桩号", "起点桩号", "stake_m"),
    "end_stake": ("end_stake", "止点桩号", "end_stake_m"),
    "condition": ("condition", "状况", "技术状况"),
    "quantity": ("quantity", "数量"),
    "note": ("note", "备注"),
}
REQUIRED = ("code", "road_code", "kind")
LABELS = {
    "code": "编号",
    "road_code": "路线编码",
    "kind": "类型",
    "name": "名称",
    "stake": "桩号",
    "end_stake": "止点桩号",
    "condition": "状况",
    "quantity": "数量",
    "note": "备注",
}
KIND_BY_LABEL = {
    **{v: k for k, v in ASSET_KINDS.items()},
    "行道树": "trees",
    "绿化带": "trees",
    "桥": "bridge",
    "涵": "culvert",
    "标志": "sign",
    "标牌": "sign",
}
CONDITION_BY_LABEL = {v: k for k, v in ASSET_CONDITIONS.items()}


@dataclass
class AssetImportReport:
    path: str
    rows: int
    created: int = 0
    updated: int = 0
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        head = f"导入文件：{Path(self.path).name}" + ("（试导入，未写入任何数据）" if self.dry_run else "")
        return "\n".join(
            [head, f"数据行：{self.rows}", f"路产：新增 {self.created}，更新 {self.updated}", *self.warnings]
        )


def _columns(names) -> dict[str, str]:
    found = {}
    lowered = {str(n).strip().lower(): n for n in names}
    for key, aliases in COLUMNS.items():
        for alias in aliases:
            if alias.lower() in lowered:
                found[key] = lowered[alias.lower()]
                break
    missing = [LABELS[k] for k in REQUIRED if k not in found]
    if missing:
        raise ImportFailed(
            "导入失败：缺少必需的列 " + "、".join(missing),
            [RowError(0, LABELS[k], "缺少该列") for k in REQUIRED if k not in found],
        )
    return found


def _stake(text: str | None) -> int | None:
    if not text:
        return None
    value = text.upper().replace(" ", "")
    if value.startswith("K"):
        km, _, metres = value[1:].partition("+")
        number = int(km) * 1000 + int(metres or 0)
    else:
        number = int(float(value)) if float(value).is_integer() else None
        if number is None:
            raise ValueError(text)
    if number < 0:
        raise ValueError(text)
    return number


def _segment_line(segment: Segment):
    geom = shape(json.loads(segment.geometry))
    return geom


def import_assets(path, dry_run: bool = False, encoding: str | None = None) -> AssetImportReport:
    path = Path(path)
    layer = open_layer(path, encoding)
    records = layer.records
    columns = _columns(layer.columns)
    geometries = layer.lonlat_geometries()

    roads = {r.code: r for r in db.session.scalars(select(Road))}
    segments_by_road: dict[int, list[Segment]] = {}
    errors: list[RowError] = []
    rows = []
    seen: dict[str, int] = {}
    for number, (record, geom) in enumerate(zip(records, geometries), start=1):

        def cell(key):
            return cell_text(record.get(columns[key])) if key in columns else None  # noqa: B023  (called within this same iteration)

        row_errors = []

        def bad(key, reason):
            row_errors.append(RowError(number, LABELS.get(key, key), reason))  # noqa: B023

        code = cell("code")
        if not code:
            bad("code", "编号不能为空")
        elif len(code) > 40:
            bad("code", "编号过长（不超过 40 字符）")
        elif code in seen:
            bad("code", f"编号 {code} 与第 {seen[code]} 行重复")
        else:
            seen[code] = number
        kind_text = cell("kind") or ""
        kind = kind_text if kind_text in ASSET_KINDS else KIND_BY_LABEL.get(kind_text)
        if kind is None:
            bad("kind", f"未知的路产类型：{kind_text or '（空）'}（可填 {'、'.join(ASSET_KINDS.values())}）")
        condition_text = cell("condition") or "良好"
        condition = condition_text if condition_text in ASSET_CONDITIONS else CONDITION_BY_LABEL.get(condition_text)
        if condition is None:
            bad("condition", f"未知的状况：{condition_text}（可填 {'、'.join(ASSET_CONDITIONS.values())}）")
        quantity = 1
        if cell("quantity"):
            try:
                quantity = int(cell("quantity"))
                if quantity <= 0:
                    raise ValueError
            except ValueError:
                bad("quantity", f"数量应为正整数：{cell('quantity')}")
        stakes = []
        for key in ("stake", "end_stake"):
            try:
                stakes.append(_stake(cell(key)))
            except ValueError:
                bad(key, f"桩号格式不正确：{cell(key)}（如 K3+200）")
                stakes.append(None)
        stake, end_stake = stakes
        if stake is not None and end_stake is not None and end_stake < stake:
            bad("end_stake", "止点桩号不能小于桩号")
        if geom is None or geom.is_empty:
            bad("geometry", "缺少几何")
        elif geom.geom_type not in ("Point", "LineString"):
            bad("geometry", f"几何应为点或线，而不是 {geom.geom_type}")
        road_code = (cell("road_code") or "").upper()
        road = roads.get(road_code)
        segment = None
        if road is None:
            bad("road_code", f"路线 {road_code or '（空）'} 不在路网登记中")
        elif not row_errors:
            segments = segments_by_road.setdefault(
                road.id,
                list(db.session.scalars(select(Segment).where(Segment.road_id == road.id).order_by(Segment.start_m))),
            )
            if stake is not None:
                segment = next((s for s in segments if s.start_m <= stake <= s.end_m), None)
                if segment is None:
                    bad("stake", f"桩号 {format_stake(stake)} 不在路线 {road.code} 的路段上")
            elif segments:
                segment = min(segments, key=lambda s: _segment_line(s).distance(geom))
            else:
                bad("road_code", f"路线 {road.code} 没有路段")
        if row_errors:
            errors.extend(row_errors)
            continue
        point = geom if geom.geom_type == "Point" else geom.interpolate(0.5, normalized=True)
        rows.append(
            dict(
                code=code,
                segment_id=segment.id,
                kind=kind,
                name=(cell("name") or "")[:120],
                stake_m=stake,
                end_stake_m=end_stake,
                condition=condition,
                quantity=quantity,
                geometry=json.dumps(mapping(geom)),
                lon=round(point.x, 6),
                lat=round(point.y, 6),
                note=cell("note") or "",
            )
        )
    if errors:
        raise ImportFailed(f"导入失败：{len(errors)} 处错误，未写入任何数据", errors)

    report = AssetImportReport(str(path), len(records), dry_run=dry_run)
    try:
        existing = {a.code: a for a in db.session.scalars(select(RoadAsset).where(RoadAsset.code.in_(list(seen))))}
        for values in rows:
            asset = existing.get(values["code"])
            if asset is None:
                db.session.add(RoadAsset(**values))
                report.created += 1
            else:
                for key, value in values.items():
                    setattr(asset, key, value)
                report.updated += 1
        db.session.flush()
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except DatabaseError as exc:
        db.session.rollback()
        raise file_error(f"写入时数据库拒绝，未写入任何数据：{exc.__class__.__name__}") from exc
    except BaseException:
        db.session.rollback()
        raise
    return report


def asset_condition(user):
    return RoadAsset.segment_id.in_(select(Segment.id).where(segment_condition(user)))


def list_assets(user, kind: str | None = None, road_code: str | None = None, limit: int = 500) -> list[RoadAsset]:
    query = select(RoadAsset).join(Segment, RoadAsset.segment_id == Segment.id).join(Road).where(asset_condition(user))
    if kind in ASSET_KINDS:
        query = query.where(RoadAsset.kind == kind)
    if road_code:
        query = query.where(Road.code == road_code.strip().upper())
    return list(db.session.scalars(query.order_by(Road.code, RoadAsset.stake_m, RoadAsset.id).limit(limit)))


def assets_geojson(user, bbox=None) -> dict:
    query = select(RoadAsset).where(asset_condition(user))
    if bbox:
        query = query.where(
            RoadAsset.lon >= bbox[0], RoadAsset.lon <= bbox[2], RoadAsset.lat >= bbox[1], RoadAsset.lat <= bbox[3]
        )
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": json.loads(a.geometry),
                "properties": {
                    "id": a.id,
                    "layer": "asset",
                    "code": a.code,
                    "kind": a.kind,
                    "kind_label": a.kind_label,
                    "name": a.name,
                    "condition": a.condition,
                    "condition_label": a.condition_label,
                    "segment_id": a.segment_id,
                    "stake": format_stake(a.stake_m) if a.stake_m is not None else "",
                },
            }
            for a in db.session.scalars(query.order_by(RoadAsset.id).limit(5000))
        ],
    }


def can_see_asset(user, asset: RoadAsset) -> bool:
    return can_see_segment(user, asset.segment)


def set_condition(
    user, asset: RoadAsset, condition: str, note: str = "", photo=None, upload_dir: str | Path = ""
) -> RoadAsset:
    if condition not in ASSET_CONDITIONS:
        raise ServiceError("请选择状况")
    if not can_on_segment(user, ASSET_CONDITION, asset.segment):
        raise ServiceError("无权修改该路产")
    with staged_photos(upload_dir) as stage:
        stored = stage.save(photo) if photo is not None and getattr(photo, "filename", "x") else None
        with unit_of_work():
            asset.condition = condition
            if note.strip():
                asset.note = note.strip()[:2000]
            if stored:
                db.session.add(RoadAssetPhoto(asset=asset, **photo_columns(stored, user)))
    return asset


def link_inspection(inspection_id: int, asset: RoadAsset, note: str = "") -> InspectionAsset:
    """Record that an inspection looked at this asset (the asset must lie on one of its segments)."""
    from roadchief.models.inspections import InspectionSegment

    on_segment = db.session.scalar(
        select(InspectionSegment.id).where(
            InspectionSegment.inspection_id == inspection_id, InspectionSegment.segment_id == asset.segment_id
        )
    )
    if on_segment is None:
        raise ServiceError("该路产不在这次检查的路段上")
    with unit_of_work("该检查已关联此路产"):
        link = InspectionAsset(inspection_id=inspection_id, asset=asset, note=note.strip()[:2000])
        db.session.add(link)
    return link


def inspections_of_asset(asset: RoadAsset) -> list:
    from roadchief.models.inspections import Inspection

    return list(
        db.session.scalars(
            select(Inspection)
            .join(InspectionAsset, InspectionAsset.inspection_id == Inspection.id)
            .where(InspectionAsset.asset_id == asset.id)
            .order_by(Inspection.inspected_at.desc())
        )
    )


# ------------------------------------------------------------------ manual creation and editing

MANAGERS = roles_for(EDIT_ASSETS)
MAX_PHOTOS = 6
POSITIONS = ("stake", "point", "keep")


@dataclass
class AssetInput:
    kind: str
    code: str
    segment_id: int | str | None
    name: str = ""
    stake: str | int | None = None
    condition: str = "good"
    quantity: int | str | None = 1
    position: str = "stake"  # stake: interpolate along the segment; point: lon/lat; keep: unchanged (editing)
    lon: float | str | None = None
    lat: float | str | None = None
    note: str = ""
    photos: list = field(default_factory=list)


def can_manage(user, segment: Segment | None = None) -> bool:
    """City office anywhere, a town office on its town's segments."""
    return can_on_segment(user, EDIT_ASSETS, segment)


def _choice(value, choices: dict, by_label: dict, what: str) -> str:
    value = str(value or "").strip()
    if value in choices:
        return value
    if value in by_label:
        return by_label[value]
    raise ServiceError(f"请选择{what}")


def _apply(user, asset: RoadAsset, data: AssetInput, creating: bool) -> None:
    from roadchief.services.event_input import _segment, clean_point, parse_stake
    from roadchief.services.event_views import point_at_stake

    segment = _segment(data.segment_id)
    if not can_manage(user, segment):
        raise ServiceError("该路段不在您的管辖范围内")
    kind = _choice(data.kind, ASSET_KINDS, KIND_BY_LABEL, "路产类型")
    condition = _choice(data.condition or "good", ASSET_CONDITIONS, CONDITION_BY_LABEL, "状况")
    code = str(data.code or "").replace("\x00", "").strip()
    if not code:
        raise ServiceError("请填写编号")
    if len(code) > 40:
        raise ServiceError("编号过长（不超过 40 字符）")
    clash = db.session.scalar(select(RoadAsset.id).where(RoadAsset.code == code))
    if clash is not None and clash != asset.id:
        raise Conflict(f"编号 {code} 已被其他路产使用")
    name = str(data.name or "").replace("\x00", "").strip()
    if len(name) > 120:
        raise ServiceError("名称过长（不超过 120 字）")
    note = str(data.note or "").replace("\x00", "").strip()
    if len(note) > 2000:
        raise ServiceError("备注过长（不超过 2000 字）")
    try:
        quantity = int(str(data.quantity if data.quantity not in (None, "") else 1).strip())
    except ValueError:
        raise ServiceError("数量应为正整数") from None
    if not 1 <= quantity <= 10**6:
        raise ServiceError("数量应为 1–1000000 的整数")
    stake = parse_stake(data.stake, segment)
    end_stake = None if creating else asset.end_stake_m
    if end_stake is not None and (stake is None or not stake <= end_stake <= segment.end_m):
        end_stake = None  # a line asset moved to another stake: its old end no longer applies
    position = data.position if data.position in POSITIONS else "stake"
    if position == "keep" and (creating or segment.id != asset.segment_id or stake != asset.stake_m):
        position = "stake" if stake is not None else "point"
    if position == "stake":
        if stake is None:
            raise ServiceError("按桩号定位时请填写桩号")
        lon, lat = point_at_stake(segment, stake)
        geometry = json.dumps({"type": "Point", "coordinates": [lon, lat]})
    elif position == "point":
        lon, lat = clean_point(data.lon, data.lat)
        if lon is None:
            raise ServiceError("请填写经度和纬度，或选择按桩号定位")
        geometry = json.dumps({"type": "Point", "coordinates": [lon, lat]})
    else:
        lon, lat, geometry = asset.lon, asset.lat, asset.geometry
    asset.code, asset.segment, asset.kind, asset.name, asset.condition = code, segment, kind, name, condition
    asset.quantity, asset.stake_m, asset.end_stake_m, asset.note = quantity, stake, end_stake, note
    asset.lon, asset.lat, asset.geometry = lon, lat, geometry


def _save(user, asset: RoadAsset, data: AssetInput, upload_dir, creating: bool) -> RoadAsset:
    files = [f for f in (data.photos or ()) if f is not None and getattr(f, "filename", "x")]
    if len(files) + (0 if creating else len(asset.photos)) > MAX_PHOTOS * 4 or len(files) > MAX_PHOTOS:
        raise ServiceError(f"每次最多上传 {MAX_PHOTOS} 张照片")
    try:
        with (
            staged_photos(upload_dir) as stage,
            unit_of_work(f"编号 {data.code} 已被其他路产使用" if creating else "该路产刚刚已被他人修改，请刷新后重试"),
        ):
            _apply(user, asset, data, creating)
            if creating:
                db.session.add(asset)
            for file in files:
                db.session.add(RoadAssetPhoto(asset=asset, **photo_columns(stage.save(file), user)))
    except BaseException:
        if not creating and asset in db.session:
            db.session.expire(asset)
        raise
    return asset


def create_asset(user, data: AssetInput, upload_dir: str | Path = "") -> RoadAsset:
    """A road asset entered by hand (an office within its scope); audited like every change."""
    if not can_manage(user):
        raise ServiceError("只有路长办公室可以登记路产")
    return _save(user, RoadAsset(), data, upload_dir, creating=True)


def update_asset(user, asset: RoadAsset, data: AssetInput, upload_dir: str | Path = "") -> RoadAsset:
    if not can_manage(user, asset.segment):
        raise ServiceError("无权修改该路产")
    return _save(user, asset, data, upload_dir, creating=False)
