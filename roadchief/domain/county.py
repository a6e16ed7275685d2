"""Plausibility of a road row: inside the county, and stakes that agree with 列养里程 in their unit.

Pure: no database. 第三条 puts the 市道/镇道/村道/专用公路 of 青铜峡市 on the register, so a line
outside the county is a wrong coordinate system or a wrong file, and a stake span a thousand
times the listed km (or a thousandth of it) is metres read as kilometres (or the reverse).
"""

from __future__ import annotations

from decimal import Decimal

COUNTY_NAME = "青铜峡市"
# 青铜峡市 lies within about 105°21′–106°21′E, 37°36′–38°15′N; a 0.1° margin (≈ 9–11 km) keeps
# roads that run up to the boundary. An office elsewhere sets ROADCHIEF_COUNTY_BBOX.
COUNTY_EXTENT: tuple[float, float, float, float] = (105.35, 37.6, 106.35, 38.25)
COUNTY_MARGIN_DEG = 0.1
COUNTY_BBOX: tuple[float, float, float, float] = (105.25, 37.5, 106.45, 38.35)  # COUNTY_EXTENT ± the margin

# A stake span this many times the listed km (or that many times shorter) is a unit mix-up:
# real 列养里程 may be less than the stake span (a part not maintained), never by a factor of 100.
STAKE_UNIT_FACTOR = 100


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """ "minlon,minlat,maxlon,maxlat" → a checked tuple; ValueError says what is wrong."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 4:
        raise ValueError(f"范围须为 最小经度,最小纬度,最大经度,最大纬度：{text!r}")
    min_lon, min_lat, max_lon, max_lat = (float(p) for p in parts)
    if not (-180 <= min_lon < max_lon <= 180 and -90 <= min_lat < max_lat <= 90):
        raise ValueError(f"范围不是有效的经纬度范围：{text!r}")
    return min_lon, min_lat, max_lon, max_lat


def outside_bbox(
    bounds: tuple[float, float, float, float], bbox: tuple[float, float, float, float] = COUNTY_BBOX
) -> bool:
    """True when any part of ``bounds`` (min lon, min lat, max lon, max lat) lies outside ``bbox``."""
    min_lon, min_lat, max_lon, max_lat = bounds
    return min_lon < bbox[0] or min_lat < bbox[1] or max_lon > bbox[2] or max_lat > bbox[3]


def stake_unit_mismatch(span_m: int, listed_m: int, factor: int = STAKE_UNIT_FACTOR) -> str | None:
    """Why a stake span (metres) contradicts 列养里程 (metres) by a unit factor, or None when plausible."""
    if span_m <= 0 or listed_m <= 0:
        return None
    span_km = Decimal(span_m) / 1000
    listed_km = Decimal(listed_m) / 1000
    if span_m >= listed_m * factor:
        ratio = (Decimal(span_m) / listed_m).quantize(Decimal(1))
        return (
            f"桩号跨度 {span_km:f} km 是列养里程 {listed_km:f} km 的 {ratio} 倍："
            "桩号可能以米填写却被当作公里读入（如 1200 米应写 K1+200）"
        )
    if span_m * factor <= listed_m:
        ratio = (Decimal(listed_m) / span_m).quantize(Decimal(1))
        return (
            f"列养里程 {listed_km:f} km 是桩号跨度 {span_km:f} km 的 {ratio} 倍："
            "列养里程可能以米填写（应以公里填写，如 1.200），或桩号的公里被当作米"
        )
    return None
