"""Finance pages: annual plan, quarters, settlement, ledger."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("funding", __name__, url_prefix="/funding")
