"""The audit log in the office's words: Chinese names of tables and fields, values as people read
them (moments in Beijing time, fen as yuan, hundredths as scores), long values shortened with the
whole text kept for a 'show all' expander. Only for reading: the log itself stays as written."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from roadchief.domain import clock

ENTITIES = {
    "app_user": "用户账号",
    "chief": "路长",
    "chief_assignment": "路长任命",
    "town": "乡镇",
    "village": "村",
    "station": "公路站",
    "road": "路线",
    "segment": "路段",
    "mileage_version": "列养里程版本",
    "funding_params": "经费参数",
    "quarter_score": "季度考核得分",
    "quarter_close": "季度拨付审定",
    "quarter_finalisation": "季度考核定稿",
    "ledger_entry": "专户台账分录",
    "settlement": "年终结算",
    "inspection": "检查记录",
    "inspection_segment": "检查路段",
    "inspection_asset": "检查路产",
    "inspection_photo": "检查照片",
    "finding": "检查问题",
    "rectification": "整改",
    "deduction_catalog": "扣分标准",
    "deduction_item": "扣分项",
    "public_report": "群众反馈",
    "road_event": "突发事件",
    "road_asset": "路产",
    "season_window": "汛期/冬季时段",
    "emergency_stock": "应急物资",
    "works_plan_item": "养护计划项目",
    "works_progress": "养护进度",
}

ACTION_LABELS = {"create": "新增", "update": "修改", "delete": "删除", "event": "事件"}

FIELDS = {
    "id": "编号",
    "code": "编码",
    "name": "名称",
    "username": "用户名",
    "display_name": "姓名",
    "role": "角色",
    "password_hash": "密码（摘要）",
    "is_active_flag": "启用",
    "failed_logins": "登录失败次数",
    "locked_until": "锁定至",
    "last_login_at": "最近登录",
    "created_at": "创建时间",
    "updated_at": "修改时间",
    "created_by": "创建人",
    "version": "版本",
    "year": "年度",
    "quarter": "季度",
    "unit_key": "单位",
    "score_centi": "得分",
    "source": "来源",
    "chief_id": "路长",
    "town_id": "乡镇",
    "village_id": "村",
    "station_id": "公路站",
    "road_id": "路线",
    "segment_id": "路段",
    "position": "路长级别",
    "title": "职务",
    "phone": "电话",
    "scope_kind": "任命范围",
    "start_date": "任职起",
    "end_date": "任职止",
    "road_class": "行政等级",
    "start_m": "起点桩号（米）",
    "end_m": "止点桩号（米）",
    "listed_m": "列养里程（米）",
    "measured_m": "实测长度（米）",
    "is_listed": "列养",
    "tech_grade": "技术等级",
    "surface": "路面类型",
    "width_dm": "路面宽度（分米）",
    "geometry": "几何",
    "geometry_mid": "几何（中）",
    "geometry_low": "几何（简）",
    "status": "状态",
    "state": "状态",
    "kind": "类型",
    "severity": "严重程度",
    "closed": "交通中断",
    "closed_by": "审定人",
    "closed_at": "审定时间",
    "snapshot_json": "冻结快照",
    "scores_json": "写入得分",
    "params_json": "参数",
    "revision": "修订版次",
    "amount_fen": "金额（元）",
    "budget_fen": "预算（元）",
    "spent_fen": "支出（元）",
    "note": "说明",
    "text": "内容",
    "category": "类别",
    "deadline": "整改期限",
    "late": "逾期完成",
    "chief_note": "路长说明",
    "office_note": "办公室意见",
    "chief_reply": "路长回复",
    "returned_count": "退回次数",
    "completed_at": "完成时间",
    "verified_at": "复核时间",
    "inspected_at": "检查时间",
    "inspector_name": "检查人",
    "office_key": "检查单位",
    "frozen": "已定稿",
    "finalised_by": "定稿人",
    "finalised_at": "定稿时间",
    "quantity": "数量",
    "item_id": "扣分项",
    "points_centi": "扣分",
    "cap_centi": "单项上限",
    "occurred_at": "发生时间",
    "restored_at": "抢通时间",
    "repaired_at": "修复时间",
    "description": "情况说明",
    "warning_sign": "警示标志",
    "detour": "绕行路线",
    "reported_by": "登记人",
    "restored_by": "抢通登记人",
    "repaired_by": "修复登记人",
    "ref": "受理编号",
    "assigned_chief_id": "转办路长",
    "reporter_phone": "反馈人电话",
    "lon": "经度",
    "lat": "纬度",
    "stake_m": "桩号（米）",
    "condition": "状况",
    "location": "存放地点",
    "item": "物资",
    "unit": "单位",
    "effective_from": "起用日期",
    "confirmed_by": "确认人",
    "confirmed_at": "确认时间",
    "day": "日期",
    "actor": "操作人",
}

SHORT = 80  # characters shown before the 'show all' expander


@dataclass(frozen=True)
class Value:
    text: str
    short: str  # == text when it is short

    @property
    def long(self) -> bool:
        return self.short != self.text


@dataclass(frozen=True)
class Change:
    field: str  # the Chinese label (the column name when none is known)
    before: Value | None
    after: Value | None


def entity_label(entity: str) -> str:
    return ENTITIES.get(entity, entity)


def field_label(key: str) -> str:
    return FIELDS.get(key, key)


def _moment(text: str) -> str | None:
    if len(text) < 16 or text[4] != "-" or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return clock.format_beijing(moment, "%Y-%m-%d %H:%M:%S")


def _choices() -> dict[tuple[str, str], dict[str, str]]:
    """Coded values by (table, column) → their Chinese names (the code is kept beside the name)."""
    from roadchief.domain import events, scoring
    from roadchief.domain.permissions import ROLE_LABELS
    from roadchief.models.public import REPORT_STATUSES

    return {
        ("app_user", "role"): dict(ROLE_LABELS),
        ("public_report", "status"): dict(REPORT_STATUSES),
        ("rectification", "state"): dict(scoring.STATE_LABELS),
        ("inspection", "kind"): dict(scoring.INSPECTION_KINDS),
        ("road_event", "state"): dict(events.STATES),
        ("road_event", "kind"): dict(events.KINDS),
        ("road_event", "severity"): dict(events.SEVERITIES),
    }


def readable(key: str, value, entity: str = "") -> str:
    """One logged value as people read it."""
    names = _choices().get((entity, key)) if entity and isinstance(value, str) else None
    if names and value in names:
        return f"{names[value]}（{value}）"
    if value is None:
        return "（空）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if key.endswith("_fen") and isinstance(value, int) and not isinstance(value, bool):
        return f"{Decimal(value).scaleb(-2):,.2f}"
    if key.endswith("_centi") and isinstance(value, int):
        return f"{Decimal(value).scaleb(-2):.2f}"
    if key == "password_hash":
        return "（已更改，不显示）"
    if isinstance(value, str):
        return _moment(value) or value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def shorten(text: str, limit: int = SHORT) -> Value:
    return Value(text, text if len(text) <= limit else text[:limit].rstrip() + "…")


def _load(text: str | None) -> dict | None:
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return {"": text}
    return data if isinstance(data, dict) else {"": data}


def changes(before: str | None, after: str | None, entity: str = "") -> list[Change]:
    """The fields of one entry: for an update the changed ones, for a create or delete every field."""
    old, new = _load(before) or {}, _load(after) or {}
    rows = []
    for key in list(dict.fromkeys([*old, *new])):
        b = shorten(readable(key, old[key], entity)) if key in old else None
        a = shorten(readable(key, new[key], entity)) if key in new else None
        rows.append(Change(field_label(key) if key else "内容", b, a))
    return rows
