"""Funding outputs: 季度拨付表 / 年度计划 / 年终结算 as PDF and XLSX.

The input dicts are hand-made in the shape the CLI prints (money strings with
two decimals, km strings with three).  PDFs are checked with poppler's
pdftotext/pdffonts/pdfinfo; those parts skip only when the binaries are missing.
"""

from __future__ import annotations

import copy
import io
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from roadchief.domain.capitals import chinese_capital
from roadchief.reports.document_model import DASH
from roadchief.reports.fonts import FONT_NAME, register_cjk_font
from roadchief.reports.funding_pdf import plan_document, plan_pdf, quarter_document, quarter_pdf, settlement_pdf
from roadchief.reports.funding_xlsx import plan_xlsx, quarter_xlsx, settlement_xlsx

CAPITAL_2565700_20 = "贰佰伍拾陆万伍仟柒佰元贰角"
TOWNS = [
    ("640381100", "小坝镇"),
    ("640381101", "大坝镇"),
    ("640381102", "青铜峡镇"),
    ("640381103", "叶盛镇"),
    ("640381104", "瞿靖镇"),
    ("640381105", "峡口镇"),
    ("640381106", "陈袁滩镇"),
    ("640381107", "邵刚镇"),
]
STEMS = [
    "蒋西",
    "蒋东",
    "龙门",
    "正闸",
    "新华",
    "中庄",
    "光明",
    "同富",
    "立新",
    "团结",
    "玉西",
    "东方",
    "连湖",
    "富强",
    "红星",
    "金沙",
]
D = Decimal


def fmt(amount: Decimal) -> str:
    return f"{amount:,.2f}"


# --------------------------------------------------------------------------- fixtures


def _unit(
    kind,
    town,
    code,
    village=None,
    vcode=None,
    zd="0.000",
    cd="0.000",
    quarter_base="1000.00",
    score="90.00",
    grade="优",
    deduction="0.00",
    payable=None,
    chief="张三",
    title="镇长",
):
    provisional = score is None
    qb = D(quarter_base)
    payable = D("0.00") if provisional else (qb - D(deduction) if payable is None else D(payable))
    return {
        "unit_key": f"{kind}:{vcode or code}",
        "kind": kind,
        "town": town,
        "town_code": code,
        "village": village,
        "village_code": vcode,
        "chief": chief,
        "chief_id": 1 if chief else None,
        "chief_title": title if chief else None,
        "listed_km": {"镇道": zd, "村道": cd},
        "base": f"{qb * 4:.2f}",
        "quarter_base": f"{qb:.2f}",
        "score": score,
        "grade": None if provisional else grade,
        "factor": None if provisional else "1.0000",
        "deduction": deduction,
        "payable": f"{payable:.2f}",
        "provisional": provisional,
        "note": "待考核" if provisional else "",
    }


def _totals(report: dict) -> dict:
    units = report["units"]
    payable = sum((D(u["payable"]) for u in units), D(0))
    deduction = sum((D(u["deduction"]) for u in units), D(0))
    withheld = sum((D(u["quarter_base"]) for u in units if u["score"] is None), D(0))
    report.update(
        payable_total=f"{payable:.2f}",
        deduction_total=f"{deduction:.2f}",
        withheld_total=f"{withheld:.2f}",
        pool=f"{deduction:.2f}",
        budget=f"{payable + deduction + withheld:.2f}",
    )
    return report


def _report(units, status="open", **extra) -> dict:
    report = {
        "year": 2022,
        "quarter": 1,
        "status": status,
        "provisional": any(u["score"] is None for u in units),
        "generated_on": "2022-04-05",
        "closed_by": None,
        "closed_at": None,
        "units": units,
    }
    report.update(extra)
    return _totals(report)


