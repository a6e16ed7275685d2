"""Exact money: ``Decimal`` yuan and ``int`` fen, never float.

The disbursement table finance signs must add up to the fen (合计 = sum of the
printed rows), so every split of a total goes through the largest-remainder
method here instead of rounding each row on its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import (
    MAX_EMAX,
    MAX_PREC,
    MIN_EMIN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    Inexact,
    InvalidOperation,
)
from fractions import Fraction

Number = Decimal | int | str

FEN = Decimal("0.01")

# Sums and products of decimals are always representable exactly; this context
# computes them at unlimited precision and traps Inexact, so a rounding that
# should never happen fails loudly instead of losing a fen.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[InvalidOperation, Inexact])


def to_decimal(value: Number) -> Decimal:
    """Return ``value`` as a finite Decimal; floats are refused.

    A float such as 0.1 or 84.995 is already off before it arrives; accepting
    one would hide that error instead of rounding correctly.
    """
    if isinstance(value, bool):
        raise TypeError(f"数值不能是布尔值：{value!r}")
    if isinstance(value, float):
        raise TypeError(f"数值不能用浮点数（{value!r}），请用字符串或 Decimal")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"不是有效的数值：{value!r}") from None
    else:
        raise TypeError(f"不支持的数值类型 {type(value).__name__}：{value!r}")
    if not result.is_finite():
        raise ValueError(f"数值必须是有限数：{value!r}")
    return result


def exact_sum(values: Iterable[Number]) -> Decimal:
    """Sum without any rounding, whatever the number of digits."""
    total = Decimal(0)
    for value in values:
        total = _EXACT.add(total, to_decimal(value))
    return total


def exact_mul(a: Number, b: Number) -> Decimal:
    """Multiply without any rounding."""
    return _EXACT.multiply(to_decimal(a), to_decimal(b))


def round_fen(amount: Number) -> Decimal:
    """Round yuan half-up (四舍五入, halves away from zero) to the fen."""
    return to_decimal(amount).quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(amount: Number) -> int:
    """Yuan → integer fen, half-up."""
    return int(round_fen(amount).scaleb(2))


def require_fen(value: int, what: str = "金额") -> int:
    """Return ``value`` if it is an int amount of fen, else TypeError."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what}必须是整数分：{value!r}")
    return value


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen → Decimal yuan with two places (12345 → 123.45)."""
    return Decimal(require_fen(fen)).scaleb(-2)


def format_yuan(amount: Decimal) -> str:
    """Decimal yuan → "1234.50", half-up to the fen.

    Only Decimal is taken: an int would be ambiguous between yuan and fen.
    """
    if not isinstance(amount, Decimal):
        raise TypeError(f"format_yuan 只接受 Decimal 元，收到 {amount!r}；整数分请用 format_fen")
    rounded = round_fen(amount)
    return f"{abs(rounded) if rounded == 0 else rounded:.2f}"  # never print "-0.00"


def format_fen(fen: int) -> str:
    """Integer fen → "1234.50"."""
    return f"{fen_to_yuan(fen):.2f}"


def group_yuan(amount: Decimal) -> str:
    """Decimal yuan → "4,276,167.00" for people to read (pages); JSON and files keep format_yuan."""
    if not isinstance(amount, Decimal):
        raise TypeError(f"group_yuan 只接受 Decimal 元，收到 {amount!r}")
    rounded = round_fen(amount)
    return f"{abs(rounded) if rounded == 0 else rounded:,.2f}"


def _hamilton(quotas: Sequence[Fraction], total: int) -> list[int]:
    """Floor every quota, then give the missing units to the largest remainders.

    Ties go to the lower index so the same input always yields the same table.
    """
    parts = [q.numerator // q.denominator for q in quotas]
    leftover = total - sum(parts)
    order = sorted(range(len(quotas)), key=lambda i: (parts[i] - quotas[i], i))
    for i in order[:leftover]:
        parts[i] += 1
    return parts


def _weight(value: Decimal | int | Fraction) -> Fraction:
    if isinstance(value, Fraction):
        return value
    if isinstance(value, str):
        raise TypeError(f"权重不能是字符串：{value!r}")
    return Fraction(to_decimal(value))


def largest_remainder(total_fen: int, weights: Sequence[Decimal | int | Fraction]) -> list[int]:
    """Split ``total_fen`` into integer parts proportional to ``weights``.

    The parts sum exactly to ``total_fen``; each is the floor or the ceiling of
    its exact quota; a zero weight gets 0.
    """
    total = require_fen(total_fen, "待分配总额")
    if total < 0:
        raise ValueError(f"待分配总额不能为负：{total}")
    exact = [_weight(w) for w in weights]
    if any(w < 0 for w in exact):
        raise ValueError(f"权重不能为负：{list(weights)!r}")
    weight_sum = sum(exact)
    if weight_sum == 0:
        raise ValueError("权重全为零（或为空），无法按比例分配")
    return _hamilton([total * w / weight_sum for w in exact], total)


def allocate_exact(exact_amounts: Sequence[Decimal]) -> list[int]:
    """Exact yuan amounts → fen parts summing to ``to_fen(sum(exact_amounts))``.

    Rounding each row on its own can leave the 合计 a few fen away from the
    sum of the printed rows; here each part stays within 1 fen of its exact
    value and the column adds up to the rounded exact total.
    """
    amounts = [to_decimal(a) for a in exact_amounts]
    quotas = [Fraction(a) * 100 for a in amounts]
    return _hamilton(quotas, to_fen(exact_sum(amounts)))
