"""总览: the home page of the city office and finance — charts of the year (scores by town, money
paid against plan, overdue rectifications, event response times), each with its data table."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from roadchief.domain.clock import beijing_today
from roadchief.domain.permissions import VIEW_DASHBOARD, roles_for
from roadchief.reports.svg_charts import bar_chart
from roadchief.services.dashboard import overview
from roadchief.web.access import allow
from roadchief.web.formatting import yuan

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


def _hours(value) -> str:
    return "—" if value is None else f"{value:.1f} 小时"


def charts(data: dict) -> dict:
    """The four chart models of the overview, from the overview's data (services.dashboard)."""
    scores = bar_chart(
        "scores",
        "各乡镇考核得分（镇级，季度平均）",
        [
            (t.town, [("s-score", t.average)], f"{t.average} 分" if t.average is not None else "无得分")
            for t in data["scores"]
        ],
        maximum=100,
    )
    money = bar_chart(
        "money",
        "季度经费：计划基数与实拨",
        [
            (
                f"第 {m.quarter} 季度",
                [("s-plan", m.plan), ("s-paid", m.paid)],
                f"计划 {yuan(m.plan)} / " + (f"实拨 {yuan(m.paid)}" if m.paid is not None else m.status),
            )
            for m in data["money"]
        ],
        legend=[("s-plan", "计划基数"), ("s-paid", "实拨（已审定）")],
    )
    overdue = bar_chart(
        "overdue", "逾期未整改（按乡镇）", [(name, [("s-overdue", n)], f"{n} 条") for name, n in data["overdue"]]
    )
    responses = bar_chart(
        "responses",
        "突发事件平均处置时长（按乡镇）",
        [
            (r.town, [("s-restore", r.avg_restore), ("s-repair", r.avg_repair)],
             f"抢通 {_hours(r.avg_restore)} / 修复 {_hours(r.avg_repair)}")
            for r in data["responses"]
        ],
        legend=[("s-restore", "发生至抢通"), ("s-repair", "发生至修复")],
    )  # fmt: skip
    return {"scores": scores, "money": money, "overdue": overdue, "responses": responses}


@bp.route("/")
@allow(*roles_for(VIEW_DASHBOARD))
def index():
    today = beijing_today()
    year = request.args.get("year", today.year, type=int)
    if not 2000 <= year <= today.year + 1:
        year = today.year
    data = overview(current_user, year, today)
    return render_template(
        "dashboard/index.html", data=data, charts=charts(data), year=year, years=range(today.year, today.year - 5, -1)
    )
