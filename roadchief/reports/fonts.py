"""Register the bundled CJK TrueType font with reportlab (embedded, subset).

reportlab embeds a subset of every ``TTFont`` it draws with, so PDFs carry
the glyphs themselves (``pdffonts`` shows ``emb yes``) and ``pdftotext`` can
recover the Chinese text.  The non-embedded ``STSong-Light`` CID font is not
used: readers without the Adobe Asian font pack would substitute glyphs.
"""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_NAME = "WQYMicroHei"
FONT_PATH = Path(__file__).resolve().parent.parent / "fonts" / "wqy-microhei.ttc"

_lock = threading.Lock()


def register_cjk_font() -> str:
    """Register WenQuanYi Micro Hei (subfont 0) once; return its font name."""
    with _lock:
        if FONT_NAME not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_PATH), subfontIndex=0))
            # no bold/italic faces ship with the font: map them to the regular one
            pdfmetrics.registerFontFamily(
                FONT_NAME, normal=FONT_NAME, bold=FONT_NAME, italic=FONT_NAME, boldItalic=FONT_NAME
            )
    return FONT_NAME