def small_report(status="open") -> dict:
    """Two towns, villages, a provisional village and a 公路站; pays 2,565,700.20."""
    units = [
        _unit("town", "小坝镇", "640381100", zd="45.200", quarter_base="1000000.00", chief="张三", title="小坝镇镇长"),
        _unit(
            "village",
            "小坝镇",
            "640381100",
            "蒋西村",
            "640381100201",
            cd="12.500",
            quarter_base="565800.20",
            score="65.00",
            grade="一般",
            deduction="100.00",
            chief="李四",
            title="蒋西村村委会主任",
        ),
        _unit(
            "village",
            "小坝镇",
            "640381100",
            "龙门村",
            "640381100202",
            cd="8.125",
            quarter_base="7500.00",
            score=None,
            chief=None,
        ),
        _unit(
            "town",
            "大坝镇",
            "640381101",
            zd="30.000",
            quarter_base="900000.00",
            score="88.50",
            chief="王五",
            title="大坝镇镇长",
        ),
        _unit(
            "village",
            "大坝镇",
            "640381101",
            "正闸村",
            "640381101201",
            cd="10.000",
            quarter_base="50000.00",
            score="72.00",
            grade="良",
            chief="赵六",
            title="正闸村村委会主任",
        ),
        _unit(
            "station",
            "青铜峡公路站",
            "640381000",
            zd="20.000",
            quarter_base="50000.00",
            score="91.00",
            chief="钱七",
            title="公路站站长",
        ),
    ]
    return _report(units, status=status)


def big_report() -> dict:
    """8 towns x 13 villages + a station: 113 units, 122 printed rows."""
    units = []
    for t, (code, town) in enumerate(TOWNS):
        units.append(
            _unit(
                "town",
                town,
                code,
                zd=f"{40 + t}.125",
                quarter_base=f"{20000 + 137 * t}.35",
                score="86.00",
                chief=f"镇长{t}",
                title=f"{town}镇长",
            )
        )
        for v in range(13):
            provisional = (t, v) == (3, 5)
            weak = v % 5 == 4
            units.append(
                _unit(
                    "village",
                    town,
                    code,
                    f"{STEMS[v]}村",
                    f"{code}{200 + v}",
                    cd=f"{3 + v}.{v:03d}",
                    quarter_base=f"{4000 + 11 * v + t}.{(7 * v + t) % 100:02d}",
                    score=None if provisional else ("66.00" if weak else "80.50"),
                    grade="一般" if weak else "良",
                    deduction=f"{100 + v}.{t:02d}" if weak else "0.00",
                    chief=f"主任{t}-{v}",
                    title=f"{STEMS[v]}村村委会主任",
                )
            )
    units.append(_unit("station", "青铜峡公路站", "640381000", zd="55.000", quarter_base="30000.00", score="92.00"))
    return _report(units)


def make_plan() -> dict:
    """Splits the real 388.701 km 镇道 / 777.554 km 村道 of 第十五条 over towns and villages."""
    rates, share = {"镇道": D("5000.00"), "村道": D("3000.00")}, D("0.60")

    def part(zd: Decimal, cd: Decimal) -> dict:
        standard = (zd * rates["镇道"] + cd * rates["村道"]).quantize(D("0.01"))
        local = (standard * share).quantize(D("0.01"))
        return {"standard": f"{standard:.2f}", "local": f"{local:.2f}", "remainder": f"{standard - local:.2f}"}

    def add(a: dict, b: dict) -> dict:
        return {k: f"{D(a[k]) + D(b[k]):.2f}" for k in ("standard", "local", "remainder")}

    towns, zd_left, cd_left = [], D("388.701"), D("777.554")
    for t, (code, name) in enumerate(TOWNS):
        last = t == len(TOWNS) - 1
        zd = zd_left if last else D("48.125") + t
        zd_left -= zd
        own = {"listed_km": {"镇道": f"{zd:.3f}", "村道": "0.000", "total": f"{zd:.3f}"}, **part(zd, D(0))}
        villages, town_sum, cd_sum = [], dict(own), D(0)
        for v in range(4):
            cd = cd_left if last and v == 3 else D("22.305") + v
            cd_left -= cd
            cd_sum += cd
            village = {
                "code": f"{code}{200 + v}",
                "name": f"{STEMS[v + t]}村",
                "listed_km": {"村道": f"{cd:.3f}"},
                **part(D(0), cd),
            }
            villages.append(village)
            town_sum = add(town_sum, village)
        towns.append(
            {
                "code": code,
                "name": name,
                "own": own,
                "villages": villages,
                **town_sum,
                "listed_km": {"镇道": f"{zd:.3f}", "村道": f"{cd_sum:.3f}", "total": f"{zd + cd_sum:.3f}"},
            }
        )
    assert zd_left == 0 and cd_left == 0 and zd > 0 and cd > 0
    return {
        "year": 2022,
        "rates": {k: f"{v:.2f}" for k, v in rates.items()},
        "local_share": "0.60",
        "listed_km": {"镇道": "388.701", "村道": "777.554", "total": "1166.255"},
        "standard_total": "4276167.00",
        "local_total": "2565700.20",
        "remainder_total": "1710466.80",
        "generated_on": "2022-01-10",
        "towns": towns,
    }


