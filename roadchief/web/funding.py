"""Finance pages: the blueprint and shared helpers, the overview, annual plan and quarters (第十五条, 第十七条).

Views are thin: they parse the request, call the roadchief.services.funding_* modules,
and render. Tables are drawn from the same printable models as the PDF and XLSX
(roadchief.reports.funding_pdf), so the page, the PDF and the spreadsheet always
show the same rows, 小计 and 合计. Money stays a string or a Decimal — never a float.
Settlement, ledger, parameters and the score upload are in funding_admin, on this blueprint.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from roadchief.domain.clock import beijing_today
from roadchief.domain.money import group_yuan
from roadchief.domain.permissions import MANAGE_FUNDING, VIEW_FUNDING, roles_for
from roadchief.extensions import db
from roadchief.models import MileageVersion
from roadchief.reports import funding_pdf, funding_xlsx
from roadchief.services import ServiceError, funding_plan, funding_quarter, permissions
from roadchief.web import beijing
from roadchief.web.access import allow

bp = Blueprint("funding", __name__, url_prefix="/funding")

MANAGERS = roles_for(MANAGE_FUNDING)
VIEWERS = roles_for(VIEW_FUNDING)
FALLBACK_YEAR = 2022
MIME = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# ---------------------------------------------------------------- template helpers


@bp.app_template_filter("fcell")
def format_cell(value, kind: str = "text") -> str:
    """A cell of a printable grid: Decimal money/scores with 2 decimals, km with 3 (exact, no float)."""
    if isinstance(value, Decimal):
        if kind == funding_pdf.KM:
            return f"{value:.3f}"
        return group_yuan(value) if kind == funding_pdf.MONEY else f"{value:.2f}"
    return "" if value is None else str(value)


@bp.app_template_filter("local_time")
def local_time(value) -> str:
    """A moment from the services (aware, or ISO text) as Beijing time, to the minute."""
    return beijing(value)


def _town_scope() -> tuple[str, str] | None:
    """(code, name) of the town a town office is limited to; None for city-wide roles."""
    if not permissions.is_town_office(current_user):
        return None
    town = current_user.town
    return (town.code, town.name) if town else ("", "")


def _unavailable(error: ServiceError, year: int | None = None):
    return render_template("funding/unavailable.html", message=str(error), year=year), 404


def _money_sum(items, key: str) -> str:
    return f"{sum((Decimal(i.get(key) or '0') for i in items), Decimal(0)):.2f}"


# ---------------------------------------------------------------- town-office views of the city tables


def _plan_for_town(plan: dict, code: str) -> dict:
    """Only the town's rows; the totals become the town's subtotal (the city totals are not shown)."""
    towns = [t for t in plan["towns"] if t["code"] == code]
    if towns:
        town = towns[0]
        totals = {
            "listed_km": town["listed_km"],
            "standard_total": town["standard"],
            "local_total": town["local"],
            "remainder_total": town["remainder"],
        }
    else:
        totals = {
            "listed_km": {"镇道": "0.000", "村道": "0.000", "total": "0.000"},
            "standard_total": "0.00",
            "local_total": "0.00",
            "remainder_total": "0.00",
        }
    return {**plan, **totals, "towns": towns}


def _quarter_for_town(report: dict, code: str) -> dict:
    units = [u for u in report["units"] if u["kind"] in ("town", "village") and u["town_code"] == code]
    keys = {u["unit_key"] for u in units}
    deduction = _money_sum(units, "deduction")
    adjustments = [a for a in report.get("adjustments", []) if a["unit_key"] in keys]
    return {
        **report,
        "units": units,
        "budget": _money_sum(units, "quarter_base"),
        "payable_total": _money_sum(units, "payable"),
        "deduction_total": deduction,
        "withheld_total": _money_sum(units, "withheld"),
        "pool": deduction,
        "provisional": any(u["provisional"] for u in units),
        "adjustments": adjustments,
        "adjustments_total": _money_sum(adjustments, "amount"),
    }


def _plan(year: int) -> dict:
    plan = funding_plan.annual_plan(year)
    scope = _town_scope()
    return _plan_for_town(plan, scope[0]) if scope else plan


def _quarter(year: int, quarter: int) -> dict:
    report = funding_quarter.quarter_report(year, quarter)
    scope = _town_scope()
    return _quarter_for_town(report, scope[0]) if scope else report


def _quarter_status(report: dict) -> tuple[str, str]:
    """(label, badge class) for a quarter."""
    if report["status"] == "closed":
        return "已审定", "badge-ok"
    if report["provisional"]:
        return "含待考核", "badge-warn"
    return "草稿", "badge-muted"


def _unit_label(unit: dict) -> str:
    return f"{unit['town']}{unit['village']}" if unit.get("village") else unit["town"]


def _chart(report: dict, per_unit: bool) -> list[dict]:
    """实拨 / 扣减 / 待考核 per town (or, for one town, per unit) as percentages of the largest bar."""
    bars: list[dict] = []
    for unit in report["units"]:
        if per_unit:
            label = unit["village"] or f"{unit['town']}本级"
        elif unit["kind"] == "village" and bars:
            label = None  # added to its town
        else:
            label = unit["town"]
        if label is not None:
            bars.append({"label": label, "pay": Decimal(0), "ded": Decimal(0), "wait": Decimal(0)})
        bar = bars[-1]
        bar["pay"] += Decimal(unit["payable"])
        bar["ded"] += Decimal(unit["deduction"])
        bar["wait"] += Decimal(unit.get("withheld") or "0")
    largest = max((b["pay"] + b["ded"] + b["wait"] for b in bars), default=Decimal(0))
    tenth = Decimal("0.1")
    for bar in bars:

        def share(amount: Decimal) -> Decimal:
            return (amount * 100 / largest).quantize(tenth) if largest else Decimal(0)

        pay, ded, wait = share(bar["pay"]), share(bar["ded"]), share(bar["wait"])
        bar.update(w_pay=pay, x_ded=pay, w_ded=ded, x_wait=pay + ded, w_wait=wait)
        parts = [f"实拨 {bar['pay']:,.2f}", f"扣减 {bar['ded']:,.2f}"]
        if bar["wait"]:
            parts.append(f"待考核 {bar['wait']:,.2f}")
        bar["title"] = f"{bar['label']}：" + "，".join(parts)
        assessed = bar["pay"] or bar["ded"]
        bar["value_text"] = (
            f"实拨 {bar['pay']:,.2f} / 扣减 {bar['ded']:,.2f}" if assessed else f"待考核 {bar['wait']:,.2f}"
        )
    return bars


# ---------------------------------------------------------------- downloads


def _download(data: bytes, fmt: str, name: str, ascii_name: str) -> Response:
    """An attachment with a Chinese file name (RFC 5987 filename*) and an ASCII fallback."""
    response = Response(data, mimetype=MIME[fmt])
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}.{fmt}\"; filename*=UTF-8''{quote(f'{name}.{fmt}')}"
    )
    response.headers["Content-Length"] = str(len(data))
    return response


def _scoped_name(name: str) -> str:
    scope = _town_scope()
    return f"{name}-{scope[1]}" if scope and scope[1] else name


def _render_file(kind: str, data: dict, fmt: str) -> bytes:
    makers = {
        ("plan", "pdf"): funding_pdf.plan_pdf,
        ("plan", "xlsx"): funding_xlsx.plan_xlsx,
        ("quarter", "pdf"): funding_pdf.quarter_pdf,
        ("quarter", "xlsx"): funding_xlsx.quarter_xlsx,
        ("settlement", "pdf"): funding_pdf.settlement_pdf,
        ("settlement", "xlsx"): funding_xlsx.settlement_xlsx,
    }
    return makers[(kind, fmt)](data)


# ---------------------------------------------------------------- overview


def _years() -> tuple[list[int], int]:
    first = db.session.scalar(select(func.min(MileageVersion.effective_from)))
    today = beijing_today()
    try:
        funding_plan.mileage_version_for(today.year)
        default = today.year
    except ServiceError:
        default = FALLBACK_YEAR
    start = min(first.year, default) if first else default
    return list(range(max(today.year + 1, default), start - 1, -1)), default


@bp.route("/")
@allow(*VIEWERS)
def index():
    years, default = _years()
    year = request.args.get("year", default, type=int)
    if year not in years:
        year = default
    plan, quarters, problem = None, [], None
    try:
        plan = _plan(year)
        for quarter in range(1, 5):
            report = _quarter(year, quarter)
            label, badge = _quarter_status(report)
            quarters.append(
                {
                    "quarter": quarter,
                    "report": report,
                    "status": label,
                    "badge": badge,
                    "pending": sum(1 for u in report["units"] if u["provisional"]),
                }
            )
    except ServiceError as error:
        problem = str(error)
    return render_template(
        "funding/index.html", years=years, year=year, plan=plan, quarters=quarters, problem=problem, scope=_town_scope()
    )


# ---------------------------------------------------------------- annual plan


@bp.route("/<int:year>/plan")
@allow(*VIEWERS)
def plan(year: int):
    try:
        data = _plan(year)
    except ServiceError as error:
        return _unavailable(error, year)
    return render_template(
        "funding/plan.html", year=year, plan=data, grid=funding_pdf.plan_document(data).blocks[0], scope=_town_scope()
    )


@bp.route("/<int:year>/plan.<any(pdf, xlsx):fmt>")
@allow(*VIEWERS)
def plan_download(year: int, fmt: str):
    try:
        data = _plan(year)
    except ServiceError as error:
        return _unavailable(error, year)
    return _download(_render_file("plan", data, fmt), fmt, _scoped_name(f"{year}年度养护经费计划"), f"plan-{year}")


# ---------------------------------------------------------------- quarters


@bp.route("/<int:year>/q/<int:quarter>")
@allow(*VIEWERS)
def quarter(year: int, quarter: int):
    try:
        report = _quarter(year, quarter)
    except ServiceError as error:
        return _unavailable(error, year)
    scope = _town_scope()
    label, badge = _quarter_status(report)
    names = {u["unit_key"]: _unit_label(u) for u in report["units"]}
    return render_template(
        "funding/quarter.html",
        year=year,
        quarter=quarter,
        report=report,
        scope=scope,
        grid=funding_pdf.quarter_document(report).blocks[0],
        status=label,
        badge=badge,
        pending=[u for u in report["units"] if u["provisional"]],
        chart=_chart(report, per_unit=bool(scope)),
        names=names,
        units=[(u["unit_key"], names[u["unit_key"]]) for u in report["units"]],
    )


@bp.route("/<int:year>/q/<int:quarter>.<any(pdf, xlsx):fmt>")
@allow(*VIEWERS)
def quarter_download(year: int, quarter: int, fmt: str):
    try:
        report = _quarter(year, quarter)
    except ServiceError as error:
        return _unavailable(error, year)
    return _download(
        _render_file("quarter", report, fmt),
        fmt,
        _scoped_name(f"{year}年第{quarter}季度拨付表"),
        f"quarter-{year}-q{quarter}",
    )


@bp.route("/<int:year>/q/<int:quarter>/close", methods=["POST"])
@allow(*MANAGERS)
def close(year: int, quarter: int):
    if request.form.get("confirm") != "yes":
        flash("请先勾选确认：审定后本季度拨付数据将冻结，不可撤销", "error")
    else:
        try:
            funding_quarter.close_quarter(year, quarter)
            flash(f"{year} 年第 {quarter} 季度已审定：拨付数据已冻结，拨付与扣减已记入专户台账", "success")
        except ServiceError as error:
            flash(str(error), "error")
    return redirect(url_for(".quarter", year=year, quarter=quarter))


@bp.route("/<int:year>/q/<int:quarter>/adjust", methods=["POST"])
@allow(*MANAGERS)
def adjust(year: int, quarter: int):
    form = request.form
    try:
        units = {u["unit_key"] for u in funding_quarter.quarter_report(year, quarter)["units"]}
        if form.get("unit_key") not in units:
            raise ServiceError("请选择调整的单位")
        try:
            amount = Decimal(form.get("amount", "").strip().replace(",", ""))
        except InvalidOperation:
            raise ServiceError("金额格式不正确，例如 -120.50 或 300") from None
        if not amount.is_finite() or amount == 0:
            raise ServiceError("金额须为非零的数")
        funding_quarter.add_adjustment(year, quarter, form["unit_key"], amount, form.get("note", ""))
        flash(f"已登记调整分录：{amount:.2f} 元", "success")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for(".quarter", year=year, quarter=quarter, _anchor="adjustments"))
