"""Issue #11 points 3–8: one year-end score, settlement order and carry-over, adjustments
through the 以奖代补 pool, chiefs over time, quarters closed in order."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from roadchief.cli import main
from roadchief.extensions import db
from roadchief.models import AuditEntry, ChiefAssignment, LedgerEntry, QuarterScore, Village
from roadchief.services import ServiceError, funding_ledger, funding_params, funding_quarter
from roadchief.services.funding_ledger import ledger
from roadchief.services.funding_quarter import add_adjustment, close_quarter, compute_quarter, quarter_report
from roadchief.services.scores import import_scores, set_unit_score
from roadchief.services.settlement import approve_settlement, settlement
from tests.integration.test_funding import fen, score_all, write_scores


def close_year(tmp_path, year, default="80", special=None):
    for quarter in range(1, 5):
        score_all(tmp_path, year, quarter, default=default, special=special)
        close_quarter(year, quarter)


def test_settling_a_year_before_the_previous_one_is_refused_and_no_fen_is_lost(demo_app, tmp_path):
    villages = [u["unit_key"] for u in compute_quarter(2022, 1)["units"] if u["kind"] == "village"]
    # 2022: everybody 60 (一般) → deductions, nobody 优 → the whole pool carries to 2023
    close_year(tmp_path, 2022, default="60")
    # 2023: two 优 villages take the pool (2022's carry + 2023's deductions)
    close_year(tmp_path, 2023, default="65", special={villages[0]: "95", villages[1]: "90"})
    with pytest.raises(ServiceError, match="2022 年已有季度审定拨付但尚未年终结算"):
        approve_settlement(2023)
    assert (
        db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind.in_(("reward", "carry_out")))) == 0
    )
    first = approve_settlement(2022)
    assert first["rewards_total"] == "0.00" and fen(first["carried_out"]) == fen(first["pool_total"]) > 0
    second = approve_settlement(2023)
    assert second["pool_carried_in"] == first["carried_out"]
    assert fen(second["pool_total"]) == fen(first["carried_out"]) + fen(second["pool_deductions"])
    assert fen(second["rewards_total"]) == fen(second["pool_total"]) and second["carried_out"] == "0.00"
    # the carry-in is posted in 2023's ledger; each year balances to the fen
    carry_in = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.year == 2023, LedgerEntry.kind == "carry_in")
    ).all()
    assert [e.amount_fen for e in carry_in] == [fen(first["carried_out"])]
    for year in (2022, 2023):
        book = ledger(year)
        assert book["reconciles"] is True and book["pool_balances"] is True
        assert book["money_in"] == book["money_out"]
    # over both years: every approved fen is paid, rewarded or still carried
    totals = {k: 0 for k in ("payment", "adjustment", "reward", "carry_out", "carry_in", "deduction")}
    for e in db.session.scalars(select(LedgerEntry)):
        totals[e.kind] += e.amount_fen
    budgets = sum(fen(quarter_report(y, q)["budget"]) for y in (2022, 2023) for q in range(1, 5))
    assert (
        totals["payment"] + totals["adjustment"] + totals["reward"] + totals["carry_out"] - totals["carry_in"]
        == budgets
    )
    events = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "settlement")).all()
    assert {json.loads(e.after)["carried_in"] for e in events} == {"0.00", first["carried_out"]}


def test_quarters_close_in_order(demo_app, tmp_path):
    score_all(tmp_path, 2022, 2)
    with pytest.raises(ServiceError, match="第 1 季度尚未审定"):
        close_quarter(2022, 2)
    score_all(tmp_path, 2022, 1)
    close_quarter(2022, 1)
    close_quarter(2022, 2)
    assert funding_params.closed_quarters(2022) == [1, 2]


def test_adjustments_flow_through_the_pool_and_are_bounded(demo_app, tmp_path):
    units = compute_quarter(2022, 1)["units"]
    low, full = units[0]["unit_key"], units[1]["unit_key"]
    score_all(tmp_path, 2022, 1, default="90", special={low: "50"})
    report = close_quarter(2022, 1)
    low_row = next(u for u in report["units"] if u["unit_key"] == low)
    full_row = next(u for u in report["units"] if u["unit_key"] == full)
    pool = fen(report["pool"])
    assert pool == fen(low_row["deduction"]) > 0
    # a full-paid unit cannot be paid above its base; a unit cannot be taken back more than it was paid
    with pytest.raises(ServiceError, match="不能超过基数"):
        add_adjustment(2022, 1, full, Decimal("0.01"), "多拨")
    too_much = Decimal(fen(full_row["payable"]) + 1).scaleb(-2)
    with pytest.raises(ServiceError, match="扣回不能超过已拨金额"):
        add_adjustment(2022, 1, full, -too_much, "扣回")
    for bad, message in (("1e30", "过大"), ("0", "不能为 0"), ("1.001", "两位小数")):
        with pytest.raises(ServiceError, match=message):
            add_adjustment(2022, 1, full, Decimal(bad), "x")
    # the low unit is given back part of its deduction from the pool, the full one returns 50.25 to it
    add_adjustment(2022, 1, low, Decimal("100.00"), "复核后补拨")
    add_adjustment(2022, 1, full, Decimal("-50.25"), "复核后扣回")
    assert funding_ledger.pool_balance(2022) == pool - 10000 + 5025
    # paying back more than its own deduction is refused (so the pool, fed by it, never goes negative)
    with pytest.raises(ServiceError, match=f"最多补拨 {Decimal(pool - 10000).scaleb(-2):.2f} 元"):
        add_adjustment(2022, 1, low, Decimal(pool - 10000 + 1).scaleb(-2), "超出")
    book = ledger(2022)
    assert book["reconciles"] is True and book["pool"] == f"{Decimal(pool - 4975).scaleb(-2):.2f}"
    again = quarter_report(2022, 1)
    assert [a["amount"] for a in again["adjustments"]] == ["100.00", "-50.25"] and again["adjustments_total"] == "49.75"
    assert all(a["unit"] for a in again["adjustments"])
    # audited
    notes = [e.note for e in db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "ledger_entry"))]
    assert any("复核后扣回" in n for n in notes)
    # the rest of the year and the settlement: the pool lost what was paid out, nothing else
    for quarter in range(2, 5):
        score_all(tmp_path, 2022, quarter, default="90")
        close_quarter(2022, quarter)
    result = approve_settlement(2022)
    assert result["pool_adjustments"] == "49.75"
    assert fen(result["pool_total"]) == fen(result["pool_deductions"]) - 4975
    book = ledger(2022)
    assert book["reconciles"] is True and book["money_in"] == book["money_out"]
    with pytest.raises(ServiceError, match="已年终结算"):
        add_adjustment(2022, 1, low, Decimal("-1"), "结算后")


def test_ledger_checks_the_frozen_snapshot_not_todays_register(demo_app, tmp_path, monkeypatch):
    score_all(tmp_path, 2022, 1, special={compute_quarter(2022, 1)["units"][0]["unit_key"]: "60"})
    close_quarter(2022, 1)
    assert ledger(2022)["reconciles"] is True
    # the register changes after approval (e.g. a new mileage version): the approved quarter does not
    real = funding_quarter.payee_units
    monkeypatch.setattr(funding_quarter, "payee_units", lambda year, params=None: real(year, params)[1:])
    assert ledger(2022)["reconciles"] is True


def test_cli_adjust_takes_a_negative_amount_and_refuses_bad_ones(demo_runner, demo_app, tmp_path):
    with demo_app.app_context():
        score_all(tmp_path, 2022, 1, default="90")
        close_quarter(2022, 1)
        unit = compute_quarter(2022, 1)["units"][0]["unit_key"]
    result = demo_runner.invoke(main, ["funding", "adjust", "2022", "1", unit, "-50.25", "--note", "复核后扣回"])
    assert result.exit_code == 0, result.output
    assert "已登记调整分录" in result.output
    for amount in ("500", "abc", "-1e400"):
        result = demo_runner.invoke(main, ["funding", "adjust", "2022", "1", unit, amount, "--note", "x"])
        assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit), amount
        assert result.output.startswith("错误："), (amount, result.output)
    with demo_app.app_context():
        assert [
            e.amount_fen for e in db.session.scalars(select(LedgerEntry).where(LedgerEntry.kind == "adjustment"))
        ] == [-5025]


def test_web_adjustment_bounds_are_messages_not_errors(demo_app, demo_client, make_logged_in, tmp_path):
    make_logged_in(demo_client, "finance")
    score_all(tmp_path, 2022, 1, default="90")
    close_quarter(2022, 1)
    unit = compute_quarter(2022, 1)["units"][0]["unit_key"]
    for amount, message in (("1e999999999", "过大"), ("500", "不能超过基数"), ("-99999999", "扣回不能超过已拨金额")):
        response = demo_client.post(
            "/funding/2022/q/1/adjust", data={"unit_key": unit, "amount": amount, "note": "x"}, follow_redirects=True
        )
        assert response.status_code == 200 and message in response.get_data(as_text=True), amount
    assert db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == "adjustment")) == 0


def test_quarter_pdf_lists_adjustments_after_approval(demo_app, tmp_path):
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed")
    from roadchief.reports.funding_pdf import quarter_pdf
    from roadchief.reports.funding_xlsx import quarter_xlsx

    score_all(tmp_path, 2022, 1, default="90")
    close_quarter(2022, 1)
    unit = compute_quarter(2022, 1)["units"][0]["unit_key"]
    add_adjustment(2022, 1, unit, Decimal("-50.25"), "复核后扣回路面保洁")
    path = tmp_path / "q.pdf"
    path.write_bytes(quarter_pdf(quarter_report(2022, 1)))
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    assert "审定后调整分录" in out and "复核后扣回路面保洁" in out and "-50.25" in out
    assert out.index("审定后调整分录") > out.index("合计实拨金额")
    import io

    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(quarter_xlsx(quarter_report(2022, 1)))).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert any("复核后扣回路面保洁" in c for c in cells)


# ------------------------------------------------------------------ chiefs over time (第二十条)


def _jiangxi():
    village = db.session.scalar(select(Village).where(Village.name == "蒋西村"))
    assignments = db.session.scalars(
        select(ChiefAssignment)
        .where(ChiefAssignment.scope_kind == "village", ChiefAssignment.village_id == village.id)
        .order_by(ChiefAssignment.start_date)
    ).all()
    return village, assignments


def test_score_for_a_chief_outside_his_assignment_is_refused_naming_the_dates(demo_app, tmp_path):
    village, (old, _new) = _jiangxi()[0], _jiangxi()[1][:2]
    assert old.end_date == date(2022, 5, 15)
    rows = [{"year": 2022, "quarter": 3, "chief_id": old.chief_id, "score": "90"}]
    with pytest.raises(ServiceError) as refused:
        import_scores(write_scores(tmp_path, rows))
    errors = "\n".join(refused.value.errors)
    assert (
        "第 2 行 路长编号" in errors and "[chief_id]" in errors and "2022-05-15" in errors and old.chief.name in errors
    )
    with pytest.raises(ServiceError, match="2022-05-15"):
        set_unit_score(2022, 3, f"village:{village.code}", 9000, old.chief_id, source="inspection")
    assert db.session.scalar(select(QuarterScore.id)) is None
    # in Q2 he served until 15 May: accepted
    assert (
        import_scores(
            write_scores(tmp_path, [{"year": 2022, "quarter": 2, "chief_id": old.chief_id, "score": "90"}], "q2.csv")
        )["created"]
        == 1
    )


def test_replaced_chief_is_printed_with_his_months(demo_app, tmp_path):
    village, assignments = _jiangxi()
    old, new = assignments[0].chief, assignments[1].chief
    key = f"village:{village.code}"
    row = next(u for u in compute_quarter(2022, 2)["units"] if u["unit_key"] == key)
    assert row["chief"] == f"{old.name}（4–5月）、{new.name}（5–6月）"
    assert [c["months"] for c in row["chiefs"]] == [[4, 5], [5, 6]]
    q1 = next(u for u in compute_quarter(2022, 1)["units"] if u["unit_key"] == key)
    assert q1["chief"] == old.name
    year = next(u for u in settlement(2022)["units"] if u["unit_key"] == key)
    assert year["chief"] == f"{old.name}（1–5月）、{new.name}（5–12月）"
    if shutil.which("pdftotext"):
        from roadchief.reports.funding_pdf import quarter_pdf, settlement_pdf

        for name, data, months in (
            ("q.pdf", quarter_pdf(compute_quarter(2022, 2)), "（5–6月）"),
            ("s.pdf", settlement_pdf(settlement(2022)), "（5–12月）"),
        ):
            path = tmp_path / name
            path.write_bytes(data)
            out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True).stdout.replace("\n", "")
            assert f"{new.name}{months}" in out.replace(" ", ""), name


# ------------------------------------------------------------------ one year-end score (第二十一条、第二十三条)


def test_one_annual_score_on_the_pages_ranking_settlement_and_pdf(demo_app, demo_client, make_logged_in, tmp_path):
    from roadchief.services import assessment, chief_scores
    from tests.conftest import make_user
    from tests.integration.test_inspections import QUJING, at, chief_of, heavy_findings, record, village_segment

    office = make_user("town_office", town=QUJING)
    segment = village_segment(QUJING, "蒋东村")
    chief = chief_of("village", segment.village_id, date(2022, 1, 10))
    for month in (1, 2, 3):
        record(office, [segment], [], when=at(2022, month, 10))  # Q1: 100, 100, 100
    heavy = heavy_findings(segment.id)
    record(office, [segment], heavy, when=at(2022, 4, 10))  # Q2: one month at 31.00
    today = date(2023, 1, 15)
    scope = f"town:{QUJING}"
    # mean of the four months would be 82.75 (良); the year is the mean of the quarters: 65.50 (一般)
    year_row = next(r for r in chief_scores.assess(scope, 2022, "Y", today=today).rows() if r["chief_id"] == chief.id)
    assert [m["score"] for m in year_row["months"]] == ["100.00", "100.00", "100.00", "31.00"]
    assert (year_row["score"], year_row["grade"]) == ("65.50", "一般")
    half = next(r for r in chief_scores.assess(scope, 2022, "H1", today=today).rows() if r["chief_id"] == chief.id)
    assert half["score"] == "65.50"
    ranked = assessment.ranking(scope, 2022, "Y", today=today)
    ranked_row = next(r for lv in ranked["levels"] for r in lv["rows"] if r["chief_id"] == chief.id)
    assert (ranked_row["score"], ranked_row["grade"], ranked_row["quarters"][:2]) == (
        "65.50",
        "一般",
        ["100.00", "31.00"],
    )
    for quarter in (1, 2):
        assessment.finalise_quarter([scope], 2022, quarter, today=today)
    unit = f"village:{segment.village.code}"
    settled = next(u for u in settlement(2022)["units"] if u["unit_key"] == unit)
    assert (settled["annual_score"], settled["grade"]) == ("65.50", "一般")
    # the ranking page and the settlement PDF print the same
    make_logged_in(demo_client, "city_office")
    page = demo_client.get(f"/inspections/ranking/2022?period=Y&scope={scope}").get_data(as_text=True)
    assert "65.50" in page and "82.75" not in page
    if shutil.which("pdftotext"):
        from roadchief.reports.funding_pdf import settlement_pdf

        path = tmp_path / "s.pdf"
        path.write_bytes(settlement_pdf(settlement(2022)))
        out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
        line = next(line for line in out.splitlines() if "蒋东村" in line)
        assert "65.50" in line and "一般" in line and "82.75" not in out