def make_settlement() -> dict:
    def unit(kind, town, village, rank, scores, annual, grade, reward="0.00", deduction="0.00", tier=None):
        return {
            "unit_key": f"{kind}:{town}{village or ''}",
            "kind": kind,
            "town": town,
            "village": village,
            "chief": "张三",
            "chief_title": "镇长" if kind != "village" else "村委会主任",
            "level_rank": rank,
            "quarter_scores": scores,
            "annual_score": annual,
            "grade": grade,
            "tier": tier,
            "weight": "1.5" if tier else None,
            "reward": reward,
            "deduction": deduction,
        }

    units = [
        unit("town", "小坝镇", None, 1, ["90.00", "92.00", "88.00", "91.00"], "90.25", "优", "3000.00", tier=1),
        unit("station", "青铜峡公路站", None, 2, ["86.00", None, "88.00", "91.00"], "88.33", "优", "2000.00", tier=2),
        unit("town", "大坝镇", None, 3, ["66.00", "70.00", "68.00", "65.00"], "67.25", "一般", deduction="1200.50"),
        unit("village", "小坝镇", "蒋西村", 1, ["95.00", "93.00", "90.00", "92.00"], "92.50", "优", "1500.00", tier=1),
        unit(
            "village", "小坝镇", "龙门村", 2, ["60.00", "62.00", "65.00", "66.00"], "63.25", "一般", deduction="800.25"
        ),
    ]
    return {
        "year": 2022,
        "pool_carried_in": "5000.00",
        "pool_deductions": "2000.75",
        "pool_total": "7000.75",
        "rewards_total": "6500.00",
        "carried_out": "500.75",
        "generated_on": "2023-01-15",
        "units": units,
    }


# --------------------------------------------------------------------------- poppler helpers


def _poppler(tool: str, pdf: bytes, tmp_path, *args: str) -> str:
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} (poppler-utils) not installed")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        [tool, *args, str(path), "-"] if tool == "pdftotext" else [tool, str(path)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def pdf_text(pdf: bytes, tmp_path) -> str:
    return _poppler("pdftotext", pdf, tmp_path, "-layout")


