"""Account slips for bulk-created 路长 accounts: A4 portrait, four slips a page separated by
dashed cut lines; each slip names the person, the position, what they answer for, the login
address, the user name and the one-time password. WenQuanYi is embedded (reports.fonts).
"""

from __future__ import annotations

from collections.abc import Iterable
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from roadchief.reports.fonts import register_cjk_font

SLIPS_PER_PAGE = 4
MARGIN = 12 * mm
PAD = 6 * mm
INK = colors.HexColor("#1a1a1a")
MUTED = colors.HexColor("#555555")


def _wrap(text: str, font: str, size: float, width: float, max_lines: int) -> list[str]:
    """Greedy character wrap (CJK text has no spaces to break at)."""
    lines, line = [], ""
    for char in text:
        if stringWidth(line + char, font, size) > width:
            lines.append(line)
            line = char
        else:
            line += char
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…"
    return lines


def _slip(canvas: Canvas, font: str, slip, top: float, height: float, login_url: str, issued: str) -> None:
    width, _ = A4
    left, right = MARGIN + PAD, width - MARGIN - PAD
    y = top - PAD - 5 * mm
    canvas.setFillColor(INK)
    canvas.setFont(font, 13)
    canvas.drawString(left, y, "青铜峡市农村公路“路长制”管理系统 · 账号通知单")
    canvas.setFont(font, 8.5)
    canvas.setFillColor(MUTED)
    canvas.drawRightString(right, y, f"制单：{issued}")
    canvas.setFillColor(INK)
    y -= 9 * mm
    label_x, value_x = left, left + 22 * mm
    rows = [
        ("姓　　名", f"{slip.name}" + (f"（{slip.title}）" if slip.title else "")),
        ("职　　务", slip.position),
    ]
    canvas.setFont(font, 10.5)
    for label, value in rows:
        canvas.drawString(label_x, y, label)
        canvas.drawString(value_x, y, value[:60])
        y -= 6 * mm
    canvas.drawString(label_x, y, "负责范围")
    for line in _wrap(slip.scope, font, 9.5, right - value_x, 2):
        canvas.setFont(font, 9.5)
        canvas.drawString(value_x, y, line)
        y -= 5 * mm
    y -= 1.5 * mm
    canvas.setFont(font, 10.5)
    canvas.drawString(label_x, y, "登录网址")
    canvas.drawString(value_x, y, login_url)
    y -= 7.5 * mm
    canvas.drawString(label_x, y, "用 户 名")
    canvas.setFont(font, 14)
    canvas.drawString(value_x, y, slip.username)
    canvas.setFont(font, 10.5)
    canvas.drawString(value_x + 55 * mm, y, "一次性密码")
    canvas.setFont(font, 14)
    canvas.drawString(value_x + 78 * mm, y, slip.password)
    y -= 8 * mm
    canvas.setFont(font, 8.5)
    canvas.setFillColor(MUTED)
    canvas.drawString(
        left, y, "首次登录后系统要求立即修改密码（至少 8 位，含字母和数字）。本单仅交本人，修改密码后请销毁。"
    )
    canvas.setFillColor(INK)


def _cut_line(canvas: Canvas, font: str, y: float) -> None:
    width, _ = A4
    canvas.saveState()
    canvas.setStrokeColor(MUTED)
    canvas.setDash(4, 3)
    canvas.setLineWidth(0.6)
    canvas.line(MARGIN, y, width - MARGIN, y)
    canvas.restoreState()
    canvas.setFont(font, 7)
    canvas.setFillColor(MUTED)
    label = " 沿虚线剪开 "
    w = stringWidth(label, font, 7)
    canvas.setFillColor(colors.white)
    canvas.rect(width / 2 - w / 2, y - 1.6 * mm, w, 3.2 * mm, stroke=0, fill=1)
    canvas.setFillColor(MUTED)
    canvas.drawCentredString(width / 2, y - 0.9 * mm, label)
    canvas.setFillColor(INK)


def account_slips_pdf(slips: Iterable, login_url: str, issued: str) -> bytes:
    """The slips as one PDF (bytes); ``issued`` is the Beijing date printed on each slip."""
    font = register_cjk_font()
    slips = list(slips)
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, pageCompression=1, initialFontName=font, initialFontSize=10)
    canvas.setTitle("路长账号通知单")
    canvas.setAuthor("青铜峡市路长办公室")
    _, page_height = A4
    height = (page_height - 2 * MARGIN) / SLIPS_PER_PAGE
    pages = max(1, -(-len(slips) // SLIPS_PER_PAGE))
    for page in range(pages):
        chunk = slips[page * SLIPS_PER_PAGE : (page + 1) * SLIPS_PER_PAGE]
        for n, slip in enumerate(chunk):
            top = page_height - MARGIN - n * height
            _slip(canvas, font, slip, top, height, login_url, issued)
        for n in range(SLIPS_PER_PAGE + 1):
            _cut_line(canvas, font, page_height - MARGIN - n * height)
        canvas.setFont(font, 7)
        canvas.setFillColor(MUTED)
        canvas.drawCentredString(A4[0] / 2, MARGIN / 2, f"第 {page + 1} 页 共 {pages} 页 · 共 {len(slips)} 张")
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
