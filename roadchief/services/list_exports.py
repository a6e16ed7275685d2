"""导出Excel of the list pages: the same rows the page shows (its filters and the user's scope), every one.

Each function returns (XLSX bytes, file name without extension); ``reports.list_xlsx`` lays them out.
The pages cap what they show (200–300 rows); the export does not.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from roadchief.domain.clock import beijing_now
from roadchief.domain.roads import ROAD_CLASSES
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town, Village
from roadchief.reports.list_xlsx import ListColumn as Col
from roadchief.reports.list_xlsx import list_workbook
from roadchief.services import ServiceError

EXPORT_LIMIT = 100_000


def _note(filters: list[tuple[str, str]]) -> str:
    applied = "；".join(f"{label}：{value}" for label, value in filters if value) or "全部"
    return f"筛选条件：{applied}　　导出时间（北京时间）：{beijing_now():%Y-%m-%d %H:%M}"


# ------------------------------------------------------------------ registry (路网登记)


def registry_query(user, town_code: str = "", village_code: str = "", road_class: str = "", text: str = ""):
    """The registry page's segments: the user's scope and the page's filters (乡镇、村、等级、搜索)."""
    from roadchief.services.permissions import segment_condition

    query = (
        select(Segment)
        .join(Road)
        .join(Town, Segment.town_id == Town.id)
        .outerjoin(Village, Segment.village_id == Village.id)
        .where(segment_condition(user))
        .options(
            selectinload(Segment.road),
            selectinload(Segment.town),
            selectinload(Segment.village),
            selectinload(Segment.station),
        )
    )
    if town_code:
        query = query.where(Town.code == town_code)
    if village_code:
        query = query.where(Village.code == village_code)
    if road_class in ROAD_CLASSES:
        query = query.where(Road.road_class == road_class)
    if text:
        like = f"%{text}%"
        query = query.where(Road.code.ilike(like) | Road.name.ilike(like) | Village.name.ilike(like))
    return query


SEGMENT_COLUMNS = [
    Col("路线编码", 13),
    Col("路线名称", 22),
    Col("行政等级", 8),
    Col("起点桩号", 11),
    Col("止点桩号", 11),
    Col("列养里程(km)", 11, "km"),
    Col("是否列养", 7),
    Col("技术等级", 8),
    Col("路面类型", 8),
    Col("路面宽度(m)", 9, "number"),
    Col("所属乡镇", 10),
    Col("所属村", 10),
    Col("公路站", 14),
    Col("实测里程(km)", 11, "km"),
]


def segments_xlsx(user, town_code="", village_code="", road_class="", text="") -> tuple[bytes, str]:
    from decimal import Decimal

    query = registry_query(user, town_code, village_code, road_class, text).order_by(Road.code, Segment.start_m)
    rows = (
        [
            s.road.code,
            s.road.name,
            s.road.road_class,
            format_stake(s.start_m),
            format_stake(s.end_m),
            s.listed_km,
            "是" if s.is_listed else "否",
            s.tech_grade,
            s.surface,
            None if s.width_dm is None else (Decimal(s.width_dm) / 10).quantize(Decimal("0.1")),
            s.town.name,
            s.village.name if s.village else None,
            s.station.name if s.station else None,
            s.measured_km,
        ]
        for s in db.session.scalars(query.limit(EXPORT_LIMIT))
    )
    town = db.session.scalar(select(Town.name).where(Town.code == town_code)) if town_code else ""
    village = db.session.scalar(select(Village.name).where(Village.code == village_code)) if village_code else ""
    note = _note([("乡镇", town or ""), ("村", village or ""), ("行政等级", road_class), ("搜索", text)])
    return list_workbook("路网登记", SEGMENT_COLUMNS, rows, title="青铜峡市农村公路路网登记表", note=note), "路网登记"


# ------------------------------------------------------------------ funding ledger (专户台账)


def ledger_xlsx(year: int, kind_labels: dict[str, str]) -> tuple[bytes, str]:
    from roadchief.models import LedgerEntry
    from roadchief.services import funding_params, funding_plan
    from roadchief.services.funding_ledger import ledger

    funding_params.check_period(year)
    data = ledger(year)
    try:
        names = {
            u.place.key: u.place.town_name + (u.place.name if u.place.kind == "village" else "")
            for u in funding_plan.payee_units(year)
        }
    except ServiceError:  # no plan for the year yet: units are shown by their key
        names = {}
    names["pool"] = "以奖代补资金池"
    entries = db.session.scalars(select(LedgerEntry).where(LedgerEntry.year == year).order_by(LedgerEntry.id)).all()
    columns = [
        Col("序号", 7, "number"),
        Col("季度", 6, "number"),
        Col("单位", 22),
        Col("类别", 10),
        Col("金额(元)", 15, "money"),
        Col("摘要", 36),
        Col("经办", 12),
        Col("时间（北京时间）", 17, "moment"),
    ]
    rows = [
        [
            e.id,
            e.quarter,
            names.get(e.unit_key, e.unit_key),
            kind_labels.get(e.kind, e.kind),
            e.amount_fen,
            e.note,
            e.created_by,
            e.created_at,
        ]
        for e in entries
    ]
    totals = [
        [None, None, f"合计：{kind_labels.get(k, k)}", None, v, None, None, None] for k, v in _fen_totals(entries)
    ]
    note = _note([("年度", str(year))]) + f"　　已审定季度：{'、'.join(map(str, data['closed_quarters'])) or '无'}"
    return (
        list_workbook(
            f"{year}年专户台账", columns, rows + totals, title=f"{year}年农村公路养护资金专户台账", note=note
        ),
        f"{year}年专户台账",
    )


