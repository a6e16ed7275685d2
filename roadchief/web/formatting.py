"""Template filters for numbers people read: money with thousands separators (``|yuan``, ``|fen``).

Pages only: the JSON API, CSV and XLSX keep plain two-decimal strings (JSON keys stay stable).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from roadchief.domain.money import fen_to_yuan, group_yuan


def yuan(value) -> str:
    """Yuan as a Decimal or the two-decimal string a service returns → "4,276,167.00".

    Text that is not a number ("—", "", None) is shown as it is; an int is refused, since it
    could be yuan or fen (use ``|fen`` for integer fen)."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, int):
        raise TypeError(f"|yuan 不接受整数 {value!r}：整数分请用 |fen")
    if isinstance(value, Decimal):
        return group_yuan(value)
    text = str(value).strip()
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return text
    return group_yuan(amount) if amount.is_finite() else text


def fen(value) -> str:
    """Integer fen → "1,234.50"."""
    if value is None or value == "":
        return ""
    return group_yuan(fen_to_yuan(value))


_AMOUNT = re.compile(r"(?<![\d.,])\d{4,}\.\d{2}(?![\d.])")


def money_text(value) -> str:
    """Every two-decimal amount inside a service's text ("+1234.50 / −88.00") with separators."""
    if value is None:
        return ""
    return _AMOUNT.sub(lambda m: group_yuan(Decimal(m.group(0))), str(value))


def register(app) -> None:
    app.add_template_filter(yuan, "yuan")
    app.add_template_filter(fen, "fen")
    app.add_template_filter(money_text, "money_text")
