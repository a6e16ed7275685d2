"""Finance pages: annual plan, quarters (provisional / approved), settlement, ledger,
policy parameters and the score upload (第十五条, 第十七条, 第二十一条–第二十四条).

Views are thin: they parse the request, call the roadchief.services.funding_* modules / scores,
and render. Tables are drawn from the same printable models as the PDF and XLSX
(roadchief.reports.funding_pdf), so the page, the PDF and the spreadsheet always
show the same rows, 小计 and 合计. Money stays a string or a Decimal — never a float.
"""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from roadchief.domain.clock import beijing_today
from roadchief.domain.funding import default_params
from roadchief.domain.permissions import EDIT_PARAMS, MANAGE_FUNDING, VIEW_FUNDING, roles_for
from roadchief.extensions import db
from roadchief.models import MileageVersion
from roadchief.reports import funding_pdf, funding_xlsx
from roadchief.services import (
    ServiceError,
    funding_ledger,
    funding_params,
    funding_plan,
    funding_quarter,
    permissions,
    scores,
)
from roadchief.services import settlement as year_end
from roadchief.web import beijing
from roadchief.web.access import allow

bp = Blueprint("funding", __name__, url_prefix="/funding")

MANAGERS = roles_for(MANAGE_FUNDING)
VIEWERS = roles_for(VIEW_FUNDING)
FALLBACK_YEAR = 2022
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
RATE_FIELDS = (("镇道", "rate_zd"), ("村道", "rate_cd"), ("市道", "rate_sd"), ("专用公路", "rate_zy"))
REASON_FIELDS = (("市道", "reason_sd"), ("专用公路", "reason_zy"))  # classes 第十五条 does not fund
MAX_TIERS = 6
KIND_LABELS = {
    "payment": "季度拨付",
    "deduction": "扣减入池",
    "adjustment": "调整",
    "reward": "以奖代补",
    "carry_in": "上年结转",
    "carry_out": "结转下年",
}
MIME = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


# ---------------------------------------------------------------- template helpers


