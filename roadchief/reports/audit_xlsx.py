"""The audit log as a readable workbook: Chinese labels, Beijing time, whole values (split, never cut)."""

from __future__ import annotations

import json

from roadchief.reports.list_xlsx import ListColumn, list_workbook

ENTITY_LABELS = {
    "app_user": "用户",
    "api_token": "接口令牌",
    "deduction_catalog": "扣分标准",
    "deduction_item": "扣分项",
    "quarter_finalisation": "季度考核定稿",
    "inspection": "督查/巡查",
    "inspection_segment": "督查路段",
    "finding": "督查问题",
    "rectification": "整改",
    "rectification_event": "整改记录",
    "inspection_photo": "督查照片",
    "inspection_correction": "督查更正",
    "public_report": "群众反馈",
    "chief": "路长",
    "chief_assignment": "路长任命",
    "road_event": "突发事件",
    "road_event_photo": "事件照片",
    "season_window": "汛期/冬季时段",
    "emergency_stock": "应急物资",
    "road_asset": "路产",
    "road_asset_photo": "路产照片",
    "inspection_asset": "督查路产",
    "works_plan_item": "养护计划项目",
    "works_progress": "养护进度",
    "town": "乡镇",
    "village": "行政村",
    "station": "公路站",
    "funding_params": "经费参数",
    "quarter_score": "季度得分",
    "quarter_close": "季度拨付审定",
    "ledger_entry": "专户分录",
    "road": "路线",
    "segment": "路段",
    "mileage_version": "列养里程版本",
    "segment_mileage": "路段列养里程",
}

COLUMNS = [
    ListColumn("编号", 8, "number"),
    ListColumn("时间（北京时间）", 17, "moment"),
    ListColumn("操作人", 12),
    ListColumn("IP", 13),
    ListColumn("操作", 6),
    ListColumn("对象", 12),
    ListColumn("对象编号", 9),
    ListColumn("修改前", 45),
    ListColumn("修改后", 45),
    ListColumn("说明", 28),
]


def readable(value: str | None) -> str:
    """A JSON snapshot as "字段：值；字段：值 …"; any other text as it is."""
    if not value:
        return ""
    try:
        data = json.loads(value)
    except ValueError:
        return value
    if not isinstance(data, dict):
        return value
    lines = []
    for key, item in data.items():
        text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
        lines.append(f"{key}：{text}")
    return "；".join(lines)


def audit_workbook(entries, actions: dict[str, str]) -> bytes:
    """The header stays on row 1 (scripts read the export), repeated on every printed page."""
    rows = (
        [
            e.id,
            e.at,
            e.actor,
            e.ip or "",
            actions.get(e.action, e.action),
            ENTITY_LABELS.get(e.entity, e.entity),
            e.entity_id or "",
            readable(e.before),
            readable(e.after),
            e.note or "",
        ]
        for e in entries
    )
    return list_workbook("审计日志", COLUMNS, rows)
