"""Finance pages: plan, quarters (provisional / approved), downloads, score upload,
quarter approval, adjustments, settlement, ledger, parameters, and who may see what."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal
from urllib.parse import unquote

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from roadchief.extensions import db
from roadchief.models import Chief, LedgerEntry, QuarterScore
from roadchief.services.funding_quarter import compute_quarter

XIAOBA = "640381100"  # 小坝镇


def scores_csv(year: int, quarter: int, score: str = "90", encoding: str = "utf-8") -> bytes:
    """A score for every paid unit of the quarter: towns and villages by name, stations by their chief."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["year", "quarter", "town", "village", "chief_id", "score"])
    for unit in compute_quarter(year, quarter)["units"]:
        if unit["kind"] == "station":
            writer.writerow([year, quarter, "", "", unit["chief_id"], score])
        else:
            writer.writerow([year, quarter, unit["town"], unit["village"] or "", "", score])
    return out.getvalue().encode(encoding)


def upload(client, content: bytes, name: str, replace: bool = False):
    data = {"file": (io.BytesIO(content), name)}
    if replace:
        data["replace"] = "yes"
    return client.post("/funding/scores/import", data=data, content_type="multipart/form-data")


def text(response) -> str:
    return response.get_data(as_text=True)


def upload_by_colleague(app, content: bytes, name: str, make_logged_in):
    """Scores uploaded by another city office account: whoever sets a quarter's scores may not
    approve its payment (不相容职务分离), so the approving client must not be the uploader."""
    colleague = app.test_client()
    make_logged_in(colleague, "city_office")
    return upload(colleague, content, name)


def other_town_village() -> tuple[str, str]:
    unit = next(u for u in compute_quarter(2022, 1)["units"] if u["kind"] == "village" and u["town_code"] != XIAOBA)
    return unit["town"], unit["village"]


# --------------------------------------------------------------------------- plan and quarters


