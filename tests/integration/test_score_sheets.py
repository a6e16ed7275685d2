"""Score import in the office's words (#16 point 6): Chinese headers, the prefilled template and its
round trip, errors naming the unit and the spreadsheet row (blank rows counted), no CLI flags on the web."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from roadchief.cli import main
from roadchief.extensions import db
from roadchief.models import QuarterScore
from roadchief.services.funding_quarter import compute_quarter
from roadchief.services.score_sheets import quarter_number
from roadchief.services.scores import ScoreImportFailed, import_scores

HEADER = ["年度", "季度", "乡镇", "村", "得分"]


def xlsx(rows: list[list]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for number, values in enumerate(rows, 1):
        for column, value in enumerate(values, 1):
            if value is not None:
                sheet.cell(number, column, value)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def stored() -> dict[str, int]:
    return {s.unit_key: s.score_centi for s in db.session.scalars(select(QuarterScore))}


def a_village(year: int = 2022) -> dict:
    return next(u for u in compute_quarter(year, 1)["units"] if u["kind"] == "village")


def upload(client, content: bytes, name: str, replace: bool = False):
    data = {"file": (io.BytesIO(content), name)}
    if replace:
        data["replace"] = "yes"
    return client.post("/funding/scores/import", data=data, content_type="multipart/form-data")


def failure(path, content) -> ScoreImportFailed:
    try:
        import_scores(path, content=content)
    except ScoreImportFailed as error:
        return error
    raise AssertionError("the import should have failed")


def test_chinese_headers_in_xlsx_and_csv(demo_app, tmp_path):
    village = a_village()
    content = xlsx(
        [HEADER, [2022, 1, "小坝镇", None, 92.5], [2022, "第一季度", village["town"], village["village"], 88]]
    )
    assert import_scores(tmp_path / "得分.xlsx", content=content) == {
        "rows": 2,
        "created": 2,
        "replaced": 0,
        "blank": 0,
    }
    assert stored() == {"town:640381100": 9250, village["unit_key"]: 8800}

    # the same words in a GBK CSV typed by hand: full-width spaces around a header, Q2 for the quarter
    csv_text = (
        f"年度, 季度 ,乡镇,村,考核得分\n2022,Q2,小坝镇,,90\n2022,2,{village['town']},{village['village']},85.25\n"
    )
    result = import_scores(tmp_path / "s.csv", content=csv_text.encode("gbk"))
    assert result["created"] == 2
    scores = {(s.quarter, s.unit_key): s.score_centi for s in db.session.scalars(select(QuarterScore))}
    assert scores[(2, "town:640381100")] == 9000 and scores[(2, village["unit_key"])] == 8525


def test_a_title_row_above_the_header_is_passed_over(demo_app, tmp_path):
    content = xlsx(
        [["2022年第一季度考核得分"], [], HEADER, [2022, 1, "小坝镇", None, 95], [2022, 1, "无此镇", None, 90]]
    )
    error = failure(tmp_path / "s.xlsx", content)
    assert error.errors == ["第 5 行 无此镇 [乡镇]：未知乡镇：'无此镇'"]
    assert (
        import_scores(
            tmp_path / "s.xlsx", content=xlsx([["2022年第一季度考核得分"], HEADER, [2022, 1, "小坝镇", None, 95]])
        )["created"]
        == 1
    )


def test_missing_columns_are_named_in_the_office_words(demo_app, tmp_path):
    error = failure(tmp_path / "s.csv", "年度,得分\n2022,90\n".encode())
    assert error.errors[0].startswith("缺少列：季度、乡镇（或 公路站、路长编号）")
    assert stored() == {}


def test_quarter_words():
    for text, number in (("1", 1), ("4.0", 4), ("三", 3), ("第二季度", 2), ("第4季度", 4), ("q3", 3)):
        assert quarter_number(text) == number
    for text in ("5", "0", "第五季度", "", "Q"):
        try:
            quarter_number(text)
        except ValueError:
            continue
        raise AssertionError(text)


def test_error_rows_are_the_spreadsheet_rows_with_blank_rows_counted(demo_app, tmp_path):
    village = a_village()
    rows = [
        HEADER,  # row 1
        [2022, 1, "小坝镇", None, 90],  # row 2
        [2022, 1, village["town"], village["village"], 90],  # 3
        [2022, 2, "小坝镇", None, 90],  # 4
        [],  # 5: blank
        [2022, 3, "小坝镇", None, 90],  # 6
        [2022, 3, village["town"], village["village"], 130],  # 7: out of range
        [2022, 3, "无此镇", None, 90],  # 8
    ]
    for name, content in (
        ("s.xlsx", xlsx(rows)),
        ("s.csv", "\n".join(",".join("" if v is None else str(v) for v in r) for r in rows).encode()),
    ):
        error = failure(tmp_path / name, content)
        assert error.errors == [
            f"第 7 行 {village['town']}{village['village']} [得分]：得分应为 0–100 的数：'130'",
            "第 8 行 无此镇 [乡镇]：未知乡镇：'无此镇'",
        ], name
        assert re.search(r"第\s?7\s?行", error.errors[0]) and not any("第 6 行" in e for e in error.errors)
    assert stored() == {}


def test_template_round_trip(demo_app, demo_runner, tmp_path):
    path = tmp_path / "template.xlsx"
    result = demo_runner.invoke(main, ["scores", "template", "2022", str(path), "--quarter", "1"])
    assert result.exit_code == 0, result.output
    units = compute_quarter(2022, 1)["units"]
    workbook = load_workbook(path)
    sheet = workbook.active
    assert [c.value for c in sheet[1]] == ["年度", "季度", "乡镇", "村", "公路站", "得分"]
    body = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(body) == len(units) and all(r[0] == 2022 and r[1] == 1 and r[5] is None for r in body)
    listed = {(r[2], r[3] or None, r[4] or None) for r in body}
    for unit in units:
        if unit["kind"] == "station":
            assert any(s == unit["town"] for _, _, s in listed)  # a station's name is its "town" in the report
        else:
            assert (unit["town"], unit["village"], None) in listed

    # the office fills every score but one, saves and imports the same file
    for number, row in enumerate(sheet.iter_rows(min_row=2), 2):
        if number != 3:
            row[5].value = 80 + number % 20
    workbook.save(path)
    result = demo_runner.invoke(main, ["scores", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert f"新增 {len(units) - 1}" in result.output and "1 行未填得分" in result.output
    scores = stored()
    assert len(scores) == len(units) - 1 and set(scores) == {u["unit_key"] for u in units} - {units[1]["unit_key"]}
    assert sorted(set(scores.values())) != [scores[units[0]["unit_key"]]]  # each unit's own score, not one for all

    # importing again names the units already scored; the CLI (only) adds its flag
    result = demo_runner.invoke(main, ["scores", "import", str(path)])
    assert result.exit_code == 1 and "已有得分" in result.output and "--replace" in result.output
    assert units[0]["town"] in result.output


def test_template_download_and_web_messages(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    page = demo_client.get("/funding/scores/import").get_data(as_text=True)
    assert "/funding/scores/template.xlsx" in page and "年度" in page
    response = demo_client.get("/funding/scores/template.xlsx?year=2022&quarter=2")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("年度", "季度", "乡镇") and {r[1] for r in rows[1:]} == {2}
    whole_year = load_workbook(io.BytesIO(demo_client.get("/funding/scores/template.xlsx?year=2022").data)).active
    assert whole_year.max_row - 1 == 4 * (len(rows) - 1)
    assert demo_client.get("/funding/scores/template.xlsx?year=2022&quarter=5").status_code == 404

    content = xlsx([HEADER, [2022, 2, "小坝镇", None, 91]])
    assert "新增 1 条" in upload(demo_client, content, "s.xlsx").get_data(as_text=True)
    again = upload(demo_client, content, "s.xlsx")
    page = again.get_data(as_text=True)
    assert again.status_code == 422 and "第 2 行 小坝镇" in page and "已有得分" in page
    messages = re.findall(r'<span class="flash-text">(.*?)</span>', page, re.S)
    messages += re.findall(r'<ul class="error-list">(.*?)</ul>', page, re.S)
    assert messages and "已有得分" in "".join(messages) and "勾选“覆盖已有得分”" in "".join(messages)
    assert not any("--" in m for m in messages), messages  # the CLI's --replace is no word for the web
    assert db.session.scalar(select(func.count(QuarterScore.id))) == 1


def test_template_needs_the_finance_roles(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "town_office", town="640381100")
    assert demo_client.get("/funding/scores/template.xlsx?year=2022").status_code == 403
