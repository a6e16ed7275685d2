"""一路一档 as PDF (A4 portrait): the dict of ``services.road_file.road_file`` in sections,
with the embedded CJK font so ``pdftotext`` recovers the text, pages numbered
第 x 页 共 y 页 (the funding forms' canvas)."""

from __future__ import annotations

from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from roadchief.reports.fonts import register_cjk_font
from roadchief.reports.pdf_layout import _NumberedCanvas

GRID = colors.HexColor("#4d4d4d")
HEAD_FILL = colors.HexColor("#dce3ee")


def _styles(font: str) -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName=font, fontSize=17, leading=22, alignment=1, spaceAfter=4),
        "sub": ParagraphStyle(
            "sub", fontName=font, fontSize=9.5, leading=13, alignment=1, textColor=colors.HexColor("#444444")
        ),
        "h2": ParagraphStyle("h2", fontName=font, fontSize=12.5, leading=17, spaceBefore=8, spaceAfter=4),
        "body": ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13),
        "cell": ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11),
        "muted": ParagraphStyle("muted", fontName=font, fontSize=8.5, leading=11, textColor=colors.HexColor("#666666")),
    }


def _table(head: list[str], rows: list[list], widths: list[float], styles) -> Table:
    data = [[Paragraph(escape(h), styles["cell"]) for h in head]]
    data += [[Paragraph(escape("" if v is None else str(v)), styles["cell"]) for v in row] for row in rows]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                (
                    "FONT",
                    (0, 0),
                    (-1, -1),
                    styles["cell"].fontName,
                    8.5,
                ),  # the table default is a non-embedded Helvetica
                ("GRID", (0, 0), (-1, -1), 0.4, GRID),
                ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def _hours(value) -> str:
    return "" if value is None else f"{value:g} 小时"


def road_file_pdf(data: dict, generated: str = "") -> bytes:
    font = register_cjk_font()
    styles = _styles(font)
    out = BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=f"一路一档 {data['code']} {data['name']}",
        author="青铜峡市路长办公室",
    )
    story = [
        Paragraph("农村公路一路一档", styles["title"]),
        Paragraph(
            escape(
                f"{data['code']} {data['name']}（{data['road_class']}）{data['start']}—{data['end']}，"
                f"列养里程 {data['listed_km']} 公里" + (f"　生成时间 {generated}" if generated else "")
            ),
            styles["sub"],
        ),
    ]

    def section(title: str, head, rows, widths, empty: str):
        story.append(Paragraph(escape(title), styles["h2"]))
        story.append(_table(head, rows, widths, styles) if rows else Paragraph(escape(empty), styles["muted"]))

    section(
        "一、路段",
        ["桩号", "乡镇", "村", "公路站", "列养里程(km)", "技术等级", "路面"],
        [
            [
                s["stakes"],
                s["town"],
                s["village"],
                s["station"],
                s["listed_km"] if s["is_listed"] else f"{s['listed_km']}（不列养）",
                s["tech_grade"],
                s["surface"],
            ]
            for s in data["segments"]
        ],
        [34, 24, 26, 24, 26, 24, 24],
        "无路段",
    )
    section(
        "二、各级路长（任职记录）",
        ["职务", "姓名", "管辖范围", "职务/单位", "电话", "任职起止"],
        [
            [c["position_name"], c["name"], c["scope"], c["title"], c["phone"], f"{c['start']} 至 {c['end']}"]
            for c in data["chiefs"]
        ],
        [24, 18, 30, 42, 26, 42],
        "无路长任职记录",
    )
    section(
        "三、路产",
        ["编号", "类型", "名称", "路段", "桩号", "状况", "数量"],
        [
            [
                a["code"],
                a["kind"],
                a["name"],
                a["segment"],
                a["stake"] + (f"–{a['end_stake']}" if a["end_stake"] else ""),
                a["condition"],
                a["quantity"],
            ]
            for a in data["assets"]
        ],
        [26, 22, 36, 32, 30, 18, 18],
        "无路产登记",
    )
    section(
        "四、突发事件（先抢通，后修复）",
        ["类型/程度", "位置", "发生", "抢通", "修复", "历时", "警示与绕行"],
        [
            [
                f"{e['kind']}/{e['severity']}" + ("（中断）" if e["closed"] else ""),
                f"{e['segment']} {e['stake']}",
                e["occurred"],
                e["restored"] or "未抢通",
                e["repaired"] or "未修复",
                f"抢通 {_hours(e['hours_to_restore']) or '—'}；修复 {_hours(e['hours_to_repair']) or '—'}",
                "；".join(x for x in (e["warning_sign"], e["detour"] and f"绕行：{e['detour']}") if x),
            ]
            for e in data["events"]
        ],
        [22, 28, 24, 24, 24, 30, 30],
        "无突发事件记录",
    )
    section(
        "五、督查与巡查",
        ["时间", "类型", "检查人", "问题数", "备注"],
        [[i["when"], i["kind"], i["inspector"], i["findings"], i["note"]] for i in data["inspections"]],
        [30, 24, 30, 16, 82],
        "无检查记录",
    )
    section(
        "六、整改",
        ["检查时间", "路段", "问题", "数量", "状态", "期限"],
        [
            [
                r["when"],
                r["segment"],
                r["item"],
                r["quantity"],
                r["state"] + ("（逾期）" if r["late"] else ""),
                r["deadline"],
            ]
            for r in data["rectifications"]
        ],
        [28, 30, 66, 14, 24, 20],
        "无整改记录",
    )
    section(
        "七、考核得分",
        ["管养单位", "季度", "得分"],
        [[s["unit"], s["period"], s["score"]] for s in data["scores"]],
        [70, 60, 52],
        "暂无评分",
    )
    section(
        "八、资金（元）",
        ["年度", "管养单位拨付（含该单位其他道路）", "本路养护计划预算", "本路养护完成支出"],
        [[m["year"], m["unit_paid"], m["works_budget"], m["works_spent"]] for m in data["money"]],
        [24, 66, 46, 46],
        "暂无资金记录",
    )
    story.append(Spacer(1, 6 * mm))
    doc.build(story, canvasmaker=_NumberedCanvas)
    return out.getvalue()