def test_index_links_the_year(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    page = text(demo_client.get("/funding/?year=2022"))
    assert "2022 年度养护经费计划" in page
    for quarter in range(1, 5):
        assert f"/funding/2022/q/{quarter}" in page
    assert "含待考核" in page
    for link in (
        "/funding/2022/plan",
        "/funding/2022/settlement",
        "/funding/2022/ledger",
        "/funding/2022/params",
        "/funding/scores/import",
    ):
        assert link in page


def test_plan_page_shows_the_totals(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    response = demo_client.get("/funding/2022/plan")
    assert response.status_code == 200
    page = text(response)
    assert "4,276,167.00" in page and "2,565,700.20" in page  # thousands separators on the page
    assert "4276167.00" not in page
    from roadchief.services.funding_plan import annual_plan

    assert annual_plan(2022)["standard_total"] == "4276167.00"  # the data (JSON, CLI) stays plain
    assert "小坝镇小计" in page and "合计</td>" in page
    assert "style=" not in page  # CSP: no inline style attributes


def test_quarter_page_is_provisional_without_scores(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    page = text(demo_client.get("/funding/2022/q/1"))
    units = compute_quarter(2022, 1)
    assert "待考核" in page
    assert f"含待考核单位 {len(units['units'])} 个" in page
    assert f"{Decimal(units['withheld_total']):,.2f}" in page
    for label in (
        "序号",
        "乡镇 / 村",
        "路长（姓名·职务）",
        "镇道里程(km)",
        "村道里程(km)",
        "年度经费",
        "本季度基数",
        "考核得分",
        "等级",
        "扣减金额",
        "实拨金额",
        "备注",
    ):
        assert label in page
    assert "<svg" in page and 'class="fc-wait"' in page
    assert "审定本季度" in page and 'name="confirm"' in page
    assert "<script>" not in page and "style=" not in page


def test_unknown_year_or_quarter(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    response = demo_client.get("/funding/1999/plan")
    assert response.status_code == 404 and "年度不正确" in text(response)
    assert demo_client.get("/funding/2022/q/5").status_code == 404


@pytest.mark.parametrize(
    "path, kind",
    [
        ("/funding/2022/plan.pdf", "pdf"),
        ("/funding/2022/plan.xlsx", "xlsx"),
        ("/funding/2022/q/1.pdf", "pdf"),
        ("/funding/2022/q/1.xlsx", "xlsx"),
        ("/funding/2022/settlement.pdf", "pdf"),
        ("/funding/2022/settlement.xlsx", "xlsx"),
    ],
)
def test_downloads(demo_app, demo_client, make_logged_in, path, kind):
    make_logged_in(demo_client, "finance")
    response = demo_client.get(path)
    assert response.status_code == 200
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    match = re.search(r"filename\*=UTF-8''(\S+)", disposition)
    assert match and unquote(match.group(1)).endswith(f".{kind}") and "2022" in unquote(match.group(1))
    disposition.encode("latin-1")  # the header itself is ASCII-safe
    if kind == "pdf":
        assert response.mimetype == "application/pdf"
        assert response.data.startswith(b"%PDF")
    else:
        assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        workbook = load_workbook(io.BytesIO(response.data))
        assert workbook.active.max_row > 5


def test_plan_download_for_finance_shows_the_city_total(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    sheet = load_workbook(io.BytesIO(demo_client.get("/funding/2022/plan.xlsx").data)).active
    values = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert any("合计" == v for v in values)


# --------------------------------------------------------------------------- upload, approve, adjust, ledger


def test_import_then_close_the_quarter(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    content = scores_csv(2022, 1)
    rows = content.decode().count("\n") - 1
    response = upload_by_colleague(demo_app, content, "得分.csv", make_logged_in)
    assert response.status_code == 200, text(response)
    assert f"共 {rows} 行：新增 {rows} 条" in text(response)

    page = text(demo_client.get("/funding/2022/q/1"))
    assert "含待考核" not in page and "草稿 · 未审定" in page

    refused = demo_client.post("/funding/2022/q/1/close", data={}, follow_redirects=True)
    assert "请先勾选确认" in text(refused)
    assert "已审定" not in text(refused).split("<main", 1)[1].split("审定本季度", 1)[0]

    closed = demo_client.post("/funding/2022/q/1/close", data={"confirm": "yes"}, follow_redirects=True)
    page = text(closed)
    assert closed.status_code == 200
    assert "已审定" in page and "审定人" in page and "审定时间" in page
    assert "登记调整分录" in page  # closed quarters take adjustments, not approval

    again = demo_client.post("/funding/2022/q/1/close", data={"confirm": "yes"}, follow_redirects=True)
    assert "不能重复审定" in text(again)

    ledger = text(demo_client.get("/funding/2022/ledger"))
    assert "已审定季度基数 = 实拨 + 扣减入池" in ledger and "check-ok" in ledger and "✓" in ledger
    assert "季度拨付" in ledger and "资金池 = 奖补 + 结转" in ledger

    # after approval the scores of the quarter are frozen
    frozen = upload(demo_client, content, "again.csv", replace=True)
    assert frozen.status_code == 422 and "已审定，得分不可修改" in text(frozen)


def test_close_refused_while_scores_are_missing(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    response = demo_client.post("/funding/2022/q/1/close", data={"confirm": "yes"}, follow_redirects=True)
    assert "尚无考核得分（待考核），不能审定" in text(response)
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_quarters_close_in_order(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    assert upload(demo_client, scores_csv(2022, 2, score="90"), "s.csv").status_code == 200
    response = demo_client.post("/funding/2022/q/2/close", data={"confirm": "yes"}, follow_redirects=True)
    assert "2022 年第 1 季度尚未审定，须按季度顺序审定，不能先审定第 2 季度" in text(response)
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 0


def test_adjustment_on_a_closed_quarter(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    assert upload_by_colleague(demo_app, scores_csv(2022, 1, score="65"), "s.csv", make_logged_in).status_code == 200
    demo_client.post("/funding/2022/q/1/close", data={"confirm": "yes"})
    unit = compute_quarter(2022, 1)["units"][1]
    bad = demo_client.post(
        "/funding/2022/q/1/adjust",
        data={"unit_key": unit["unit_key"], "amount": "abc", "note": "x"},
        follow_redirects=True,
    )
    assert "金额格式不正确" in text(bad)
    response = demo_client.post(
        "/funding/2022/q/1/adjust",
        data={"unit_key": unit["unit_key"], "amount": "-12.50", "note": "里程复核扣回"},
        follow_redirects=True,
    )
    page = text(response)
    assert "已登记调整分录" in page and "-12.50" in page and "里程复核扣回" in page
    assert f"{unit['town']}{unit['village']}" in page
    ledger = text(demo_client.get("/funding/2022/ledger"))
    assert "调整" in ledger and "-12.50" in ledger
    # deductions (score 65 < 70) show in the chart and the table
    page = text(demo_client.get("/funding/2022/q/1"))
    assert 'class="fc-ded"' in page and "一般" in page


def test_settlement_page_and_refused_approval(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    page = text(demo_client.get("/funding/2022/settlement"))
    assert "年终考评及以奖代补结算" in page and "资金池合计" in page and "尚有季度未审定" in page
    response = demo_client.post("/funding/2022/settlement/approve", data={"confirm": "yes"}, follow_redirects=True)
    assert "尚有季度未审定，不能年终结算" in text(response)


def test_full_year_settlement(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    for quarter, score in zip(range(1, 5), ("92", "60", "88", "75")):
        assert (
            upload_by_colleague(
                demo_app, scores_csv(2022, quarter, score), f"q{quarter}.csv", make_logged_in
            ).status_code
            == 200
        )
        demo_client.post(f"/funding/2022/q/{quarter}/close", data={"confirm": "yes"})
    response = demo_client.post("/funding/2022/settlement/approve", data={"confirm": "yes"}, follow_redirects=True)
    page = text(response)
    assert "年终结算已完成" in page and "已结算" in page
    ledger = text(demo_client.get("/funding/2022/ledger"))
    assert ledger.count("check-ok") == 3 and "check-bad" not in ledger
    assert "以奖代补" in ledger and "结转下年" in ledger


# --------------------------------------------------------------------------- upload checks


def test_upload_checks_name_and_content(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    assert "应为 .csv 或 .xlsx" in text(upload(demo_client, b"year,quarter\n", "scores.txt"))
    workbook = io.BytesIO()
    Workbook().save(workbook)
    assert "不是 CSV 文本" in text(upload(demo_client, workbook.getvalue(), "scores.csv"))
    assert "不是 XLSX 工作簿" in text(upload(demo_client, b"year,quarter,town,score\n", "scores.xlsx"))
    assert "XLSX 文件已损坏" in text(upload(demo_client, b"PK\x03\x04" + b"\x00" * 100, "scores.xlsx"))
    fake = io.BytesIO()
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("word/document.xml", "<w/>")
    assert "不是 XLSX 工作簿" in text(upload(demo_client, fake.getvalue(), "scores.xlsx"))
    assert "无法识别 CSV 文件编码" in text(upload(demo_client, b"year,score\n\xff\xfe\xfd\x80\x81", "s.csv"))
    big = b"year,quarter,town,village,score\n" + b"2022,1,x,,90\n" * 200_000
    assert "超过 2 MB" in text(upload(demo_client, big, "big.csv"))
    assert db.session.scalar(select(func.count(QuarterScore.id))) == 0


def test_upload_shows_row_errors(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    content = (
        "year,quarter,town,village,score\n2022,1,小坝镇,,91\n2022,1,无此镇,,90\n2022,9,小坝镇,,90\n2022,1,小坝镇,,101\n"
    )
    response = upload(demo_client, content.encode("gbk"), "得分.csv")
    page = text(response)
    assert response.status_code == 422
    assert "3 处错误，未写入任何数据" in page
    assert "第 3 行 无此镇 [town]" in page and "第 4 行 小坝镇 [quarter]" in page and "第 5 行 小坝镇 [score]" in page
    assert db.session.scalar(select(func.count(QuarterScore.id))) == 0


def test_upload_xlsx_and_replace(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["year", "quarter", "town", "village", "score"])
    sheet.append([2022, 3, "小坝镇", "", 80])
    data = io.BytesIO()
    workbook.save(data)
    assert "新增 1 条" in text(upload(demo_client, data.getvalue(), "scores.xlsx"))
    assert "已有得分" in text(upload(demo_client, data.getvalue(), "scores.xlsx"))
    sheet["E2"] = 85
    data = io.BytesIO()
    workbook.save(data)
    assert "覆盖 1 条" in text(upload(demo_client, data.getvalue(), "scores.xlsx", replace=True))


# --------------------------------------------------------------------------- parameters


def test_params_refuses_a_local_share_below_60_percent(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    page = text(demo_client.get("/funding/2022/params"))
    assert "实施办法默认值" in page and 'name="local_share"' in page
    form = {
        "rate_zd": "5000",
        "rate_cd": "3000",
        "local_share": "0.59",
        "deduction_k": "1",
        "pass_score": "70",
        "tier_upto_1": "1/3",
        "tier_weight_1": "1.5",
        "tier_upto_2": "2/3",
        "tier_weight_2": "1.0",
        "tier_upto_3": "1",
        "tier_weight_3": "0.5",
    }
    response = demo_client.post("/funding/2022/params", data=form)
    assert response.status_code == 422
    assert "第十五条" in text(response) and 'value="0.59"' in text(response)

    form["local_share"] = "0.65"
    response = demo_client.post("/funding/2022/params", data=form, follow_redirects=True)
    page = text(response)
    assert "已保存为新的修订版本" in page and "第 1 版" in page and "地方配套比例" in page
    plan = text(demo_client.get("/funding/2022/plan"))
    assert "地方配套比例 0.65" in plan


def test_params_frozen_after_a_closed_quarter(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    upload_by_colleague(demo_app, scores_csv(2022, 1), "s.csv", make_logged_in)
    demo_client.post("/funding/2022/q/1/close", data={"confirm": "yes"})
    page = text(demo_client.get("/funding/2022/params"))
    assert "参数已冻结" in page
    response = demo_client.post("/funding/2022/params", data={"local_share": "0.70"})
    assert response.status_code == 422 and "不可再修改" in text(response)


def test_finance_views_params_but_cannot_change_them(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    response = demo_client.get("/funding/2022/params")
    assert response.status_code == 200 and "现行参数" in text(response) and 'name="local_share"' not in text(response)
    assert demo_client.post("/funding/2022/params", data={"local_share": "0.70"}).status_code == 403


# --------------------------------------------------------------------------- who may see what


def test_town_office_sees_only_its_town(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "town_office", town=XIAOBA)
    other_town, other_village = other_town_village()
    own_village = next(
        u["village"] for u in compute_quarter(2022, 1)["units"] if u["kind"] == "village" and u["town_code"] == XIAOBA
    )
    for path in ("/funding/2022/q/1", "/funding/2022/plan"):
        page = text(demo_client.get(path))
        assert own_village in page and "小坝镇小计" in page
        assert other_village not in page and other_town not in page
        assert "2,565,700.20" not in page and "2565700.20" not in page  # no city totals
        assert "合计</td>" not in page
    quarter = text(demo_client.get("/funding/2022/q/1"))
    assert "审定本季度" not in quarter
    assert demo_client.post("/funding/2022/q/1/close", data={"confirm": "yes"}).status_code == 403
    for path in ("/funding/2022/settlement", "/funding/2022/ledger", "/funding/2022/params", "/funding/scores/import"):
        assert demo_client.get(path).status_code == 403
    pdf = demo_client.get("/funding/2022/q/1.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert "%E5%B0%8F%E5%9D%9D%E9%95%87" in pdf.headers["Content-Disposition"]  # 小坝镇 in the file name
    sheet = load_workbook(io.BytesIO(demo_client.get("/funding/2022/plan.xlsx").data)).active
    cells = [str(c) for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert own_village in cells and other_village not in cells


def test_chief_is_refused(demo_app, demo_client, make_logged_in):
    chief_id = db.session.scalar(select(Chief.id).order_by(Chief.id).limit(1))
    make_logged_in(demo_client, "chief", chief_id=chief_id)
    for path in ("/funding/", "/funding/2022/plan", "/funding/2022/q/1", "/funding/2022/plan.pdf"):
        assert demo_client.get(path).status_code == 403


def test_inspector_is_refused(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "inspector")
    assert demo_client.get("/funding/2022/q/1").status_code == 403


def test_anonymous_is_sent_to_login(demo_app, demo_client):
    for path in ("/funding/", "/funding/2022/q/1", "/funding/2022/plan.pdf"):
        response = demo_client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    assert demo_client.post("/funding/2022/q/1/close", data={"confirm": "yes"}).status_code == 302
