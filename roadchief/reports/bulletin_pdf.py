"""The quarterly 通报 as PDF and XLSX, and the half-year / year-end rankings as XLSX
(第二十一条 一季度一通报，半年一评比，年终一汇总考评; layouts in docs/office-formats.md).

Input is the dict of ``services.assessment.bulletin`` / ``ranking``; scores arrive as
two-decimal strings and are printed as given (grades were taken on those very figures).
The PDF embeds the CJK font (reports.fonts) and numbers its pages 第 x 页 共 y 页 like
the funding forms (their canvas is reused).
"""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from xml.sax.saxutils import escape

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from roadchief.reports.fonts import register_cjk_font
from roadchief.reports.pdf_layout import _NumberedCanvas
from roadchief.reports.xlsx_cells import row_cells
from roadchief.reports.xlsx_style import finish_workbook

__all__ = ["bulletin_pdf", "bulletin_xlsx", "ranking_xlsx", "overview_text"]

RANK_HEAD = ("排名", "乡镇 / 村", "路长", "得分", "等级")
NUMERALS = "一二三四五六七八九十"
GRID = colors.HexColor("#4d4d4d")
HEAD_FILL = colors.HexColor("#dce3ee")


def overview_text(data: dict) -> str:
    """一、总体情况 in one paragraph (also shown on the page)."""
    o = data["overview"]
    grades = o["grades"]
    text = (
        f"本季度{data['issuer']}共开展督查 {o['inspections']} 次，检查路段 {o['segments']} 个、{o['km']} 公里，"
        f"发现问题 {o['findings']} 处。考核路长 {o['chiefs']} 名，有得分 {o['scored']} 名，"
        f"其中优 {grades['优']} 名、良 {grades['良']} 名、一般 {grades['一般']} 名"
    )
    text += f"，平均得分 {o['average']} 分。" if o["average"] else "。"
    if o["overdue_charges"]:
        text += f"本季度因整改逾期扣分 {o['overdue_charges']} 次。"
    return text


def _gap_text(gap: dict, missing: str = " 无督查") -> str:
    """A chief's 一月一督查 gaps: months without a 督查, and months whose only 督查 are
    desk-inspection suspects (第二十一条; services.chief_scores.desk_only_months)."""
    parts = []
    if gap["months"]:
        parts.append("、".join(gap["months"]) + missing)
    if gap.get("desk_months"):
        parts.append("、".join(gap["desk_months"]) + " 仅有案头检查嫌疑的督查")
    return "；".join(parts)


def _status(data: dict) -> str:
    return "已定稿" if data["finalised"] else "草稿（未定稿，得分可能变动）"


# ------------------------------------------------------------------ PDF


def _styles(font: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=font, fontSize=10.5, leading=16, wordWrap="CJK", firstLineIndent=21)
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=16, leading=24, alignment=TA_CENTER, firstLineIndent=0),
        "meta": ParagraphStyle(
            "meta",
            parent=body,
            fontSize=9.5,
            alignment=TA_CENTER,
            firstLineIndent=0,
            textColor=colors.HexColor("#555555"),
        ),
        "h1": ParagraphStyle("h1", parent=body, fontSize=12, leading=20, spaceBefore=8, firstLineIndent=0),
        "h2": ParagraphStyle("h2", parent=body, fontSize=10.5, leading=18, spaceBefore=4, firstLineIndent=21),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=9.5, leading=12, firstLineIndent=0),
        "cell_r": ParagraphStyle(
            "cell_r", parent=body, fontSize=9.5, leading=12, firstLineIndent=0, alignment=TA_RIGHT
        ),
        "sign": ParagraphStyle("sign", parent=body, alignment=TA_RIGHT, spaceBefore=18, firstLineIndent=0),
    }


def _table(head, rows, widths, styles, right=()) -> Table:
    data = [[Paragraph(escape(h), styles["cell"]) for h in head]]
    for row in rows:
        data.append(
            [
                Paragraph(escape("" if v is None else str(v)), styles["cell_r" if i in right else "cell"])
                for i, v in enumerate(row)
            ]
        )
    total = sum(widths)
    width = A4[0] - 36 * mm
    return Table(
        data,
        colWidths=[w * width / total for w in widths],
        repeatRows=1,
        hAlign="LEFT",
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), styles["cell"].fontName, 9.5),  # else a non-embedded Helvetica
                ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
            ]
        ),
    )


