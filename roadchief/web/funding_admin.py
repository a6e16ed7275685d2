"""Finance office pages: year-end settlement, the special-account ledger, policy parameters, score upload.

第二十一条–第二十四条; the views are defined on the funding blueprint (roadchief.web.funding).
"""

from __future__ import annotations

import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

from flask import flash, redirect, render_template, request, url_for

from roadchief.domain.clock import beijing_today
from roadchief.domain.funding import default_params
from roadchief.domain.permissions import EDIT_PARAMS, roles_for
from roadchief.extensions import db
from roadchief.reports import funding_pdf
from roadchief.services import ServiceError, funding_ledger, funding_params, funding_plan, scores
from roadchief.services import settlement as year_end
from roadchief.web.access import allow
from roadchief.web.funding import MANAGERS, _download, _render_file, _unavailable, bp

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
            blank = f"；{result['blank']} 行未填得分，未导入" if result["blank"] else ""
            flash(
                f"得分已导入：{result['rows']} 行，新增 {result['created']} 条，覆盖 {result['replaced']} 条{blank}",
                "success",
            )
        except ServiceError as error:
            flash(str(error), "error")
            if getattr(error, "needs_replace", False):
                flash("如需覆盖已有得分，请勾选“覆盖已有得分”后重新上传", "info")
            errors, status = error.errors, 422
    return render_template(
        "funding/import.html",
        result=result,
        errors=errors,
        replace=request.form.get("replace") == "yes",
        year=beijing_today().year,
        quarter=(beijing_today().month + 2) // 3,
    ), status


@bp.route("/scores/template.xlsx")
@allow(*MANAGERS)
def scores_template():
    """The fill-in workbook of the year's assessed units (乡镇, 村, 公路站; 得分 blank)."""
    from roadchief.services.score_sheets import template_xlsx

    year = request.args.get("year", type=int) or beijing_today().year
    quarter = request.args.get("quarter", type=int)
    funding_params.check_period(year, quarter)
    name = f"{year}年" + (f"第{quarter}季度" if quarter else "") + "考核得分模板"
    return _download(
        template_xlsx(year, quarter), "xlsx", name, f"scores-template-{year}" + (f"-q{quarter}" if quarter else "")
    )