@bp.app_template_filter("fcell")
def format_cell(value, kind: str = "text") -> str:
    """A cell of a printable grid: Decimal money/scores with 2 decimals, km with 3 (exact, no float)."""
    if isinstance(value, Decimal):
        return f"{value:.3f}" if kind == funding_pdf.KM else f"{value:.2f}"
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
        parts = [f"实拨 {bar['pay']:.2f}", f"扣减 {bar['ded']:.2f}"]
        if bar["wait"]:
            parts.append(f"待考核 {bar['wait']:.2f}")
        bar["title"] = f"{bar['label']}：" + "，".join(parts)
        assessed = bar["pay"] or bar["ded"]
        bar["value_text"] = (
            f"实拨 {bar['pay']:.2f} / 扣减 {bar['ded']:.2f}" if assessed else f"待考核 {bar['wait']:.2f}"
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


# ---------------------------------------------------------------- settlement


@bp.route("/<int:year>/settlement")
@allow(*MANAGERS)
def settlement(year: int):
    try:
        data = year_end.settlement(year)
    except ServiceError as error:
        return _unavailable(error, year)
    grids = [b for b in funding_pdf.settlement_document(data).blocks if isinstance(b, funding_pdf.Grid)]
    return render_template("funding/settlement.html", year=year, data=data, grids=grids)


@bp.route("/<int:year>/settlement.<any(pdf, xlsx):fmt>")
@allow(*MANAGERS)
def settlement_download(year: int, fmt: str):
    try:
        data = year_end.settlement(year)
    except ServiceError as error:
        return _unavailable(error, year)
    return _download(_render_file("settlement", data, fmt), fmt, f"{year}年终考评及以奖代补结算", f"settlement-{year}")


@bp.route("/<int:year>/settlement/approve", methods=["POST"])
@allow(*MANAGERS)
def approve(year: int):
    if request.form.get("confirm") != "yes":
        flash("请先勾选确认：结算后以奖代补和结转将记入专户台账，不可撤销", "error")
    else:
        try:
            result = year_end.approve_settlement(year)
            flash(
                f"{year} 年年终结算已完成：以奖代补 {result['rewards_total']} 元，结转下年 {result['carried_out']} 元",
                "success",
            )
        except ServiceError as error:
            flash(str(error), "error")
    return redirect(url_for(".settlement", year=year))


# ---------------------------------------------------------------- ledger


@bp.route("/<int:year>/ledger")
@allow(*MANAGERS)
def ledger(year: int):
    try:
        funding_params.check_period(year)
        data = funding_ledger.ledger(year)
    except ServiceError as error:
        return _unavailable(error, year)
    carried_in = data["carried_in"]
    try:
        names = {
            u.place.key: u.place.town_name + (u.place.name if u.place.kind == "village" else "")
            for u in funding_plan.payee_units(year)
        }
    except ServiceError:
        names = {}
    names["pool"] = "以奖代补资金池"
    totals = data["totals"]
    paid, deducted = totals.get("payment", "0.00"), totals.get("deduction", "0.00")
    rewards, carried_out = totals.get("reward", "0.00"), totals.get("carry_out", "0.00")
    adjusted = totals.get("adjustment", "0.00")
    settled = data["settled"]
    check = {
        "closed_budget": data["closed_budget"],
        "paid": paid,
        "deducted": deducted,
        "paid_plus_deducted": f"{Decimal(paid) + Decimal(deducted):.2f}",
        "reconciles": data["reconciles"],
        "carried_in": carried_in,
        "adjusted": adjusted,
        "pool": data["pool"],
        "rewards": rewards,
        "carried_out": carried_out,
        "rewards_plus_carried": f"{Decimal(rewards) + Decimal(carried_out):.2f}",
        "settled": settled,
        "pool_balances": data["pool_balances"],
        "money_in": data["money_in"],
        "money_out": data["money_out"],
    }
    kinds = [(kind, KIND_LABELS.get(kind, kind), amount) for kind, amount in totals.items()]
    return render_template(
        "funding/ledger.html", year=year, data=data, names=names, check=check, kinds=kinds, kind_labels=KIND_LABELS
    )


# ---------------------------------------------------------------- policy parameters


def _params_changes(form) -> dict:
    """The form as set_params changes. A blank rate means that class is not funded;
    a blank share/coefficient keeps the value in force; blank tier rows are dropped."""
    changes: dict = {
        "rates": {cls: form.get(field, "").strip() for cls, field in RATE_FIELDS if form.get(field, "").strip()},
        "rate_reasons": {
            cls: form.get(field, "").strip() for cls, field in REASON_FIELDS if form.get(field, "").strip()
        },
    }
    for name in ("local_share", "deduction_k"):
        if form.get(name, "").strip():
            changes[name] = form[name].strip()
    tiers = []
    for i in range(1, MAX_TIERS + 1):
        upto, weight = form.get(f"tier_upto_{i}", "").strip(), form.get(f"tier_weight_{i}", "").strip()
        if upto or weight:
            if not (upto and weight):
                raise ServiceError(f"奖励档次第 {i} 行须同时填写名次比例和权重（第二十三条）")
            tiers.append({"upto": upto, "weight": weight})
    if tiers:
        changes["reward_tiers"] = tiers
    return changes


def _form_values(params: dict) -> dict:
    values = {field: params["rates"].get(cls, "") for cls, field in RATE_FIELDS}
    values.update(local_share=params["local_share"], deduction_k=params["deduction_k"])
    values.update({field: params.get("rate_reasons", {}).get(cls, "") for cls, field in REASON_FIELDS})
    for i, tier in enumerate(params["reward_tiers"], start=1):
        values[f"tier_upto_{i}"], values[f"tier_weight_{i}"] = tier["upto"], tier["weight"]
    return values


PARAM_LABELS = {
    "rates": "经费标准",
    "rate_reasons": "标准理由",
    "local_share": "地方配套比例",
    "deduction_k": "扣减系数",
    "reward_tiers": "奖励档次",
    "quarter_weights": "季度权重",
    "bands": "等级分界",
}


def _history(year: int) -> list[dict]:
    """Revisions, newest first, each with the fields changed from the one before (or from the defaults)."""
    rows = list(reversed(funding_params.params_history(year)))
    previous = default_params(year).to_dict()
    history = []
    for row in rows:
        params = json.loads(row.params_json)
        changed = [label for key, label in PARAM_LABELS.items() if params.get(key) != previous.get(key)]
        history.append(
            {
                "revision": row.revision,
                "at": row.created_at.isoformat() if row.created_at else "",
                "by": row.created_by,
                "params": params,
                "changed": changed,
            }
        )
        previous = params
    return list(reversed(history))


def _params_page(year: int, values: dict | None = None, status: int = 200):
    current = funding_params.params_for(year).to_dict()
    values = values or _form_values(current)
    tier_rows = max(len(current["reward_tiers"]) + 1, sum(1 for k in values if k.startswith("tier_upto_")), 3)
    return render_template(
        "funding/params.html",
        year=year,
        current=current,
        values=values,
        tier_rows=min(tier_rows, MAX_TIERS),
        rate_fields=RATE_FIELDS,
        reason_fields=REASON_FIELDS,
        legacy_pass_score=funding_params.legacy_pass_score(year),
        history=_history(year),
        closed=funding_params.closed_quarters(year),
    ), status


@bp.route("/<int:year>/params")
@allow(*MANAGERS)
def params(year: int):
    try:
        funding_params.check_period(year)
    except ServiceError as error:
        return _unavailable(error, year)
    return _params_page(year)


@bp.route("/<int:year>/params", methods=["POST"])
@allow(*roles_for(EDIT_PARAMS))
def params_save(year: int):
    """A new revision of the year's parameters; only the city office edits them."""
    try:
        based_on = request.form.get("based_on_revision", type=int)
        funding_params.set_params(year, _params_changes(request.form), based_on_revision=based_on)
    except ServiceError as error:
        db.session.rollback()
        flash(str(error), "error")
        return _params_page(year, request.form.to_dict(), 422)
    flash(f"{year} 年经费参数已保存为新的修订版本", "success")
    return redirect(url_for(".params", year=year))


# ---------------------------------------------------------------- score upload


def _check_upload(filename: str, data: bytes) -> str:
    """The file's suffix, once its name and its content agree on CSV or XLSX."""
    suffix = Path(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ServiceError(f"不支持的文件类型：{suffix or filename}（应为 .csv 或 .xlsx）")
    if not data:
        raise ServiceError("文件为空")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ServiceError("文件超过 2 MB，请拆分后上传")
    if suffix == ".csv":
        if b"\x00" in data or data.startswith(b"PK\x03\x04"):
            raise ServiceError("文件内容不是 CSV 文本（如为 Excel 文件请另存为 .xlsx 或 CSV）")
        for encoding in ("utf-8-sig", "gbk"):
            try:
                data.decode(encoding)
                return suffix
            except UnicodeDecodeError:
                continue
        raise ServiceError("无法识别 CSV 文件编码（应为 UTF-8 或 GBK）")
    if not data.startswith(b"PK\x03\x04"):
        raise ServiceError("文件内容不是 XLSX 工作簿（扩展名与内容不符）")
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        raise ServiceError("XLSX 文件已损坏，无法读取") from None
    if "[Content_Types].xml" not in names or "xl/workbook.xml" not in names:
        raise ServiceError("文件内容不是 XLSX 工作簿（扩展名与内容不符）")
    return suffix


@bp.route("/scores/import", methods=["GET", "POST"])
@allow(*MANAGERS)
def import_scores():
    result, errors, status = None, [], 200
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            if upload is None or not upload.filename:
                raise ServiceError("请选择要上传的 CSV 或 XLSX 文件")
            data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
            suffix = _check_upload(upload.filename, data)
            result = scores.import_scores(
                Path(f"upload{suffix}"), replace=request.form.get("replace") == "yes", content=data
            )
            flash(
                f"得分已导入：{result['rows']} 行，新增 {result['created']} 条，覆盖 {result['replaced']} 条", "success"
            )
        except ServiceError as error:
            flash(str(error), "error")
            errors, status = error.errors, 422
    return render_template(
        "funding/import.html",
        result=result,
        errors=errors,
        replace=request.form.get("replace") == "yes",
        year=beijing_today().year,
    ), status