def pdf_pages(pdf: bytes, tmp_path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", _poppler("pdfinfo", pdf, tmp_path), re.M).group(1))


def assert_fonts_embedded(pdf: bytes, tmp_path) -> None:
    lines = _poppler("pdffonts", pdf, tmp_path).splitlines()[2:]
    assert lines, "no fonts in the PDF"
    assert any("WenQuanYi" in line or FONT_NAME in line for line in lines)
    for line in lines:  # columns: name type encoding emb sub uni object ID
        assert re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", line), line
        emb = line.split()[-5]
        assert emb == "yes", f"font not embedded: {line}"


# --------------------------------------------------------------------------- quarter PDF


def test_register_cjk_font_is_idempotent():
    assert register_cjk_font() == register_cjk_font() == FONT_NAME


def test_quarter_pdf_content(tmp_path):
    report = small_report()
    pdf = quarter_pdf(report)
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    assert "青铜峡市农村公路“路长制”养护经费 2022年第1季度拨付表" in text
    assert "编制单位：青铜峡市路长办公室" in text and "单位：元" in text and "2022年4月5日" in text
    for town in ("小坝镇", "大坝镇", "青铜峡公路站", "蒋西村", "龙门村", "正闸村"):
        assert town in text
    assert "小坝镇小计" in text and "大坝镇小计" in text and "合计" in text
    assert "青铜峡公路站小计" not in text  # a station has no villages
    assert report["payable_total"] == "2565700.20"
    assert fmt(D("2565700.20")) in text
    assert f"合计实拨金额（大写）：人民币{CAPITAL_2565700_20}" in text
    assert "草稿（未审定）" in text
    assert "经办人：" in text and "审核人：" in text and "分管领导：" in text and "（单位盖章）" in text
    assert "第 1 页 共 1 页" in text
    assert "第十七条" in text
    for header in ("序号", "乡镇 / 村", "本季度基数", "考核得分", "扣减金额", "实拨金额", "备注"):
        assert header in text
    assert_fonts_embedded(pdf, tmp_path)


def test_quarter_provisional_row(tmp_path):
    text = pdf_text(quarter_pdf(small_report()), tmp_path)
    line = next(line for line in text.splitlines() if "龙门村" in line)
    assert "待考核" in line and DASH in line and "0.00" in line
    assert "7,500.00" in line  # the quarter base is shown, not paid
    row = next(r for r in quarter_document(small_report()).blocks[0].rows if r.cells[1] == "龙门村")
    assert row.cells[7] == DASH and row.cells[8] == DASH and row.cells[10] == D("0.00")


def test_quarter_closed_shows_approval(tmp_path):
    report = small_report(status="closed")
    report.update(closed_by="马局长", closed_at="2022-04-08T10:30:00")
    text = pdf_text(quarter_pdf(report), tmp_path)
    assert "已审定" in text and "马局长" in text and "2022年4月8日 10:30" in text
    assert "草稿" not in text


def test_quarter_long_table_paginates(tmp_path):
    report = big_report()
    assert len(report["units"]) >= 100
    pdf = quarter_pdf(report)
    pages = pdf_pages(pdf, tmp_path)
    assert pages >= 3
    text = pdf_text(pdf, tmp_path)
    page_texts = text.split("\f")[:pages]
    for number, page in enumerate(page_texts, 1):
        assert f"第 {number} 页 共 {pages} 页" in page
        assert "实拨金额" in page and "考核得分" in page  # header row repeated
    assert "（续）" in page_texts[1]
    assert "经办人：" in page_texts[-1] and all("经办人：" not in p for p in page_texts[:-1])
    for _, town in TOWNS:
        assert town in text and f"{town}小计" in text
    assert fmt(D(report["payable_total"])) in text
    assert f"合计实拨金额（大写）：人民币{chinese_capital(D(report['payable_total']))}" in text
    assert_fonts_embedded(pdf, tmp_path)


def test_quarter_subtotals_are_sums_of_printed_rows():
    grid = quarter_document(big_report()).blocks[0]
    items, group = [], []
    for row in grid.rows:
        if row.style in ("item", "child"):
            items.append(row)
            group = [row] if row.style == "item" else group + [row]
        elif row.style == "subtotal":
            for col in (3, 4, 5, 6, 9, 10):
                assert row.cells[col] == sum(r.cells[col] for r in group)
    total = grid.rows[-1]
    assert total.style == "total"
    for col in (3, 4, 5, 6, 9, 10):
        assert total.cells[col] == sum(r.cells[col] for r in items)


@pytest.mark.parametrize("key", ["payable_total", "deduction_total", "withheld_total", "budget", "pool"])
def test_quarter_mismatched_totals_raise(key):
    report = small_report()
    report[key] = f"{D(report[key]) + D('0.01'):.2f}"
    with pytest.raises(ValueError):
        quarter_pdf(report)
    with pytest.raises(ValueError):
        quarter_xlsx(report)


def test_quarter_bad_inputs_raise():
    report = small_report()
    report["units"][2]["payable"] = "7500.00"  # provisional unit shown as paid
    with pytest.raises(ValueError):
        quarter_pdf(report)
    report = small_report()
    report["units"][0]["payable"] = 1000000.0
    with pytest.raises(TypeError):
        quarter_pdf(report)
    report = small_report()
    report["units"].insert(0, report["units"].pop(1))  # village before its town
    with pytest.raises(ValueError):
        quarter_pdf(report)


# --------------------------------------------------------------------------- quarter XLSX


def _sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).active


def _table(ws, first_header: str):
    """(header row number, {label: column}, data rows as lists of cells)."""
    head = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == first_header)
    columns = {ws.cell(head, c).value: c for c in range(1, ws.max_column + 1) if ws.cell(head, c).value}
    return head, columns


