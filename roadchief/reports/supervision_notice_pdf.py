"""The 督办通知书 of one escalation (services.escalation.notice_data): A4, the CJK font embedded
and the pages numbered as the other office documents (reports.pdf_layout's canvas), the notice
number, the item, segment, chief, original and new deadline, and the 签发人/日期 signature line."""

from __future__ import annotations

from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from roadchief.reports.document_model import MEASURES
from roadchief.reports.fonts import register_cjk_font
from roadchief.reports.pdf_layout import _NumberedCanvas

__all__ = ["notice_pdf"]

GRID = colors.HexColor("#4d4d4d")
HEAD_FILL = colors.HexColor("#dce3ee")


def _styles(font: str) -> dict[str, ParagraphStyle]:
    body = ParagraphStyle("body", fontName=font, fontSize=11, leading=18, wordWrap="CJK", firstLineIndent=22)
    return {
        "title": ParagraphStyle(
            "title",
            parent=body,
            fontSize=20,
            leading=30,
            alignment=TA_CENTER,
            firstLineIndent=0,
            textColor=colors.HexColor("#b00000"),
        ),
        "number": ParagraphStyle("number", parent=body, alignment=TA_CENTER, firstLineIndent=0),
        "to": ParagraphStyle("to", parent=body, firstLineIndent=0, spaceBefore=10),
        "body": body,
        "cell": ParagraphStyle("cell", parent=body, fontSize=10, leading=14, firstLineIndent=0, alignment=TA_LEFT),
        "sign": ParagraphStyle("sign", parent=body, alignment=TA_RIGHT, firstLineIndent=0, spaceBefore=6),
    }


def _facts(rows: list[tuple[str, str]], styles: dict, width: float) -> Table:
    data = [[Paragraph(escape(k), styles["cell"]), Paragraph(escape(v), styles["cell"])] for k, v in rows]
    return Table(
        data,
        colWidths=[width * 0.26, width * 0.74],
        hAlign="LEFT",
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), styles["cell"].fontName, 10),  # else a non-embedded Helvetica
                ("GRID", (0, 0), (-1, -1), 0.5, GRID),
                ("BACKGROUND", (0, 0), (0, -1), HEAD_FILL),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        ),
    )


def notice_pdf(data: dict) -> bytes:
    """``data``: number, issuer, recipient, item, quantity, segment, chief, source, found_on,
    original_deadline, previous_deadline, new_deadline, level, escalated_at, basis."""
    font = register_cjk_font()
    styles = _styles(font)
    buf = BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=f"督办通知书 {data['number']}",
        author=data["issuer"],
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
    )
    width = doc.width
    text = (
        f"经督查，{data['segment']}存在“{data['item']}”问题（{data['quantity']}），责任路长{data['chief']}"
        f"未在整改期限 {data['previous_deadline']} 前完成整改。依据{MEASURES}{data['basis']}，"
        f"现予督办。请于 {data['new_deadline']} 前组织完成整改，上传整改后照片，"
        f"并将整改情况报{data['issuer']}。逾期仍未整改的，将继续向上级路长办公室督办，并按扣分标准计入考核。"
    )
    facts = [
        ("督办编号", data["number"]),
        ("问题（扣分项）", f"{data['item']}（{data['quantity']}）"),
        ("路段", data["segment"]),
        ("责任路长", data["chief"]),
        ("问题来源", f"{data['source']}，{data['found_on']}"),
        ("原整改期限", data["original_deadline"]),
        ("本次督办前期限", data["previous_deadline"]),
        ("督办后整改期限", data["new_deadline"]),
        ("督办级别", data["level"]),
        ("督办时间", data["escalated_at"]),
    ]
    story = [
        Paragraph("督办通知书", styles["title"]),
        Paragraph(escape(data["number"]), styles["number"]),
        Spacer(0, 4),
        Paragraph(escape(f"{data['recipient']}："), styles["to"]),
        Paragraph(escape(text), styles["body"]),
        Spacer(0, 8),
        _facts(facts, styles, width),
        Spacer(0, 18),
        KeepTogether(
            [
                Paragraph(escape(f"签发单位：{data['issuer']}"), styles["sign"]),
                Paragraph("签发人：________________　　日期：______年____月____日", styles["sign"]),
            ]
        ),
    ]
    doc.build(story, canvasmaker=_NumberedCanvas)
    return buf.getvalue()
