"""桩号 (chainage) such as K12+345: parsing, formatting, lengths and overlaps.

Stakes are held as whole metres from the start of the route; 公示牌 and the
register print them back in the K-form the offices write by hand.
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Hashable, Iterable
from decimal import ROUND_HALF_UP, Decimal

_K_FORM = re.compile(r"^K?(?P<km>\d+)\s*\+\s*(?P<m>\d+)(?P<frac>\.\d+)?$", re.IGNORECASE)
_KM_FORM = re.compile(r"^\d+(\.\d+)?$")
_METRE = Decimal(1)
_KM = Decimal("0.001")


class StakeError(ValueError):
    """A 桩号 or stake range that cannot be right."""


def _half_up_metres(metres: Decimal) -> int:
    return int(metres.quantize(_METRE, rounding=ROUND_HALF_UP))


def parse_stake_km(km: Decimal | int) -> int:
    """Kilometres as a number (Decimal/int) → metres, half-up."""
    if isinstance(km, bool) or not isinstance(km, (Decimal, int)):
        raise TypeError(f"桩号公里数须为 Decimal 或整数：{km!r}")
    km = Decimal(km)
    if not km.is_finite():
        raise StakeError(f"桩号不是有限数：{km}")
    if km < 0:
        raise StakeError(f"桩号不能为负：{km}")
    return _half_up_metres(km * 1000)


def parse_stake(value: str | Decimal | int) -> int:
    """桩号 → metres.

    Strings may be "K12+345", "k12+345.0", "12+345" or kilometres "12.345";
    full-width characters (Ｋ１２＋３４５) typed on Chinese keyboards are
    accepted. A Decimal or int is kilometres. Fractional metres round half-up.
    """
    if not isinstance(value, str):
        return parse_stake_km(value)
    text = unicodedata.normalize("NFKC", value).strip()
    if not text:
        raise StakeError("桩号为空")
    if "-" in text:
        raise StakeError(f"桩号不能为负：{value!r}")
    if _KM_FORM.match(text):
        return parse_stake_km(Decimal(text))
    match = _K_FORM.match(text)
    if not match:
        raise StakeError(f"桩号格式不正确：{value!r}，应如 K12+345")
    metres_part = match["m"]
    if int(metres_part) >= 1000:
        raise StakeError(f"桩号“+”后的米数须小于1000：{value!r}")
    # "K12+5" could mean K12+005 or K12+500; refuse rather than guess.
    if len(metres_part) != 3:
        raise StakeError(f"桩号“+”后须为三位米数（如 K12+005）：{value!r}")
    metres = Decimal(metres_part + (match["frac"] or ""))
    return int(match["km"]) * 1000 + _half_up_metres(metres)


def format_stake(metres: int) -> str:
    """Metres → "K12+345"."""
    if isinstance(metres, bool) or not isinstance(metres, int):
        raise TypeError(f"桩号米数须为整数：{metres!r}")
    if metres < 0:
        raise StakeError(f"桩号不能为负：{metres}")
    km, m = divmod(metres, 1000)
    return f"K{km}+{m:03d}"


def _check_range(start_m: int, end_m: int) -> None:
    start, end = format_stake(start_m), format_stake(end_m)
    if end_m <= start_m:
        raise StakeError(f"止点桩号须大于起点桩号：{start} — {end}")


def stake_length_km(start_m: int, end_m: int) -> Decimal:
    """Length between two stakes in km, three places (K0+000 — K1+250 → 1.250)."""
    _check_range(start_m, end_m)
    return (Decimal(end_m - start_m) / 1000).quantize(_KM)


def find_overlaps(
    ranges: Iterable[tuple[Hashable, int, int]],
) -> list[tuple[Hashable, Hashable]]:
    """Pairs of ranges sharing more than a point (K1+000—K2+000 and K2+000—K3+000 do not).

    Each pair is (earlier in the input, later in the input); pairs come in
    input order. A sweep over the ranges sorted by start keeps only the ranges
    still open, so the cost is O(n log n) plus the number of pairs reported.
    """
    items = list(ranges)
    for key, start_m, end_m in items:
        try:
            _check_range(start_m, end_m)
        except StakeError as exc:
            raise StakeError(f"{key}：{exc}") from None
    by_start = sorted(range(len(items)), key=lambda i: (items[i][1], i))
    open_ranges: list[tuple[int, int]] = []  # heap of (end_m, input index)
    pairs: list[tuple[int, int]] = []
    for i in by_start:
        start_m, end_m = items[i][1], items[i][2]
        while open_ranges and open_ranges[0][0] <= start_m:
            heapq.heappop(open_ranges)
        pairs.extend((min(i, j), max(i, j)) for _, j in open_ranges)
        heapq.heappush(open_ranges, (end_m, i))
    pairs.sort()
    return [(items[a][0], items[b][0]) for a, b in pairs]