def test_quarter_xlsx_cells_and_totals():
    report = big_report()
    ws = _sheet(quarter_xlsx(report))
    assert ws.cell(1, 1).value == "青铜峡市农村公路“路长制”养护经费 2022年第1季度拨付表"
    assert any(str(m).startswith("A1:") for m in ws.merged_cells.ranges)
    head, cols = _table(ws, "序号")
    assert ws.freeze_panes == f"A{head + 1}"
    assert ws.cell(head, 1).font.b
    pay, base, zd, name = cols["实拨金额"], cols["本季度基数"], cols["镇道里程(km)"], cols["乡镇 / 村"]
    rows = list(range(head + 1, ws.max_row + 1))
    total_row = next(r for r in rows if ws.cell(r, name).value == "合计")
    items = [r for r in rows if r < total_row and not str(ws.cell(r, name).value).endswith("小计")]
    assert len(items) == len(report["units"])
    for r in items:
        cell = ws.cell(r, pay)
        assert isinstance(cell.value, (int, float)) and cell.number_format == "#,##0.00"
        assert ws.cell(r, base).number_format == "#,##0.00" and ws.cell(r, zd).number_format == "0.000"
    as_dec = lambda r, c: D(str(ws.cell(r, c).value)).quantize(D("0.01"))  # noqa: E731
    total = sum(as_dec(r, pay) for r in items)
    assert as_dec(total_row, pay) == total == D(report["payable_total"])
    assert as_dec(total_row, base) == sum(as_dec(r, base) for r in items)
    assert ws.cell(total_row, name).font.b
    labels = [ws.cell(r, 1).value for r in range(total_row, ws.max_row + 1)]
    assert f"合计实拨金额（大写）：人民币{chinese_capital(total)}" in labels


def test_quarter_xlsx_provisional_and_subtotal():
    ws = _sheet(quarter_xlsx(small_report()))
    head, cols = _table(ws, "序号")
    by_name = {ws.cell(r, cols["乡镇 / 村"]).value: r for r in range(head + 1, ws.max_row + 1)}
    r = by_name["龙门村"]
    assert ws.cell(r, cols["考核得分"]).value == DASH and ws.cell(r, cols["备注"]).value == "待考核"
    assert ws.cell(r, cols["实拨金额"]).value == 0
    sub = by_name["小坝镇小计"]
    parts = [by_name[n] for n in ("小坝镇", "蒋西村", "龙门村")]
    got = D(str(ws.cell(sub, cols["实拨金额"]).value)).quantize(D("0.01"))
    assert got == sum(D(str(ws.cell(p, cols["实拨金额"]).value)).quantize(D("0.01")) for p in parts)
    assert ws.cell(by_name["小坝镇"], cols["考核得分"]).value == 90


# --------------------------------------------------------------------------- plan


def test_plan_pdf(tmp_path):
    plan = make_plan()
    pdf = plan_pdf(plan)
    text = pdf_text(pdf, tmp_path)
    assert "青铜峡市农村公路“路长制”2022年度养护经费计划" in text
    for town in plan["towns"]:
        assert town["name"] in text and f"{town['name']}小计" in text
        assert fmt(D(town["standard"])) in text
    for figure in ("4,276,167.00", "2,565,700.20", "1,710,466.80", "388.701", "777.554"):
        assert figure in text
    assert f"地方配套合计（大写）：人民币{CAPITAL_2565700_20}" in text
    assert "第十五条" in text and "第 1 页 共" in text
    assert_fonts_embedded(pdf, tmp_path)


def test_plan_xlsx():
    plan = make_plan()
    ws = _sheet(plan_xlsx(plan))
    head, cols = _table(ws, "序号")
    total_row = next(r for r in range(head + 1, ws.max_row + 1) if ws.cell(r, cols["乡镇 / 村"]).value == "合计")
    items = [r for r in range(head + 1, total_row) if not str(ws.cell(r, cols["乡镇 / 村"]).value).endswith("小计")]
    for label, want, fmt_ in (
        ("地方配套", "2565700.20", "#,##0.00"),
        ("标准金额", "4276167.00", "#,##0.00"),
        ("村道里程(km)", "777.554", "0.000"),
    ):
        c = cols[label]
        places = D("0.001") if fmt_ == "0.000" else D("0.01")
        got = D(str(ws.cell(total_row, c).value)).quantize(places)
        rows_sum = sum((D(str(ws.cell(r, c).value or 0)).quantize(places) for r in items), D(0))
        assert got == rows_sum == D(want)
        assert ws.cell(total_row, c).number_format == fmt_


