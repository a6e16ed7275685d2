"""Public pages: the 公示牌 and social supervision (第七条)."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__, url_prefix="/p")
