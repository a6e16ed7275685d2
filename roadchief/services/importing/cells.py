"""Cell values as the readers hand them (text, numbers, pandas' empty cells) → checked Python values.

Pure: no database, no Flask. Lengths never pass through float: 列养里程 "3.200" is
3200 m exactly. When the reader hands us a float (a numeric DBF or GeoJSON field)
it is turned into a Decimal from its shortest repr, and a value with more than
three decimals is refused, since 列养里程 is kept to the metre.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from numbers import Integral, Real
from typing import Any

from roadchief.domain.stakes import StakeError, parse_stake, parse_stake_km

ROAD_NAME_MAX = 120  # Road.name column width
_YES = {"是", "Y", "YES", "1", "TRUE", "T", "列养"}
_NO = {"否", "N", "NO", "0", "FALSE", "F", "不列养"}


_PANDAS_MISSING: tuple[Any, ...] = ()


def is_missing(value: Any) -> bool:
    global _PANDAS_MISSING
    if value is None:
        return True
    if type(value) is str:  # the usual cell: decided without touching pandas
        return False
    if not _PANDAS_MISSING:
        from pandas import NA, NaT

        _PANDAS_MISSING = (NA, NaT)
    if any(value is missing for missing in _PANDAS_MISSING):
        return True
    return isinstance(value, float) and value != value  # NaN: pandas' empty numeric cell


def cell_text(value: Any) -> str | None:
    """A cell as trimmed text; numbers such as 640381100.0 (codes read as numbers) become "640381100"."""
    if type(value) is str:
        text = unicodedata.normalize("NFKC", value).strip()
        return text or None
    if is_missing(value):
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real) and float(value).is_integer():
        return str(int(value))
    text = unicodedata.normalize("NFKC", str(value)).strip()
    return text or None


def _float_decimal(value: Real) -> Decimal:
    """A float from the reader → Decimal of its shortest text (3.2 → Decimal("3.2"), not 3.2000000000000001776…).

    str() rather than float(): a numpy float32 cell prints as "1.2" but widens to 1.2000000476837158.
    """
    number = Decimal(str(value))
    if not number.is_finite():
        raise ValueError(f"不是有限数：{value}")
    return number


def _has_more_than_3_decimals(number: Decimal) -> bool:
    return number != number.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def parse_listed_km(value: Any) -> Decimal:
    """列养里程 cell → km as a Decimal with at most three decimals (whole metres)."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        raise ValueError("列养里程为空")
    if isinstance(value, bool):
        raise ValueError(f"列养里程不是数值：{value!r}")
    if isinstance(value, Integral):
        km = Decimal(int(value))
    elif isinstance(value, Real):
        exact = _float_decimal(value)
        if _has_more_than_3_decimals(exact):
            raise ValueError(f"列养里程最多 3 位小数（精确到米）：{exact}")
        km = exact
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        text = re.sub(r"\s*(km|KM|Km|公里)$", "", text)
        try:
            km = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"列养里程不是数值：{value!r}") from None
        if not km.is_finite():
            raise ValueError(f"列养里程不是有限数：{value!r}")
        if _has_more_than_3_decimals(km):
            raise ValueError(f"列养里程最多 3 位小数（精确到米）：{text}")
    if km <= 0:
        raise ValueError(f"列养里程须大于 0：{km}")
    return km.quantize(Decimal("0.001"))


def parse_stake_cell(value: Any) -> int:
    """桩号 cell → metres: text like K12+345, or a number of kilometres."""
    if is_missing(value):
        raise StakeError("桩号为空")
    if isinstance(value, bool):
        raise StakeError(f"桩号格式不正确：{value!r}")
    if isinstance(value, Integral):
        return parse_stake_km(int(value))
    if isinstance(value, Real):
        return parse_stake_km(_float_decimal(value))
    return parse_stake(str(value))


def parse_stake_metres(value: Any) -> int:
    """A stake column holding whole metres (start_m = 1200 is K1+200)."""
    text = cell_text(value)
    if text is None:
        raise StakeError("桩号为空")
    if not text.isdigit():
        raise StakeError(f"以米为单位的桩号须为非负整数米：{value!r}")
    return int(text)


def parse_width_dm(value: Any) -> int | None:
    """路面宽度 in metres → whole decimetres (the column's unit), half-up."""
    if is_missing(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        if isinstance(value, bool):
            raise InvalidOperation
        metres = (
            _float_decimal(value)
            if isinstance(value, Real) and not isinstance(value, Integral)
            else Decimal(unicodedata.normalize("NFKC", str(value)).strip().removesuffix("m").removesuffix("米"))
        )
    except (InvalidOperation, ValueError):
        raise ValueError(f"路面宽度不是数值：{value!r}") from None
    if not metres.is_finite() or metres <= 0:
        raise ValueError(f"路面宽度须大于 0：{value!r}")
    return int((metres * 10).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def parse_is_listed(value: Any) -> bool:
    text = cell_text(value)
    if text is None:
        return True  # 普查 layers mostly omit the column: everything in them is listed
    key = text.upper()
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError(f"是否列养应为 是/否（或 Y/N、1/0）：{value!r}")


def parse_road_name(value: Any) -> str | None:
    text = cell_text(value)
    if text is not None and len(text) > ROAD_NAME_MAX:
        raise ValueError(f"路线名称超过 {ROAD_NAME_MAX} 个字：{text[:20]}…")
    return text


def optional(parse: Callable[[str], str]) -> Callable[[Any], str | None]:
    def parse_optional(value: Any) -> str | None:
        text = cell_text(value)
        return None if text is None else parse(text)

    return parse_optional
