"""Rendering a funding :class:`~roadchief.reports.document_model.Document` to PDF with reportlab:
the A4 page template, grid tables and heading, the draft mark, the running footer and the
"第 x 页 共 y 页" canvas (also used by the other PDFs)."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from roadchief.reports.document_model import KM, MONEY, Document, Grid
from roadchief.reports.fonts import register_cjk_font

# --------------------------------------------------------------------------- PDF rendering

HEADER_FILL = colors.HexColor("#DCE3EE")
FILLS = {
    "subtotal": colors.HexColor("#F1F1F1"),
    "total": colors.HexColor("#DEDEDE"),
    "section": colors.HexColor("#EEF2F8"),
}
GRID_COLOUR = colors.HexColor("#4D4D4D")
DRAFT_RED = colors.HexColor("#C0392B")
APPROVED_GREEN = colors.HexColor("#1E6B3A")
_ALIGN = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}
CELL_PADDING = 3


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=9, leading=11.5, wordWrap="CJK")

    def make(name: str, **kw) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base, **kw)

    styles = {a: make(a, alignment=v) for a, v in _ALIGN.items()}
    styles.update(
        child=make("child", leftIndent=9),
        head=make("head", alignment=TA_CENTER),
        title=make("title", fontSize=16, leading=22, alignment=TA_CENTER, spaceAfter=4),
        meta=make("meta", fontSize=9.5),
        meta_c=make("meta_c", fontSize=9.5, alignment=TA_CENTER),
        meta_r=make("meta_r", fontSize=9.5, alignment=TA_RIGHT),
        draft=make("draft", fontSize=10, alignment=TA_CENTER, textColor=DRAFT_RED),
        approved=make("approved", fontSize=10, alignment=TA_CENTER, textColor=APPROVED_GREEN),
        note=make("note", fontSize=9, spaceBefore=2),
        capital=make("capital", fontSize=10.5, leading=14, spaceBefore=6),
        signature=make("signature", fontSize=10.5, leading=14, spaceBefore=18),
    )
    return styles


def _cell_text(value, kind: str) -> str:
    if isinstance(value, Decimal):
        return f"{value:,.3f}" if kind == KM else f"{value:,.2f}" if kind == MONEY else f"{value:.2f}"
    return "" if value is None else str(value)


def _grid_table(grid: Grid, styles: dict, width: float) -> Table:
    cols = grid.columns
    head_rows = 2 if grid.groups else 1
    # "镇道里程(km)": break before the unit rather than inside it
    header = [
        [Paragraph(escape(c.label).replace("(", "<br/>("), styles["head"]) for c in cols] for _ in range(head_rows)
    ]
    commands = [
        ("FONT", (0, 0), (-1, -1), styles["left"].fontName, 9),  # table default is Helvetica
        ("GRID", (0, 0), (-1, -1), 0.5, GRID_COLOUR),
        ("BOX", (0, 0), (-1, -1), 1, GRID_COLOUR),
        ("BACKGROUND", (0, 0), (-1, head_rows - 1), HEADER_FILL),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
        ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
        ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
    ]
    if grid.groups:
        grouped = set()
        for first, last, label in grid.groups:
            header[0][first] = Paragraph(escape(label), styles["head"])  # group band: one line
            commands.append(("SPAN", (first, 0), (last, 0)))
            grouped.update(range(first, last + 1))
        commands += [("SPAN", (c, 0), (c, 1)) for c in range(len(cols)) if c not in grouped]
    scale = width / sum(c.width for c in cols)
    widths = [c.width * scale for c in cols]
    # A cell whose text fits on one line is a plain string (drawn like the Paragraph it replaces:
    # same font, size, leading and alignment): breaking thousands of one-line Paragraphs into lines
    # was most of the time of a province's PDF (issue #15). Longer text stays a wrapping Paragraph.
    font, size, leading = styles["left"].fontName, styles["left"].fontSize, styles["left"].leading
    room = [w - CELL_PADDING * 2 - 0.5 for w in widths]

    def fits(text: str, space: float) -> bool:
        return "\n" not in text and stringWidth(text, font, size) <= space

    commands[0] = ("FONT", (0, 0), (-1, -1), font, size, leading)  # table default is Helvetica
    commands += [
        ("ALIGN", (i, head_rows), (i, -1), c.alignment.upper()) for i, c in enumerate(cols) if c.alignment != "left"
    ]
    data = header
    for r, row in enumerate(grid.rows, head_rows):
        if row.style == "section":
            data.append([Paragraph(escape(row.cells[0]), styles["left"])] + [""] * (len(cols) - 1))
            commands.append(("SPAN", (0, r), (-1, r)))
        else:
            cells = []
            for i, (v, c) in enumerate(zip(row.cells, cols)):
                text = _cell_text(v, c.kind)
                style = styles["child" if row.style == "child" and i == grid.label_col else c.alignment]
                if style.leftIndent == 0 and fits(text, room[i]):
                    cells.append(text)  # one line: drawn as a string, without a Paragraph's line breaking
                else:
                    cells.append(Paragraph(escape(text), style))
            data.append(cells)
        if row.style in FILLS:
            commands.append(("BACKGROUND", (0, r), (-1, r), FILLS[row.style]))
        if row.style == "total":
            commands.append(("LINEABOVE", (0, r), (-1, r), 1, GRID_COLOUR))
    return Table(data, colWidths=widths, repeatRows=head_rows, style=TableStyle(commands), hAlign="LEFT")


def _heading(doc: Document, styles: dict, width: float) -> list:
    meta = Table(
        [
            [
                Paragraph(escape(f"编制单位：{doc.issuer}"), styles["meta"]),
                Paragraph("单位：元", styles["meta_c"]),
                Paragraph(escape(f"日期：{doc.date_text}"), styles["meta_r"]),
            ]
        ],
        colWidths=[width * 0.45, width * 0.2, width * 0.35],
        style=TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), styles["meta"].fontName, 9),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
            ]
        ),
    )
    flow = [Paragraph(escape(doc.title), styles["title"])]
    if doc.status:
        flow.append(Paragraph(escape(f"【{doc.status}】"), styles["draft" if doc.draft else "approved"]))
    return flow + [Spacer(0, 3), meta, Spacer(0, 3)]


class _NumberedCanvas(Canvas):
    """Holds every page until save() so each can print 第 x 页 共 y 页."""

    def __init__(self, *args, **kwargs):
        kwargs["initialFontName"] = register_cjk_font()  # else a non-embedded Helvetica is referenced
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        font, size = register_cjk_font(), 9
        for number, state in enumerate(self._pages, 1):
            self.__dict__.update(state)
            self.setFont(font, size)
            self.setFillColor(colors.HexColor("#333333"))
            # words drawn apart (not with a space glyph) so text extraction keeps the gaps
            words = ["第", str(number), "页", "共", str(total), "页"]
            gap = size * 0.45
            x = (self._pagesize[0] - sum(self.stringWidth(w, font, size) for w in words) - gap * 5) / 2
            for word in words:
                self.drawString(x, 8 * mm, word)
                x += self.stringWidth(word, font, size) + gap
            super().showPage()
        super().save()


def _page_decoration(doc: Document, font: str):
    def decorate(canvas: Canvas, template) -> None:
        w, h = canvas._pagesize
        canvas.saveState()
        if doc.draft:  # a visible draft mark on every page, under the content
            canvas.setFillColor(colors.HexColor("#F8DDD9"))
            canvas.setFont(font, 64)
            canvas.translate(w / 2, h / 2)
            canvas.rotate(28)
            canvas.drawCentredString(0, -20, "草稿（未审定）")
            canvas.rotate(-28)
            canvas.translate(-w / 2, -h / 2)
        canvas.setFont(font, 8)
        canvas.setFillColor(colors.HexColor("#666666"))
        if canvas.getPageNumber() > 1:
            canvas.drawString(template.leftMargin, h - 9 * mm, f"{doc.title}（续）")
        if doc.status:
            canvas.drawRightString(w - template.rightMargin, 8 * mm, doc.status)
        canvas.drawString(template.leftMargin, 8 * mm, doc.issuer)
        canvas.restoreState()

    return decorate


def render_pdf(doc: Document) -> bytes:
    """Render a funding :class:`Document` to PDF bytes (A4, CJK font embedded)."""
    font = register_cjk_font()
    styles = _styles(font)
    buf = BytesIO()
    template = SimpleDocTemplate(
        buf,
        pagesize=landscape(A4) if doc.wide else A4,
        title=doc.title,
        author=doc.issuer,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=13 * mm,
        bottomMargin=15 * mm,
    )
    width = template.width
    story = _heading(doc, styles, width)
    tail: list = []
    for block in doc.blocks:
        if isinstance(block, Grid):
            if tail:
                story.append(KeepTogether(tail))
                tail = []
            story += [Spacer(0, 4), _grid_table(block, styles, width if block.label_col else width * 0.75)]
        else:
            tail.append(Paragraph(escape(block.text), styles[block.style]))
    story.append(KeepTogether(tail))
    decorate = _page_decoration(doc, font)
    template.build(story, onFirstPage=decorate, onLaterPages=decorate, canvasmaker=_NumberedCanvas)
    return buf.getvalue()