def _fen_totals(entries) -> list[tuple[str, int]]:
    sums: dict[str, int] = {}
    for e in entries:
        sums[e.kind] = sums.get(e.kind, 0) + e.amount_fen
    return list(sums.items())


# ------------------------------------------------------------------ rectifications (整改清单)

RECT_VIEWS = {"active": "未完成", "open": "待整改", "done": "待复核", "overdue": "逾期", "verified": "复核通过"}


def rectifications_xlsx(user, view: str, today: date) -> tuple[bytes, str]:
    from roadchief.services.rectifications import is_overdue, list_rectifications

    overdue = view == "overdue"
    rects = list_rectifications(user, state=None if overdue else view, overdue=overdue, today=today, limit=EXPORT_LIMIT)
    columns = [
        Col("编号", 7, "number"),
        Col("问题", 28),
        Col("路段", 30),
        Col("数量", 10),
        Col("责任路长", 10),
        Col("整改期限", 11, "date"),
        Col("状态", 9),
        Col("来源", 14),
        Col("督查时间（北京时间）", 17, "moment"),
        Col("整改说明", 28),
        Col("督查意见", 28),
    ]
    rows = []
    for r in rects:
        f = r.finding
        s = f.segment
        unit = "米" if f.item.unit == "100m" else f.item.unit
        rows.append(
            [
                r.id,
                f.item.text,
                f"{s.road.code} {s.road.name} {format_stake(s.start_m)}–{format_stake(s.end_m)}",
                f"{f.quantity} {unit}" + (f"，{f.note}" if f.note else ""),
                r.chief.name if r.chief else "未指定",
                r.deadline,
                "逾期" if is_overdue(r, today) else r.state_label,
                f"{f.inspection.kind_label} #{f.inspection_id}",
                f.inspection.inspected_at,
                r.chief_note,
                r.office_note,
            ]
        )
    note = _note([("状态", RECT_VIEWS.get(view, view))])
    return list_workbook("整改清单", columns, rows, title="整改清单", note=note), "整改清单"


# ------------------------------------------------------------------ public reports (公众反馈)


def reports_xlsx(user, status: str) -> tuple[bytes, str]:
    from roadchief.models.public import REPORT_STATUSES
    from roadchief.services.public_reports import list_reports

    reports = list_reports(user, status, limit=EXPORT_LIMIT)
    columns = [
        Col("受理编号", 14),
        Col("状态", 9),
        Col("类别", 11),
        Col("公路", 26),
        Col("描述", 40),
        Col("路长", 10),
        Col("提交时间（北京时间）", 17, "moment"),
        Col("答复", 30),
        Col("办结时间（北京时间）", 17, "moment"),
    ]
    rows = [
        [
            r.ref,
            r.status_label,
            r.category,
            f"{r.road.code} {r.road.name}"
            + (f" {format_stake(r.segment.start_m)}–{format_stake(r.segment.end_m)}" if r.segment else ""),
            r.text,
            r.assigned_chief.name if r.assigned_chief else None,
            r.created_at,
            r.office_note,
            r.closed_at,
        ]
        for r in reports
    ]
    label = "未办结" if status == "open" else REPORT_STATUSES.get(status, "全部")
    return list_workbook(
        "群众反馈", columns, rows, title="群众反馈（社会监督）", note=_note([("状态", label)])
    ), "群众反馈"


# ------------------------------------------------------------------ events (路况事件)


def events_xlsx(user, state: str) -> tuple[bytes, str]:
    from roadchief.domain import events as rules
    from roadchief.services.events import list_events

    events = list_events(user, state=state if state != "all" else None, limit=EXPORT_LIMIT)
    columns = [
        Col("编号", 7, "number"),
        Col("类型", 10),
        Col("位置", 32),
        Col("乡镇", 10),
        Col("程度", 8),
        Col("状态", 10),
        Col("发生时间（北京时间）", 17, "moment"),
        Col("抢通时间（北京时间）", 17, "moment"),
        Col("修复时间（北京时间）", 17, "moment"),
        Col("描述", 36),
        Col("绕行路线", 24),
        Col("报告人", 10),
    ]
    rows = [
        [
            e.id,
            e.kind_label,
            f"{e.segment.road.code} {e.segment.road.name}"
            + (f" {format_stake(e.stake_m)}" if e.stake_m is not None else ""),
            e.segment.town.name,
            e.severity_label,
            "交通中断" if e.interrupted else e.state_label,
            e.occurred_at,
            e.restored_at,
            e.repaired_at,
            e.description,
            e.detour,
            e.reported_by,
        ]
        for e in events
    ]
    label = {"open": "未修复", "all": "全部"}.get(state) or rules.STATES.get(state, state)
    return list_workbook(
        "突发事件", columns, rows, title="突发事件（第十四条）", note=_note([("状态", label)])
    ), "突发事件"
