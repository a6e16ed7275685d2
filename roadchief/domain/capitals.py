"""Chinese financial capital numerals (大写金额).

Pure domain code: no Flask, no database, no I/O.

``chinese_capital(Decimal("2565700.20"))`` -> ``"贰佰伍拾陆万伍仟柒佰元贰角"``, the
figure the city budgets under 第十五条 of the 路长制 measures and prints on
every disbursement table (docs/office-formats.md, 季度拨付表).

Rules applied (中国人民银行《支付结算办法》附件一《正确填写票据和结算凭证的
基本规定》):

* digits 零壹贰叁肆伍陆柒捌玖, units 拾佰仟万亿, money units 元角分;
  "壹" is always written before 拾 (10 -> 壹拾元整, 1010 -> 壹仟零壹拾元整).
* 整 follows 元 when there are no 角 and no 分 (壹拾元整, 零元整).
  An amount ending in 角 takes no 整 (壹拾元伍角) and one ending in 分 never
  does (壹仟元零伍分).
* A run of zeros between non-zero digits collapses to one 零, including
  across 万/亿 groups (1005 -> 壹仟零伍元整, 100010000 -> 壹亿零壹万元整,
  100000001 -> 壹亿零壹元整); trailing zeros of the integer part are not
  written (100000 -> 壹拾万元整).
* 角 is 0 but 分 is not: 零 is written after 元 (rule 4, mandatory):
  1000.05 -> 壹仟元零伍分, 16409.02 -> 壹万陆仟肆佰零玖元零贰分.
* 元 digit is 0 and 角 is not (rule 3): the standard allows either one 零 or
  none ("可以只写一个零字，也可以不写零字", its own examples being
  壹仟陆佰捌拾元零叁角贰分 / 壹仟陆佰捌拾元叁角贰分).  **Choice: no 零.**
  The form the offices sign (docs/office-formats.md) is 贰佰伍拾陆万伍仟柒佰元贰角, with
  no 零 after 元, so for consistency 20000.30 -> 贰万元叁角 (not 贰万元零叁角)
  and 1680.32 -> 壹仟陆佰捌拾元叁角贰分.  Likewise a zero 万 digit followed
  by a non-zero 仟 digit is not written: 107000.53 -> 壹拾万柒仟元伍角叁分.
* Below one 元 there is no 元 and no 零 before the first digit:
  0.05 -> 伍分, 0.50 -> 伍角, 0.25 -> 贰角伍分.
* Negative amounts get the prefix 负 (-5.00 -> 负伍元整); -0 is 零元整.

Input must be a ``Decimal`` holding whole fen (at most two decimal places of
value); floats are refused with ``TypeError`` (money is never a float here),
sub-fen values, NaN/Infinity and amounts of 一亿亿 or more with ``ValueError``.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["chinese_capital"]

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SECTION_UNITS = ("仟", "佰", "拾", "")
_WAN = 10**4
_YI = 10**8
_LIMIT = 10**16  # 一亿亿: 万亿 is the largest unit we write


def _section(n: int) -> str:
    """0 < n < 10000 written with 仟佰拾; inner zero runs become one 零."""
    out: list[str] = []
    pending_zero = False
    for unit, ch in zip(_SECTION_UNITS, f"{n:04d}"):
        d = int(ch)
        if d == 0:
            pending_zero = bool(out)  # only a zero *between* digits counts
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[d] + unit)
    return "".join(out)


def _below_yi(n: int) -> str:
    """0 < n < 10**8."""
    high, low = divmod(n, _WAN)
    if not high:
        return _section(low)
    text = _section(high) + "万"
    if low:
        text += ("零" if low < 1000 else "") + _section(low)
    return text


def _integer(n: int) -> str:
    """0 < n < 10**16."""
    high, low = divmod(n, _YI)
    if not high:
        return _below_yi(low)
    text = _below_yi(high) + "亿"
    if low:
        text += ("零" if low < 10**7 else "") + _below_yi(low)
    return text


def chinese_capital(amount: Decimal) -> str:
    """Return 大写金额 for ``amount`` (yuan, a Decimal with at most 2 decimals).

    >>> chinese_capital(Decimal("2565700.20"))
    '贰佰伍拾陆万伍仟柒佰元贰角'
    >>> chinese_capital(Decimal("1000.05"))
    '壹仟元零伍分'
    >>> chinese_capital(Decimal("0"))
    '零元整'
    """
    if isinstance(amount, float):
        raise TypeError("chinese_capital() refuses float money; pass a Decimal")
    if not isinstance(amount, Decimal):
        raise TypeError(f"chinese_capital() needs a Decimal, got {type(amount).__name__}")
    if not amount.is_finite():
        raise ValueError(f"not a finite amount: {amount}")
    fen_exact = amount * 100
    if fen_exact != fen_exact.to_integral_value():
        raise ValueError(f"amount has fractions of a fen: {amount}")
    fen_total = int(fen_exact)
    if fen_total < 0:
        return "负" + chinese_capital(-amount)
    yuan, cents = divmod(fen_total, 100)
    if yuan >= _LIMIT:
        raise ValueError(f"amount too large for 大写 (>= 一亿亿元): {amount}")
    jiao, fen = divmod(cents, 10)

    if yuan == 0 and cents == 0:
        return "零元整"
    text = _integer(yuan) + "元" if yuan else ""
    if jiao:
        text += _DIGITS[jiao] + "角"
    elif fen and yuan:
        text += "零"  # rule 4: 角 is 0 but 分 is not
    if fen:
        text += _DIGITS[fen] + "分"
    elif not jiao:
        text += "整"
    return text