def _rank_rows(level: dict) -> list[tuple]:
    return [
        (
            r["rank"] or "—",
            r["unit_name"],
            f"{r['chief']}·{r['title']}" if r["title"] else r["chief"],
            r["score"] or "无得分",
            r["grade"] or "—",
        )
        for r in level["rows"]
    ]


def bulletin_pdf(data: dict) -> bytes:
    font = register_cjk_font()
    styles = _styles(font)
    buf = BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=data["title"],
        author=data["issuer"],
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    p = lambda text, style="body": Paragraph(escape(text), styles[style])  # noqa: E731
    story = [
        p(data["title"], "title"),
        p(f"{data['issuer']}　{data['date']}　【{_status(data)}】", "meta"),
        Spacer(0, 6),
        p("一、总体情况", "h1"),
        p(overview_text(data)),
        p("二、考核排名", "h1"),
    ]
    for n, level in enumerate(data["levels"]):
        story.append(p(f"（{NUMERALS[n]}）{level['name']}", "h2"))
        if level["rows"]:
            story.append(_table(RANK_HEAD, _rank_rows(level), (10, 34, 34, 12, 10), styles, right=(3,)))
        else:
            story.append(p("本季度无考核对象。"))
    story.append(p("三、存在问题", "h1"))
    story.append(p("（一）突出问题", "h2"))
    if data["problems"]:
        story.append(
            _table(
                ("序号", "类别", "问题", "次数", "数量"),
                [
                    (i, x["category"], x["text"], x["count"], f"{x['quantity']} {x['unit']}")
                    for i, x in enumerate(data["problems"], 1)
                ],
                (8, 14, 52, 10, 16),
                styles,
                right=(3, 4),
            )
        )
    else:
        story.append(p("本季度督查未发现问题。"))
    story.append(p("（二）整改逾期", "h2"))
    if data["overdue"]:
        story.append(
            _table(
                ("责任路长", "问题", "路段", "整改期限", "逾期天数"),
                [(x["chief"], x["item"], x["segment"], x["deadline"], x["days"]) for x in data["overdue"]],
                (14, 28, 33, 14, 11),
                styles,
                right=(4,),
            )
        )
    else:
        story.append(p("无逾期未整改问题。"))
    story.append(p("（三）未落实“一月一督查”的月份", "h2"))  # 第二十一条
    if data["gaps"]:
        story += [p(f"{g['unit_name']} {g['chief']}（{g['level_name']}）：{_gap_text(g)}。") for g in data["gaps"]]
    else:
        story.append(p("各月均已督查。"))
    story.append(p("（四）汛期、冬季巡查未落实（第十三条）", "h2"))
    if data.get("duty"):
        story.append(
            _table(
                ("责任路长", "单位", "月份", "扣分项", "扣分", "原因"),
                [(d["chief"], d["unit_name"], d["month"], d["code"], d["points"], d["reason"]) for d in data["duty"]],
                (12, 16, 10, 9, 8, 45),
                styles,
                right=(4,),
            )
        )
    else:
        story.append(p("无汛期、冬季巡查缺失。"))
    story.append(p("四、下步工作要求", "h1"))
    story += [p(f"{i}. {line}") for i, line in enumerate(data["requirements"], 1)]
    story.append(p(f"{data['issuer']}　{data['date']}", "sign"))

    def decorate(canvas, template):
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(template.leftMargin, 8 * mm, data["issuer"])
        canvas.drawRightString(A4[0] - template.rightMargin, 8 * mm, _status(data))
        canvas.restoreState()

    doc.build(story, onFirstPage=decorate, onLaterPages=decorate, canvasmaker=_NumberedCanvas)
    return buf.getvalue()


# ------------------------------------------------------------------ XLSX

_BOLD = Font(bold=True)
_HEAD = PatternFill("solid", fgColor="DCE3EE")


def _score(value):
    return Decimal(value) if value not in (None, "") else None


