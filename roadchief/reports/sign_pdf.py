"""路长公示牌 as PDF, A4 or A3 landscape, for the physical roadside sign (第七条).

Layout per ``docs/office-formats.md``: heading 农村公路路长公示牌; 路线名称, 路线编码,
起点—止点 (桩号), 里程; each level's 路长 with 姓名, 职务, 联系电话; 路长职责;
管护目标 畅、安、舒、美; 监督电话; a QR code to the public page with 扫码查看 / 问题反馈.

Everything is laid out on an A4-landscape grid in millimetres and the A3 page is
the same drawing scaled by √2, so both print alike, only bigger. Text uses the
embedded WenQuanYi font (``register_cjk_font``); the QR code is drawn as vector
squares from segno's matrix so it stays sharp at any print size. The latest grade
is not printed: a posted sign outlives a quarter's score (the web page shows it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A3, A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from roadchief.reports.fonts import register_cjk_font
from roadchief.services.signs import CARE_GOAL, SIGN_TITLE, Sign, qr_code

SIZES = {"A4": landscape(A4), "A3": landscape(A3)}
BLUE = colors.HexColor("#0b4f9c")
RED = colors.HexColor("#c8102e")
INK = colors.HexColor("#111111")
GRID = colors.HexColor("#7f9cc4")
PALE = colors.HexColor("#e8f0fa")

PAGE_W, PAGE_H = 297.0, 210.0  # drawing units: A4 landscape millimetres
MARGIN = 7.0
HEADER_H = 24.0
LEFT_X = 14.0
LEFT_W = 196.0
RIGHT_X = 218.0
RIGHT_W = 65.0
FOOTER_Y = 12.0  # baseline of the footer line
ISSUER = "青铜峡市路长办公室"
_TOKEN = re.compile(r"[A-Za-z0-9+.\-_/:@%?=&#]+|\s+|.", re.S)
_NO_LINE_START = set("，。、；：！？）》”’,.;:!?)")


class _Pen:
    """Canvas drawing in A4 millimetres, y downwards from the top of the page."""

    def __init__(self, canvas: Canvas, font: str):
        self.c = canvas
        self.font = font

    def y(self, top: float) -> float:
        return (PAGE_H - top) * mm

    def text(
        self, x: float, top: float, text: str, size: float, color=INK, bold: bool = False, align: str = "left"
    ) -> None:
        c = self.c
        c.saveState()
        c.setFillColor(color)
        c.setStrokeColor(color)
        text_obj = c.beginText()
        text_obj.setFont(self.font, size)
        if bold:  # the font has no bold face: fill and stroke thicken the strokes
            text_obj.setTextRenderMode(2)
            c.setLineWidth(size * 0.035)
        width = stringWidth(text, self.font, size)
        if align == "center":
            x_pt = x * mm - width / 2
        elif align == "right":
            x_pt = x * mm - width
        else:
            x_pt = x * mm
        text_obj.setTextOrigin(x_pt, self.y(top))
        text_obj.textOut(text)
        c.drawText(text_obj)
        c.restoreState()

    def width(self, text: str, size: float) -> float:
        return stringWidth(text, self.font, size) / mm

    def wrap(self, text: str, size: float, width: float) -> list[str]:
        """Lines no wider than width (mm): Chinese breaks between any two characters,
        Latin words and stakes (K12+345) only at their ends, and no line starts with
        closing punctuation."""
        lines: list[str] = []
        line = ""
        for token in _TOKEN.findall(text):
            candidate = line + token
            if line.strip() and self.width(candidate.rstrip(), size) > width and token not in _NO_LINE_START:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line = candidate
            while self.width(line, size) > width and len(line) > 1 and _TOKEN.fullmatch(line.strip() or " "):
                cut = len(line) - 1  # one word wider than the column: break it
                while cut > 1 and self.width(line[:cut], size) > width:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        if line.strip() or not lines:
            lines.append(line.rstrip())
        return lines

    def rect(
        self, x: float, top: float, w: float, h: float, fill=None, stroke=None, line: float = 0.3, radius: float = 0
    ) -> None:
        c = self.c
        c.saveState()
        if fill is not None:
            c.setFillColor(fill)
        if stroke is not None:
            c.setStrokeColor(stroke)
            c.setLineWidth(line * mm)
        args = (x * mm, self.y(top + h), w * mm, h * mm)
        if radius:
            c.roundRect(*args, radius * mm, stroke=int(stroke is not None), fill=int(fill is not None))
        else:
            c.rect(*args, stroke=int(stroke is not None), fill=int(fill is not None))
        c.restoreState()

    def line(self, x1: float, top1: float, x2: float, top2: float, color=GRID, width: float = 0.3) -> None:
        c = self.c
        c.saveState()
        c.setStrokeColor(color)
        c.setLineWidth(width * mm)
        c.line(x1 * mm, self.y(top1), x2 * mm, self.y(top2))
        c.restoreState()


def _draw_qr(pen: _Pen, url: str, x: float, top: float, size: float) -> None:
    """QR code as black squares (runs merged per row) on a white quiet zone."""
    qr = qr_code(url)
    matrix = [list(row) for row in qr.matrix]
    border = 2
    modules = len(matrix) + 2 * border
    cell = size / modules
    pen.rect(x, top, size, size, fill=colors.white)
    c = pen.c
    c.saveState()
    c.setFillColor(colors.black)
    for r, row in enumerate(matrix):
        col = 0
        while col < len(row):
            if row[col]:
                start = col
                while col < len(row) and row[col]:
                    col += 1
                left = x + (start + border) * cell
                row_top = top + (r + border) * cell
                # a hair of overlap keeps printers from leaving white seams between modules
                c.rect(
                    left * mm,
                    pen.y(row_top + cell) - 0.05,
                    (col - start) * cell * mm + 0.05,
                    cell * mm + 0.1,
                    stroke=0,
                    fill=1,
                )
            else:
                col += 1
    c.restoreState()


class _Layout:
    """Font sizes of the left column at a scale, and the height they need."""

    def __init__(self, pen: _Pen, sign: Sign, scale: float):
        self.pen, self.sign, self.k = pen, sign, scale
        self.field_size = 17 * scale
        self.table_size = 15 * scale
        self.duty_size = 12 * scale
        self.goal_size = 19 * scale
        rows = sign.chief_rows
        self.partial = any(r.stakes for r in rows)
        self.values = [self._values(r) for r in rows]
        self.columns = self._columns()
        self.rows = [self._cells(v) for v in self.values]
        self.line_h = self.table_size * 0.3528 * 1.35  # pt → mm, with leading
        self.duties = [pen.wrap(f"{name}：{text}", self.duty_size, LEFT_W) for name, text in sign.duties]
        self.field_rows = self._field_rows()

    def _values(self, row) -> list[str]:
        values = [row.chief.position_name, row.chief.name, row.chief.title or "—", row.chief.phone or "—"]
        if self.partial:
            values.append((row.stakes or "全线").replace("、", "、\n"))
        return values

    def _columns(self) -> list[tuple[str, float]]:
        """Each column as wide as its widest cell; when they do not all fit, 职务 and
        负责路段 give up width and wrap. Spare width goes to every column."""
        labels = ["路长类别", "姓名", "职务", "联系电话"] + (["负责路段"] if self.partial else [])
        pad = 3.5
        natural = []
        for i, label in enumerate(labels):
            texts = [label] + [part for v in self.values for part in v[i].split("\n")]
            natural.append(max(self.pen.width(t, self.table_size) for t in texts) + pad)
        total = sum(natural)
        if total <= LEFT_W:
            extra = (LEFT_W - total) / len(natural)
            widths = [w + extra for w in natural]
        else:
            flexible = [i for i, label in enumerate(labels) if label in ("职务", "负责路段")]
            fixed = sum(w for i, w in enumerate(natural) if i not in flexible)
            room = max(LEFT_W - fixed, 20 * len(flexible))
            flex_total = sum(natural[i] for i in flexible)
            widths = [natural[i] * room / flex_total if i in flexible else natural[i] for i in range(len(labels))]
            scale = LEFT_W / sum(widths)  # only when even the fixed columns overflow
            widths = [w * min(1.0, scale) for w in widths]
        return list(zip(labels, widths))

    def _cells(self, values: list[str]) -> list[list[str]]:
        cells = []
        for (_label, width), value in zip(self.columns, values):
            lines: list[str] = []
            for part in value.split("\n"):
                lines.extend(self.pen.wrap(part, self.table_size, width - 3))
            cells.append(lines)
        return cells

    def row_height(self, cells) -> float:
        return max(len(c) for c in cells) * self.line_h + 3.2 * self.k

    def _field_rows(self) -> list[list[tuple[float, str, str]]]:
        """Lines of (x offset, label, value): two fields share a line when both fit."""
        pen, fs, sign = self.pen, self.field_size, self.sign
        rows: list[list[tuple[float, str, str]]] = []
        name_label = "路线名称："
        name_lines = pen.wrap(sign.name, fs, LEFT_W - pen.width(name_label, fs) - 1)
        rows.append([(0, name_label, name_lines[0])])
        if len(name_lines) > 1:
            rows.append([(pen.width(name_label, fs) + 1, "", "".join(name_lines[1:]))])
        pairs = [
            (("路线编码：", sign.code), ("行政等级：", sign.road_class)),
            (("起止桩号：", f"{sign.start_stake} — {sign.end_stake}"), ("里　　程：", f"{sign.listed_km} 公里")),
        ]
        for (l1, v1), (l2, v2) in pairs:
            w1, w2 = pen.width(l1 + v1, fs), pen.width(l2 + v2, fs)
            x2 = max(LEFT_W * 0.5, w1 + 8)
            if x2 + w2 <= LEFT_W:
                rows.append([(0, l1, v1), (x2, l2, v2)])
            else:
                rows.extend([[(0, l1, v1)], [(0, l2, v2)]])
        return rows

    def field_lines(self) -> int:
        return len(self.field_rows)

    def height(self) -> float:
        field_h = (self.field_lines() - 1) * self.field_size * 0.3528 * 1.75 + self.field_size * 0.3528 * 1.6
        head_h = self.line_h + 3.2 * self.k
        table_h = head_h + sum(self.row_height(cells) for cells in self.rows) if self.rows else head_h * 2
        duty_line = self.duty_size * 0.3528 * 1.4
        duties_h = duty_line * (1 + sum(len(d) for d in self.duties))
        goal_h = self.goal_size * 0.3528 * 1.8
        return field_h + 4 + table_h + 4 + duties_h + 3 + goal_h


def _draw_left(pen: _Pen, layout: _Layout, top: float) -> None:
    k = layout.k
    fs = layout.field_size
    step = fs * 0.3528 * 1.75
    label_color = BLUE

    y = top + fs * 0.3528
    for row in layout.field_rows:
        for x, label, value in row:
            if label:
                pen.text(LEFT_X + x, y, label, fs, label_color, bold=True)
            pen.text(LEFT_X + x + (pen.width(label, fs) + 1 if label else 0), y, value, fs)
        y += step
    y += -step + fs * 0.3528 * 0.6 + 4

    # chiefs table
    ts = layout.table_size
    head_h = layout.line_h + 3.2 * k
    pen.rect(LEFT_X, y, LEFT_W, head_h, fill=BLUE)
    x = LEFT_X
    for label, width in layout.columns:
        pen.text(x + width / 2, y + head_h / 2 + ts * 0.3528 * 0.38, label, ts, colors.white, bold=True, align="center")
        x += width
    y += head_h
    table_top = y - head_h
    if not layout.rows:
        pen.text(LEFT_X + LEFT_W / 2, y + head_h / 2 + ts * 0.13, "路长信息待公布", ts, align="center")
        y += head_h
    for i, cells in enumerate(layout.rows):
        h = layout.row_height(cells)
        if i % 2:
            pen.rect(LEFT_X, y, LEFT_W, h, fill=PALE)
        x = LEFT_X
        for (label, width), lines in zip(layout.columns, cells):
            first = y + 1.6 * k + ts * 0.3528 * 0.95
            for n, text in enumerate(lines):
                pen.text(x + 1.5, first + n * layout.line_h, text, ts, bold=(label == "姓名"))
            x += width
        y += h
        pen.line(LEFT_X, y, LEFT_X + LEFT_W, y)
    pen.rect(LEFT_X, table_top, LEFT_W, y - table_top, stroke=BLUE, line=0.5)
    x = LEFT_X
    for _, width in layout.columns[:-1]:
        x += width
        pen.line(x, table_top + head_h, x, y)
    y += 4

    # duties (第六条)
    ds = layout.duty_size
    duty_line = ds * 0.3528 * 1.4
    y += ds * 0.3528
    pen.text(LEFT_X, y, "路长职责", ds * 1.08, BLUE, bold=True)
    for lines in layout.duties:
        for text in lines:
            y += duty_line
            pen.text(LEFT_X, y, text, ds)
    y += 3 + layout.goal_size * 0.3528 * 1.2
    pen.text(LEFT_X, y, "管护目标：", layout.goal_size, BLUE, bold=True)
    pen.text(LEFT_X + pen.width("管护目标：", layout.goal_size) + 1, y, CARE_GOAL, layout.goal_size, RED, bold=True)


def _draw_right(pen: _Pen, sign: Sign, top: float) -> None:
    centre = RIGHT_X + RIGHT_W / 2
    qr_size = RIGHT_W - 3
    pen.rect(RIGHT_X, top, RIGHT_W, qr_size + 26, stroke=BLUE, line=0.6, radius=2)
    _draw_qr(pen, sign.url, RIGHT_X + 1.5, top + 1.5, qr_size)
    pen.text(centre, top + qr_size + 10, "扫码查看 / 问题反馈", 15, BLUE, bold=True, align="center")
    pen.text(centre, top + qr_size + 18, "微信、浏览器扫一扫", 10, INK, align="center")

    box_top = top + qr_size + 32
    pen.rect(RIGHT_X, box_top, RIGHT_W, 34, fill=RED, radius=2)
    pen.text(centre, box_top + 11, "监督电话", 17, colors.white, bold=True, align="center")
    phone = sign.supervision_phone
    size = 24
    while pen.width(phone, size) > RIGHT_W - 4 and size > 12:
        size -= 1
    pen.text(centre, box_top + 25, phone, size, colors.white, bold=True, align="center")


def _draw_page(canvas: Canvas, font: str, sign: Sign, page_size) -> None:
    scale = page_size[0] / (PAGE_W * mm)
    canvas.saveState()
    canvas.scale(scale, scale)
    pen = _Pen(canvas, font)
    # frame and heading band
    pen.rect(MARGIN, MARGIN, PAGE_W - 2 * MARGIN, PAGE_H - 2 * MARGIN, stroke=BLUE, line=1.6, radius=3)
    pen.rect(MARGIN, MARGIN, PAGE_W - 2 * MARGIN, HEADER_H, fill=BLUE, radius=3)
    pen.rect(MARGIN, MARGIN + HEADER_H - 4, PAGE_W - 2 * MARGIN, 4, fill=BLUE)
    pen.text(PAGE_W / 2, MARGIN + HEADER_H / 2 + 5.2, SIGN_TITLE, 36, colors.white, bold=True, align="center")
    pen.text(PAGE_W - MARGIN - 5, MARGIN + HEADER_H - 3.5, "青铜峡市", 11, colors.white, align="right")

    top = MARGIN + HEADER_H + 6
    available = PAGE_H - MARGIN - 12 - top
    # the largest type that fits: few chiefs print bigger, a long road's many chiefs smaller
    scale_text = 1.4
    layout = _Layout(pen, sign, scale_text)
    while layout.height() > available and scale_text > 0.5:
        scale_text -= 0.05
        layout = _Layout(pen, sign, scale_text)
    _draw_left(pen, layout, top)
    _draw_right(pen, sign, top)

    where = f"{sign.segments[0].town.name}" if sign.kind == "segment" else sign.places
    footer = f"{ISSUER}  设立    途经：{where}" if where else f"{ISSUER}  设立"
    lines = pen.wrap(footer, 9, PAGE_W - 2 * MARGIN - 90)
    pen.text(LEFT_X, PAGE_H - FOOTER_Y, lines[0] + ("…" if len(lines) > 1 else ""), 9, colors.HexColor("#444444"))
    pen.text(PAGE_W - LEFT_X, PAGE_H - FOOTER_Y, sign.url, 8, colors.HexColor("#444444"), align="right")
    canvas.restoreState()


def signs_pdf(signs: Iterable[Sign], size: str = "A4", title: str = SIGN_TITLE) -> bytes:
    """One landscape page per sign."""
    page_size = SIZES.get(size.upper() if size else "A4")
    if page_size is None:
        raise ValueError(f"纸张规格只能是 A4 或 A3：{size!r}")
    font = register_cjk_font()
    out = BytesIO()
    # the initial font would otherwise be Helvetica, listed in the PDF without being embedded
    canvas = Canvas(out, pagesize=page_size, pageCompression=1, initialFontName=font, initialFontSize=12)
    canvas.setTitle(title)
    canvas.setAuthor(ISSUER)
    canvas.setSubject("农村公路路长制公示牌（第七条）")
    canvas.setCreator("roadchief")
    pages = 0
    for sign in signs:
        _draw_page(canvas, font, sign, page_size)
        canvas.showPage()
        pages += 1
    if not pages:
        pen = _Pen(canvas, font)
        canvas.scale(page_size[0] / (PAGE_W * mm), page_size[0] / (PAGE_W * mm))
        pen.text(PAGE_W / 2, PAGE_H / 2, "没有可打印的公示牌", 20, align="center")
        canvas.showPage()
    canvas.save()
    return out.getvalue()


def sign_pdf(sign: Sign, size: str = "A4") -> bytes:
    return signs_pdf([sign], size, title=f"{SIGN_TITLE} {sign.code} {sign.name}")