@pytest.mark.parametrize("path", [("local_total",), ("towns", 0, "standard"), ("towns", 1, "listed_km", "村道")])
def test_plan_mismatch_raises(path):
    plan = make_plan()
    node = plan
    for key in path[:-1]:
        node = node[key]
    places = 3 if path[-1] == "村道" else 2
    node[path[-1]] = f"{D(node[path[-1]]) + D(1).scaleb(-places):.{places}f}"
    with pytest.raises(ValueError):
        plan_document(plan)


# --------------------------------------------------------------------------- settlement


def test_settlement_pdf(tmp_path):
    settlement = make_settlement()
    pdf = settlement_pdf(settlement)
    text = pdf_text(pdf, tmp_path)
    assert "2022年度农村公路“路长制”年终考评及以奖代补结算" in text
    for header in (
        "排名",
        "单位",
        "路长",
        "一季度",
        "二季度",
        "三季度",
        "四季度",
        "年度得分",
        "等级",
        "以奖代补 / 扣减 (元)",
    ):
        assert header in text
    for name in ("小坝镇", "青铜峡公路站", "大坝镇", "小坝镇蒋西村", "小坝镇龙门村"):
        assert name in text
    for label in ("上年结转", "本年扣减", "奖励发放", "结转下年"):
        assert label in text
    for figure in ("6,500.00", "2,000.75", "7,000.75", "500.75", "5,000.00"):
        assert figure in text
    assert f"以奖代补发放合计（大写）：人民币{chinese_capital(D('6500.00'))}" in text
    assert "第二十三条" in text and "第 1 页 共 1 页" in text
    assert_fonts_embedded(pdf, tmp_path)


def test_settlement_xlsx():
    ws = _sheet(settlement_xlsx(make_settlement()))
    head, cols = _table(ws, "排名")
    name = cols["单位"]
    total_row = next(r for r in range(head + 1, ws.max_row + 1) if ws.cell(r, name).value == "合计")
    reward = next(c for c in range(1, ws.max_column + 1) if ws.cell(head + 1, c).value == "以奖代补")
    items = [r for r in range(head + 2, total_row) if isinstance(ws.cell(r, reward).value, (int, float))]
    assert len(items) == 5
    assert D(str(ws.cell(total_row, reward).value)) == sum(D(str(ws.cell(r, reward).value)) for r in items) == 6500
    assert ws.cell(total_row, reward).number_format == "#,##0.00"
    assert ws.freeze_panes == f"A{head + 2}"  # two header rows


@pytest.mark.parametrize("key", ["rewards_total", "pool_deductions", "pool_total", "carried_out", "pool_carried_in"])
def test_settlement_mismatch_raises(key):
    settlement = copy.deepcopy(make_settlement())
    settlement[key] = f"{D(settlement[key]) + D('0.01'):.2f}"
    with pytest.raises(ValueError):
        settlement_pdf(settlement)
    with pytest.raises(ValueError):
        settlement_xlsx(settlement)


def test_markup_characters_are_escaped(tmp_path):
    report = small_report()
    report["units"][0]["town"] = "小坝镇<A&B>"
    report["units"][0]["note"] = "含 <b> & 符号"
    text = pdf_text(quarter_pdf(report), tmp_path)
    assert "小坝镇<A&B>" in text and "小坝镇<A&B>小计" in text


@pytest.mark.parametrize(("settled", "mark", "absent"), [(False, "草稿（未审定）", "已审定"), (True, "已审定", "草稿")])
def test_settlement_settled_flag(tmp_path, settled, mark, absent):
    settlement = make_settlement()
    settlement["settled"] = settled
    text = pdf_text(settlement_pdf(settlement), tmp_path)
    assert mark in text and absent not in text