def _sheet(wb: Workbook, title: str, caption: str, head: tuple, rows: list, scores=(), first=False):
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append(row_cells(ws, [caption]))
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(head))
    ws.cell(1, 1).font = Font(bold=True, size=13)
    ws.cell(1, 1).alignment = Alignment(horizontal="center")
    ws.append(list(head))
    for cell in ws[2]:
        cell.font, cell.fill = _BOLD, _HEAD
    for row in rows:
        ws.append(row_cells(ws, row))  # names and notes as literal text, scores exact
        for col in scores:
            ws.cell(ws.max_row, col + 1).number_format = "0.00"
    for i, label in enumerate(head, 1):
        ws.column_dimensions[get_column_letter(i)].width = max(8, min(40, 2.2 * len(label) + 4))
    ws.freeze_panes = "A3"
    return ws


def _bytes(wb: Workbook) -> bytes:
    # CJK font, A4 one page wide, the caption and header rows repeated on every printed page
    finish_workbook(wb, {ws.title: "1:2" for ws in wb.worksheets})
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()


def bulletin_xlsx(data: dict) -> bytes:
    wb = Workbook()
    rows = [
        (
            lv["name"],
            r["rank"],
            r["unit_name"],
            r["chief"],
            r["title"],
            _score(r["score"]),
            r["grade"],
            r["deduction"],
            "、".join(r["gaps"]),
        )
        for lv in data["levels"]
        for r in lv["rows"]
    ]
    _sheet(
        wb,
        "考核排名",
        f"{data['title']}（{_status(data)}）",
        ("层级", "排名", "乡镇 / 村", "路长", "职务", "得分", "等级", "扣分合计", "未督查月份"),
        rows,
        scores=(5,),
        first=True,
    )
    _sheet(
        wb,
        "突出问题",
        "存在问题：突出问题",
        ("编号", "类别", "问题", "次数", "数量", "单位"),
        [(x["code"], x["category"], x["text"], x["count"], x["quantity"], x["unit"]) for x in data["problems"]],
    )
    _sheet(
        wb,
        "整改逾期",
        "存在问题：整改逾期",
        ("责任路长", "问题", "路段", "整改期限", "逾期天数"),
        [(x["chief"], x["item"], x["segment"], x["deadline"], x["days"]) for x in data["overdue"]],
    )
    _sheet(
        wb,
        "未督查月份",
        "存在问题：未落实一月一督查",
        ("层级", "乡镇 / 村", "路长", "未督查月份"),
        [(g["level_name"], g["unit_name"], g["chief"], _gap_text(g, "")) for g in data["gaps"]],
    )
    _sheet(
        wb,
        "汛期冬季巡查",
        "存在问题：汛期、冬季巡查未落实（第十三条）",
        ("责任路长", "单位", "月份", "扣分项", "扣分", "原因"),
        [(d["chief"], d["unit_name"], d["month"], d["code"], d["points"], d["reason"]) for d in data.get("duty", [])],
    )
    return _bytes(wb)


def ranking_xlsx(data: dict) -> bytes:
    """半年评比 / 年终考评结果: 排名, 单位, 路长, the quarters, the period score, 等级 (and, for the
    year, 以奖代补 / 扣减 from the funding settlement)."""
    wb = Workbook()
    quarters = [f"{NUMERALS[q - 1]}季度" for q in data["quarters"]]
    year_end = data["period"] == "Y"
    head = (
        "层级",
        "排名",
        "单位",
        "路长",
        *quarters,
        "年度得分" if year_end else f"{data['period_name']}得分",
        "等级",
    ) + (("以奖代补 / 扣减 (元)",) if year_end else ())
    rows = []
    for level in data["levels"]:
        for r in level["rows"]:
            row = (
                level["name"],
                r["rank"],
                r["unit_name"],
                r["chief"],
                *[_score(s) for s in r["quarters"]],
                _score(r["score"]),
                r["grade"],
            )
            rows.append(row + ((r["money"] or "",) if year_end else ()))
    _sheet(
        wb,
        "考评结果",
        f"{data['title']}（{data['issuer']}）",
        head,
        rows,
        scores=tuple(range(4, 5 + len(quarters))),
        first=True,
    )
    return _bytes(wb)
