"""Funding on the demo network: exact plan, quarterly payable by score, pool,
quarter close, ledger, settlement — numbers checked to the fen."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import select, text

from roadchief.cli import main
from roadchief.extensions import db
from roadchief.models import AuditEntry, LedgerEntry, QuarterScore
from roadchief.services import ServiceError
from roadchief.services.funding_ledger import ledger
from roadchief.services.funding_params import set_params
from roadchief.services.funding_plan import annual_plan
from roadchief.services.funding_quarter import add_adjustment, close_quarter, compute_quarter, quarter_report
from roadchief.services.scores import import_scores
from roadchief.services.settlement import approve_settlement, settlement

FEN_PER_M = {"镇道": 300, "村道": 180}  # 5000 and 3000 元/km × 60 % = 3.00 and 1.80 元/m


def fen(text_amount: str) -> int:
    return int(Decimal(text_amount) * 100)


def write_scores(tmp_path, rows, name="scores.csv"):
    path = tmp_path / name
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["year", "quarter", "town", "village", "chief_id", "score"])
        writer.writeheader()
        for row in rows:
            writer.writerow({"chief_id": "", "village": "", **row})
    return path


def score_all(tmp_path, year, quarter, default="90", special=None):
    special = special or {}
    rows = []
    for unit in compute_quarter(year, quarter)["units"]:
        if unit["kind"] == "station":
            rows.append(
                {
                    "year": year,
                    "quarter": quarter,
                    "chief_id": unit["chief_id"],
                    "score": special.get(unit["unit_key"], default),
                }
            )
            continue
        score = special.get(unit["unit_key"], default)
        if score is None:
            continue
        rows.append(
            {"year": year, "quarter": quarter, "town": unit["town"], "village": unit["village"] or "", "score": score}
        )
    return import_scores(write_scores(tmp_path, rows, f"s{year}{quarter}.csv"))


def test_demo_plan_is_exact(demo_app):
    plan = annual_plan(2022)
    assert plan["listed_km"] == {"镇道": "388.701", "村道": "777.554", "total": "1166.255"}
    assert plan["standard_total"] == "4276167.00"
    assert plan["local_total"] == "2565700.20"
    assert plan["remainder_total"] == "1710466.80"
    assert sum(fen(t["local"]) for t in plan["towns"]) == fen(plan["local_total"])
    for town in plan["towns"]:
        parts = fen(town["own"]["local"]) + sum(fen(v["local"]) for v in town["villages"])
        assert parts == fen(town["local"]), town["name"]
        for village in town["villages"]:
            metres = int(Decimal(village["listed_km"]["村道"]) * 1000)
            assert fen(village["local"]) == metres * FEN_PER_M["村道"]
    assert {t["name"] for t in plan["towns"]} == {
        "小坝镇",
        "大坝镇",
        "青铜峡镇",
        "叶盛镇",
        "瞿靖镇",
        "峡口镇",
        "邵岗镇",
        "陈袁滩镇",
        "树新林场",
    }


def test_quarter_without_scores_is_provisional_and_pays_nothing(demo_app):
    report = compute_quarter(2022, 1)
    assert report["provisional"] is True
    assert report["payable_total"] == "0.00" and report["pool"] == "0.00"
    assert report["withheld_total"] == report["budget"]
    assert all(u["note"] == "待考核" and u["payable"] == "0.00" for u in report["units"])
    # four quarters of every unit add up to its year
    yearly = sum(fen(compute_quarter(2022, q)["budget"]) for q in range(1, 5))
    assert yearly == fen(annual_plan(2022)["local_total"])


def _expected(quarter_base: int, score: str) -> tuple[int, int]:
    shown = Decimal(score).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    factor = Decimal(1) if shown >= 70 else max(Decimal(0), 1 - (100 - shown) / 100)
    payable = int((quarter_base * factor).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return payable, quarter_base - payable


@pytest.mark.parametrize(
    "score, grade", [("70", "良"), ("69.99", "一般"), ("85", "优"), ("84.995", "优"), ("0", "一般")]
)
def test_quarter_payable_follows_score(demo_app, tmp_path, score, grade):
    units = compute_quarter(2022, 1)["units"]
    target = next(u for u in units if u["kind"] == "village")
    untouched = next(u for u in units if u["kind"] == "town")
    special = {target["unit_key"]: score, untouched["unit_key"]: None}
    score_all(tmp_path, 2022, 1, special=special)
    report = compute_quarter(2022, 1)
    row = next(u for u in report["units"] if u["unit_key"] == target["unit_key"])
    payable, deduction = _expected(fen(row["quarter_base"]), score)
    assert (fen(row["payable"]), fen(row["deduction"])) == (payable, deduction)
    assert row["grade"] == grade
    assert row["score"] == str(Decimal(score).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
    pending = next(u for u in report["units"] if u["unit_key"] == untouched["unit_key"])
    assert pending["provisional"] and pending["note"] == "待考核" and pending["payable"] == "0.00"
    # totals reconcile to the fen: budget = paid + pool + withheld
    assert fen(report["budget"]) == fen(report["payable_total"]) + fen(report["pool"]) + fen(report["withheld_total"])
    assert sum(fen(u["payable"]) for u in report["units"]) == fen(report["payable_total"])
    assert fen(report["pool"]) == deduction


def test_close_freezes_quarter_and_posts_ledger(demo_app, tmp_path):
    with pytest.raises(ServiceError, match="待考核"):
        close_quarter(2022, 1)
    score_all(tmp_path, 2022, 1, special={})
    first = compute_quarter(2022, 1)["units"][0]
    import_scores(
        write_scores(tmp_path, [{"year": 2022, "quarter": 1, "town": first["town"], "score": "60"}], "low.csv"),
        replace=True,
    )
    report = close_quarter(2022, 1)
    assert report["status"] == "closed" and report["provisional"] is False
    assert fen(report["pool"]) > 0
    with pytest.raises(ServiceError, match="已审定"):
        close_quarter(2022, 1)
    # a closed quarter cannot be edited: score import and parameter change are refused
    with pytest.raises(ServiceError) as refused:
        import_scores(
            write_scores(tmp_path, [{"year": 2022, "quarter": 1, "town": first["town"], "score": "99"}], "late.csv"),
            replace=True,
        )
    assert "已审定" in "\n".join(refused.value.errors)
    with pytest.raises(ServiceError, match="不可再修改"):
        set_params(2022, {"deduction_k": "2"})
    # frozen: later score changes in other quarters don't touch it, and a correction is a ledger entry
    add_adjustment(2022, 1, first["unit_key"], Decimal("-12.34"), "复核后扣回")
    again = quarter_report(2022, 1)
    assert again["payable_total"] == report["payable_total"]
    assert again["adjustments"][0]["amount"] == "-12.34"
    book = ledger(2022)
    assert book["reconciles"] is True
    assert fen(book["totals"]["payment"]) == fen(report["payable_total"])
    assert fen(book["totals"]["deduction"]) == fen(report["pool"])
    # the ledger and the audit log are append-only, in the database itself
    entry = db.session.scalar(select(LedgerEntry).limit(1))
    for statement in (
        f"UPDATE ledger_entry SET amount_fen = 1 WHERE id = {entry.id}",
        f"DELETE FROM ledger_entry WHERE id = {entry.id}",
    ):
        with pytest.raises(Exception):
            db.session.execute(text(statement))
            db.session.flush()
        db.session.rollback()


def test_settlement_pays_pool_to_excellent_units(demo_app, tmp_path):
    units = compute_quarter(2022, 1)["units"]
    villages = [u for u in units if u["kind"] == "village"]
    special = {villages[0]["unit_key"]: "95", villages[1]["unit_key"]: "92", villages[2]["unit_key"]: "50"}
    for quarter in range(1, 5):
        score_all(tmp_path, 2022, quarter, default="80", special=special)
        close_quarter(2022, quarter)
    result = settlement(2022)
    assert result["provisional"] is False
    assert fen(result["pool_total"]) == fen(result["pool_deductions"]) > 0
    assert fen(result["rewards_total"]) == fen(result["pool_total"])  # two 优 units take the whole pool
    assert result["carried_out"] == "0.00"
    rewarded = {r["unit_key"]: r for r in result["units"] if fen(r["reward"])}
    assert set(rewarded) == {villages[0]["unit_key"], villages[1]["unit_key"]}
    assert all(r["grade"] == "优" for r in rewarded.values())
    assert sum(fen(r["reward"]) for r in result["units"]) == fen(result["rewards_total"])
    approved = approve_settlement(2022)
    assert approved["settled"] is True
    with pytest.raises(ServiceError, match="已完成"):
        approve_settlement(2022)


def test_pool_carries_when_nobody_is_excellent(demo_app, tmp_path):
    for quarter in range(1, 5):
        score_all(tmp_path, 2022, quarter, default="60")
        close_quarter(2022, quarter)
    approved = approve_settlement(2022)
    assert approved["rewards_total"] == "0.00"
    assert approved["carried_out"] == approved["pool_total"] != "0.00"
    assert settlement(2023)["pool_carried_in"] == approved["carried_out"]


def test_params_refuse_low_local_share_and_are_audited(demo_app):
    with pytest.raises(ServiceError, match="第十五条"):
        set_params(2023, {"local_share": "0.59"})
    set_params(2023, {"local_share": "0.65"})
    plan = annual_plan(2023)
    assert plan["local_share"] == "0.65"
    assert plan["local_total"] == "2779508.55"  # 4276167.00 × 0.65
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.entity == "funding_params").order_by(AuditEntry.id.desc())
    )
    assert entry.action == "create" and entry.actor
    assert json.loads(json.loads(entry.after)["params_json"])["local_share"] == "0.65"


def test_score_import_errors_name_rows_and_write_nothing(demo_app, tmp_path):
    rows = [
        {"year": 2022, "quarter": 1, "town": "小坝镇", "score": "88"},
        {"year": 2022, "quarter": 5, "town": "小坝镇", "score": "88"},
        {"year": 2022, "quarter": 2, "town": "无此镇", "score": "88"},
        {"year": 2022, "quarter": 2, "town": "小坝镇", "score": "101"},
        {"year": 2022, "quarter": 2, "town": "小坝镇", "village": "无此村", "score": "80"},
        {"year": 2022, "quarter": 1, "town": "小坝镇", "score": "77"},
    ]
    with pytest.raises(ServiceError) as failure:
        import_scores(write_scores(tmp_path, rows))
    errors = "\n".join(failure.value.errors)
    for expected in (
        "第 3 行 小坝镇 [quarter]",
        "第 4 行 无此镇 [town]",
        "第 5 行 小坝镇 [score]",
        "第 6 行 小坝镇无此村 [village]",
        "第 7 行 小坝镇：与第 2 行重复",
    ):
        assert expected in errors
    assert db.session.scalar(select(QuarterScore.id)) is None


def test_score_import_xlsx_by_chief(demo_app, tmp_path):
    from openpyxl import Workbook

    unit = next(u for u in compute_quarter(2022, 2)["units"] if u["kind"] == "village" and u["chief_id"])
    book = Workbook()
    book.active.append(["year", "quarter", "chief_id", "score"])
    book.active.append([2022, 2, unit["chief_id"], 77.5])
    path = tmp_path / "scores.xlsx"
    book.save(path)
    assert import_scores(path)["created"] == 1
    row = next(u for u in compute_quarter(2022, 2)["units"] if u["unit_key"] == unit["unit_key"])
    assert row["score"] == "77.50" and row["grade"] == "良"


def test_cli_quarter_json_pdf_and_xlsx(demo_runner, tmp_path):
    result = demo_runner.invoke(main, ["funding", "plan", "2022", "--json"])
    assert result.exit_code == 0, result.output
    plan = json.loads(result.output)
    assert plan["local_total"] == "2565700.20" and isinstance(plan["towns"][0]["villages"], list)
    pdf, xlsx = tmp_path / "q.pdf", tmp_path / "q.xlsx"
    result = demo_runner.invoke(
        main, ["funding", "quarter", "2022", "1", "--json", "--pdf", str(pdf), "--xlsx", str(xlsx)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    for key in ("year", "quarter", "provisional", "budget", "payable_total", "pool", "units"):
        assert key in report
    for key in ("town", "village", "chief", "base", "quarter_base", "score", "grade", "factor", "deduction", "payable"):
        assert key in report["units"][0]
    assert pdf.read_bytes().startswith(b"%PDF") and xlsx.stat().st_size > 1000
    if shutil.which("pdftotext"):
        text_out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "2022年第1季度拨付表" in text_out
        assert "待考核" in text_out and "小坝镇" in text_out
