"""Generate the SYNTHETIC demo road network of 青铜峡市 (county code 640381).

合成演示数据 —— 不是真实的农村公路普查数据。Every road, length, stake, person
and phone number written here is invented; only the town names/codes and the
rough geography are real. The point is a network that *looks* like census data
(Chinese column names, K-stakes, segments, multi-part geometries) and that
meets the project's contract totals exactly:

    listed 镇道  388.701 km
    listed 村道  777.554 km   (together 1166.255 km)

Run (re-runnable, deterministic, no network):

    /tmp/venv/bin/python data/roads/generate_demo.py [--out-dir DIR]

Writes demo_network.geojson, villages.csv and chiefs.csv next to this file
(or into --out-dir).

How it works, in short: roads are traced as gently meandering polylines in
CGCS2000 3-degree Gauss-Krüger metres (EPSG:4544), so a road's drawn length *is*
its stake length; they are cut into census segments at stake points and only
then converted to lon/lat.  All lengths are whole metres (ints), so the km
strings and the contract totals are exact by construction — no float sums.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from pyproj import Transformer
from shapely.geometry import LineString
from shapely.ops import substring

SEED = 2021
COUNTY_CODE = "640381"
HERE = Path(__file__).resolve().parent

GEOJSON_NAME = "demo_network.geojson"
VILLAGES_NAME = "villages.csv"
CHIEFS_NAME = "chiefs.csv"

# The project's contract (metres, so the sums stay integer).
TOWN_ROAD_TOTAL_M = 388_701  # listed 镇道
VILLAGE_ROAD_TOTAL_M = 777_554  # listed 村道

# City extent (lon_min, lat_min, lon_max, lat_max). Roads are kept a little
# inside it so that rounding/meandering can never poke out.
EXTENT = (105.61, 37.61, 106.23, 38.26)
EXTENT_MARGIN_DEG = 0.004

# Vertex spacing of the traced polylines, metres.
STEP_MIN_M, STEP_MAX_M = 120.0, 280.0

TO_GK = Transformer.from_crs("EPSG:4326", "EPSG:4544", always_xy=True)
TO_LONLAT = Transformer.from_crs("EPSG:4544", "EPSG:4326", always_xy=True)

STATION_NAME = "青铜峡公路站"
STATION_CODE = "GLZ01"
STATION_TOWNS = ("小坝镇", "瞿靖镇")

START_DATE = "2021-10-18"
# The one mid-year hand-over of a 村级路长, to exercise roster history.
HANDOVER_VILLAGE = "蒋西村"
HANDOVER_END, HANDOVER_START = "2022-05-15", "2022-05-16"


# --------------------------------------------------------------------------
# Administrative units
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class Town:
    name: str
    code: str
    lon: float
    lat: float
    villages: tuple[str, ...]
    village_road_share: float  # share of the 村道 total (uneven on purpose)
    town_road_share: float  # share of the radial 镇道 budget


# Centres are plausible, not surveyed. 裕民街道 (640381001) is urban and holds
# no rural road, so it is not listed here.
TOWNS: tuple[Town, ...] = (
    Town(
        "小坝镇",
        "640381100",
        106.075,
        38.020,
        ("林皋村", "汉坝村", "新华村", "民乐村", "先锋村", "立新村", "中滩村"),
        0.11,
        0.14,
    ),
    Town(
        "大坝镇", "640381101", 105.980, 37.980, ("大坝村", "韦桥村", "蒋滩村", "利民村", "中庄村", "新桥村"), 0.11, 0.12
    ),
    Town(
        "青铜峡镇",
        "640381102",
        105.965,
        37.905,
        ("新民村", "河西村", "同心村", "蔡家桥村", "坝区村", "余桥村"),
        0.09,
        0.12,
    ),
    Town(
        "叶盛镇",
        "640381103",
        106.195,
        38.150,
        ("地三村", "正闸村", "五星村", "光明村", "叶盛村", "银光村", "联合村", "龙门村"),
        0.15,
        0.11,
    ),
    Town(
        "瞿靖镇",
        "640381104",
        106.120,
        38.080,
        ("瞿靖村", "朝阳村", "尚桥村", "蒋西村", "蒋东村", "玉桥村", "毛桥村", "红旗村", "友谊村"),
        0.17,
        0.14,
    ),
    Town("峡口镇", "640381105", 105.915, 37.868, ("峡口村", "郝渠村", "五道渠村", "沙湖村", "唐滩村"), 0.07, 0.09),
    Town(
        "邵岗镇",
        "640381106",
        106.020,
        37.960,
        ("邵岗村", "甘城子村", "玉西村", "沈闸村", "西滩村", "沙坝村", "庙岗村"),
        0.13,
        0.12,
    ),
    Town(
        "陈袁滩镇",
        "640381107",
        106.170,
        38.020,
        ("陈袁滩村", "胜利村", "袁滩村", "新华桥村", "金沙村", "东滩村"),
        0.13,
        0.10,
    ),
    # A state farm; its production units (队/站) play the role of villages.
    Town("树新林场", "640381401", 106.020, 38.120, ("树新一队", "树新二队", "育苗站"), 0.04, 0.06),
)
TOWN_BY_NAME = {t.name: t for t in TOWNS}


@dataclass
class Village:
    town: Town
    code: str
    name: str
    x: float = 0.0  # GK metres
    y: float = 0.0

    @property
    def is_farm_unit(self) -> bool:
        return not self.name.endswith("村")


def short_name(place: str) -> str:
    """小坝镇 -> 小坝, 蒋西村 -> 蒋西; road names use the short form."""
    for suffix in ("林场", "镇", "村"):
        if place.endswith(suffix) and len(place) > len(suffix) + 1:
            return place[: -len(suffix)]
    return place


# --------------------------------------------------------------------------
# Geometry helpers (all in GK metres)
# --------------------------------------------------------------------------
def gk(lon: float, lat: float) -> tuple[float, float]:
    return TO_GK.transform(lon, lat)


def town_xy(town: Town) -> tuple[float, float]:
    return gk(town.lon, town.lat)


def inside_extent(x: float, y: float, margin: float = EXTENT_MARGIN_DEG) -> tuple[bool, bool]:
    """(lon ok, lat ok) for a GK point; split so a walker knows which way to bounce."""
    lon, lat = TO_LONLAT.transform(x, y)
    lon_min, lat_min, lon_max, lat_max = EXTENT
    return (lon_min + margin <= lon <= lon_max - margin, lat_min + margin <= lat <= lat_max - margin)


def point_inside(x: float, y: float, margin: float = EXTENT_MARGIN_DEG) -> bool:
    return all(inside_extent(x, y, margin))


def advance(x: float, y: float, bearing_deg: float, dist: float) -> tuple[float, float]:
    """Move along a compass bearing (0 = grid north, 90 = east)."""
    b = math.radians(bearing_deg)
    return x + dist * math.sin(b), y + dist * math.cos(b)


def bearing_to(x0: float, y0: float, x1: float, y1: float) -> float:
    return math.degrees(math.atan2(x1 - x0, y1 - y0)) % 360.0


def nearest_town(x: float, y: float) -> Town:
    return min(TOWNS, key=lambda t: math.dist((x, y), town_xy(t)))


def trace_fixed_length(
    rng: random.Random,
    start: tuple[float, float],
    length_m: int,
    bearing: float,
    meander_deg: float,
    jitter_deg: float,
    turn_at_m: float | None = None,
    turn_deg: float = 0.0,
) -> LineString:
    """Trace a road of exactly `length_m` from `start` along `bearing`.

    The heading is base bearing + a slow sine meander + small per-vertex
    jitter, so the road wanders gently but does not drift into spaghetti.
    An optional single 90° turn gives the L-shaped roads typical of the
    irrigation grid.  If the road would leave the city extent it bounces
    off the edge (like a road following the boundary canal).
    """
    x, y = start
    points = [(x, y)]
    travelled = 0.0
    phase = rng.uniform(0, 2 * math.pi)
    wavelength = rng.uniform(1500, 4000)
    turned = False
    while travelled < length_m:
        if turn_at_m is not None and not turned and travelled >= turn_at_m:
            bearing = (bearing + turn_deg) % 360
            turned = True
        step = min(rng.uniform(STEP_MIN_M, STEP_MAX_M), length_m - travelled)
        if length_m - travelled - step < 40:  # no stub vertex at the very end
            step = length_m - travelled
        heading = (
            bearing + meander_deg * math.sin(phase + 2 * math.pi * travelled / wavelength) + rng.gauss(0, jitter_deg)
        )
        nx, ny = advance(x, y, heading, step)
        lon_ok, lat_ok = inside_extent(nx, ny)
        if not (lon_ok and lat_ok):
            # Mirror the base bearing on whichever edge was hit.
            if not lon_ok:
                bearing = (-bearing) % 360
                heading = -heading
            if not lat_ok:
                bearing = (180 - bearing) % 360
                heading = 180 - heading
            nx, ny = advance(x, y, heading, step)
        x, y = nx, ny
        points.append((x, y))
        travelled += step
    return LineString(points)


def trace_via(
    rng: random.Random, waypoints: list[tuple[float, float]], meander_deg: float, jitter_deg: float
) -> LineString:
    """Trace a road that starts at the first waypoint and ends exactly on the last.

    Used for roads that link two towns: the length follows from the drawing.
    """
    x, y = waypoints[0]
    points = [(x, y)]
    phase = rng.uniform(0, 2 * math.pi)
    travelled = 0.0
    for tx, ty in waypoints[1:]:
        for _ in range(10_000):
            step = rng.uniform(STEP_MIN_M, STEP_MAX_M)
            remaining = math.dist((x, y), (tx, ty))
            if remaining <= step * 1.3:
                x, y = tx, ty
                points.append((x, y))
                travelled += remaining
                break
            # Meander fades out near the waypoint so the road actually arrives.
            fade = min(1.0, remaining / 1500.0)
            heading = (
                bearing_to(x, y, tx, ty)
                + fade * meander_deg * math.sin(phase + travelled / 700.0)
                + rng.gauss(0, jitter_deg)
            )
            x, y = advance(x, y, heading, step)
            points.append((x, y))
            travelled += step
        else:  # pragma: no cover - would mean a bug in the steering
            raise RuntimeError("road never reached its waypoint")
    return LineString(points)


def bent_waypoints(
    rng: random.Random, a: tuple[float, float], b: tuple[float, float], bend: float = 0.08
) -> list[tuple[float, float]]:
    """a -> slightly off-centre midpoint -> b, so links between towns are not straight."""
    mx, my = (a[0] + b[0]) / 2, (a[1] + b[1]) / 2
    d = math.dist(a, b)
    off = rng.uniform(-bend, bend) * d
    ux, uy = (b[0] - a[0]) / d, (b[1] - a[1]) / d
    return [a, (mx - uy * off, my + ux * off), b]


# --------------------------------------------------------------------------
# Roads and their census segments
# --------------------------------------------------------------------------
LEVEL_PREFIX = {"市道": "X", "镇道": "Y", "村道": "C", "专用公路": "Z"}
LEVEL_ORDER = {"市道": 0, "镇道": 1, "村道": 2, "专用公路": 3}


@dataclass
class Road:
    code: str
    name: str
    level: str
    line: LineString  # GK metres; its length is the road's stake length
    stakes: list[int]  # segment boundaries in metres: [0, ..., total]
    village: Village | None = None
    listed: bool = True
    width: str = ""
    # one (技术等级, 路面类型) per segment: census segments break where these change
    pavements: list[tuple[str, str]] = field(default_factory=list)

    @property
    def length_m(self) -> int:
        return self.stakes[-1]


@dataclass
class Segment:
    road: Road
    start_m: int
    end_m: int
    line: LineString  # GK metres
    town: Town
    grade: str
    surface: str
    station: str = ""
    parts: int = 1  # 2 => written as a MultiLineString of two touching parts

    @property
    def key(self) -> str:
        """The id used by chiefs.csv segment scopes, e.g. C117640381:K0+000-K2+300."""
        return f"{self.road.code}:{stake(self.start_m)}-{stake(self.end_m)}"


def stake(metres: int) -> str:
    """1234 -> 'K1+234' (Chinese highway chainage)."""
    return f"K{metres // 1000}+{metres % 1000:03d}"


def km_string(metres: int) -> str:
    """Exact 3-decimal km without going through float: 3200 -> '3.200'."""
    return f"{metres // 1000}.{metres % 1000:03d}"


def road_code(level: str, number: int) -> str:
    return f"{LEVEL_PREFIX[level]}{number:03d}{COUNTY_CODE}"


def weighted(rng: random.Random, options: dict[str, float]) -> str:
    return rng.choices(list(options), weights=list(options.values()))[0]


def draw_pavement(rng: random.Random, level: str) -> tuple[str, str]:
    """技术等级 and 路面类型 with the mix one sees in a rural census."""
    if level == "市道":
        return weighted(rng, {"二级": 0.75, "三级": 0.25}), "沥青"
    if level == "镇道":
        grade = weighted(rng, {"二级": 0.08, "三级": 0.52, "四级": 0.40})
        return grade, weighted(rng, {"沥青": 0.8, "水泥": 0.2})
    if level == "专用公路":
        return weighted(rng, {"三级": 0.6, "四级": 0.4}), weighted(rng, {"沥青": 0.6, "水泥": 0.4})
    grade = weighted(rng, {"三级": 0.04, "四级": 0.66, "等外": 0.30})
    if grade == "等外":  # sub-standard roads are the gravel and earth ones
        return grade, weighted(rng, {"砂石": 0.55, "土": 0.2, "水泥": 0.25})
    return grade, weighted(rng, {"水泥": 0.6, "沥青": 0.4})


def draw_width(rng: random.Random, level: str, grade: str) -> str:
    if level == "市道":
        return rng.choice(["7.5", "8.5", "9.0"])
    if level in ("镇道", "专用公路"):
        return rng.choice(["6.0", "6.5", "7.0"])
    if grade == "等外":
        return rng.choice(["3.5", "4.0"])
    return weighted(rng, {"3.5": 0.3, "4.0": 0.35, "4.5": 0.2, "5.0": 0.15})


def make_road(
    rng: random.Random,
    code: str,
    name: str,
    level: str,
    line: LineString,
    cut_points: list[int],
    village: Village | None = None,
    listed: bool = True,
) -> Road:
    """Wrap a traced line as a road with stake boundaries and per-segment pavement."""
    total = round(line.length)
    stakes = [0, *sorted(cut_points), total]
    pavements = [draw_pavement(rng, level)]
    for _ in stakes[2:]:
        # A new census segment usually means the pavement changed — but not always.
        pavements.append(draw_pavement(rng, level) if rng.random() < 0.4 else pavements[-1])
    width = draw_width(rng, level, pavements[0][0])
    return Road(code, name, level, line, stakes, village, listed, width, pavements)


def random_cuts(
    rng: random.Random, length_m: int, typical_piece_m: int, max_segments: int, min_piece_m: int
) -> list[int]:
    """Interior stake points splitting a road into census segments.

    Longer roads get more segments (around one per `typical_piece_m`), with
    cut points jittered so the stakes do not look machine-made.
    """
    pieces = round(length_m / typical_piece_m * rng.uniform(0.6, 1.4))
    pieces = max(1, min(max_segments, pieces, length_m // min_piece_m))
    cuts, last = [], 0
    for i in range(1, pieces):
        ideal = length_m * i // pieces
        jitter = int(length_m / pieces * 0.25)
        cut = max(last + min_piece_m, min(ideal + rng.randint(-jitter, jitter), length_m - min_piece_m * (pieces - i)))
        cuts.append(cut)
        last = cut
    return cuts


def split_total(total: int, weights: list[float]) -> list[int]:
    """Integer shares of `total` proportional to `weights` (largest remainder), summing exactly."""
    s = sum(weights)
    raw = [total * w / s for w in weights]
    base = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - base[i], reverse=True)[: total - sum(base)]:
        base[i] += 1
    return base


def split_into_road_lengths(rng: random.Random, total_m: int, lo: int, hi: int) -> list[int]:
    """Whole-metre road lengths in [lo, hi] that add up to exactly `total_m`."""
    lengths, remaining = [], total_m
    while remaining > hi + lo:
        length = rng.randint(lo, hi)
        lengths.append(length)
        remaining -= length
    if remaining > hi:
        lengths += [remaining // 2, remaining - remaining // 2]
    else:
        lengths.append(remaining)
    assert sum(lengths) == total_m and min(lengths) >= min(lo, total_m)
    return lengths


# --------------------------------------------------------------------------
# Villages
# --------------------------------------------------------------------------
def build_villages() -> list[Village]:
    villages = []
    for town in TOWNS:
        for i, name in enumerate(town.villages, start=1):
            villages.append(Village(town, f"{town.code}{200 + i:03d}", name))
    return villages


def place_villages(rng: random.Random, villages: list[Village]) -> None:
    """Put each village centre a few km from its town centre, inside the town's
    (Voronoi) area and as far as possible from villages already placed."""
    placed: list[tuple[float, float]] = [town_xy(t) for t in TOWNS]
    for v in villages:
        cx, cy = town_xy(v.town)
        best, best_score = (cx, cy), -1.0
        for _ in range(40):
            px, py = advance(cx, cy, rng.uniform(0, 360), rng.uniform(1200, 4500))
            if nearest_town(px, py) is not v.town or not point_inside(px, py):
                continue
            score = min(math.dist((px, py), p) for p in placed)
            if score > best_score:
                best, best_score = (px, py), score
        v.x, v.y = best
        placed.append(best)


# --------------------------------------------------------------------------
# Road builders, one per administrative level
# --------------------------------------------------------------------------
# 市道 trunk routes through town centres (lon/lat waypoints).
CITY_ROUTES = (
    ("小坝至叶盛公路", ["小坝镇", "瞿靖镇", "叶盛镇", (106.212, 38.205)]),
    ("小坝至青铜峡公路", ["小坝镇", "邵岗镇", "青铜峡镇"]),
    ("大坝至陈袁滩公路", ["大坝镇", (106.062, 37.992), "陈袁滩镇"]),
    ("青铜峡至广武公路", ["青铜峡镇", (105.862, 37.872), (105.722, 37.805)]),
)

# 镇道 links between neighbouring towns not already joined by a 市道.
TOWN_LINKS = (
    ("瞿靖镇", "树新林场"),
    ("小坝镇", "树新林场"),
    ("陈袁滩镇", "叶盛镇"),
    ("瞿靖镇", "陈袁滩镇"),
    ("大坝镇", "青铜峡镇"),
    ("青铜峡镇", "峡口镇"),
    ("大坝镇", "邵岗镇"),
)

# 专用公路: (name, anchor town, length m) — access roads to plant/works.
SPECIAL_ROADS = (
    ("青铜峡水利枢纽专用公路", "青铜峡镇", 8_146),
    ("大坝电厂专用公路", "大坝镇", 6_873),
)


def resolve_waypoint(w) -> tuple[float, float]:
    return town_xy(TOWN_BY_NAME[w]) if isinstance(w, str) else gk(*w)


def build_city_roads(rng: random.Random) -> list[Road]:
    roads = []
    for number, (name, route) in enumerate(CITY_ROUTES, start=101):
        points = [resolve_waypoint(w) for w in route]
        waypoints = [points[0]]
        for a, b in zip(points, points[1:]):
            waypoints += bent_waypoints(rng, a, b, bend=0.05)[1:]
        line = trace_via(rng, waypoints, meander_deg=6, jitter_deg=2)
        total = round(line.length)
        roads.append(
            make_road(rng, road_code("市道", number), name, "市道", line, random_cuts(rng, total, 8_000, 4, 3_000))
        )
    return roads


def pick_radial_bearing(rng: random.Random, town: Town, length_m: int, used: list[float]) -> float:
    """A direction for a radial 镇道: stays inside the city, keeps clear of
    other town centres along its whole run (so radial roads of neighbouring
    towns do not criss-cross), and fans out from the town's other roads."""
    cx, cy = town_xy(town)
    others = [town_xy(t) for t in TOWNS if t is not town]
    best, best_score = rng.uniform(0, 360), -1.0
    for _ in range(36):
        b = rng.uniform(0, 360)
        ray = [advance(cx, cy, b, length_m * f) for f in (0.35, 0.7, 1.0)]
        if not point_inside(*ray[-1]):
            continue
        clearance = min(math.dist(p, o) for p in ray for o in others)
        sep = min((abs((b - u + 180) % 360 - 180) for u in used), default=180.0)
        score = clearance * min(1.0, sep / 45.0)
        if score > best_score:
            best, best_score = b, score
    return best


def radial_road_name(town: Town, end_xy: tuple[float, float], villages: list[Village], used_names: set[str]) -> str:
    """镇道 names read 'town to place': use the nearest village to the far end."""
    for v in sorted(villages, key=lambda v: math.dist(end_xy, (v.x, v.y))):
        if short_name(v.name) == short_name(town.name):
            continue  # '瞿靖至瞿靖公路' would be silly
        name = f"{short_name(town.name)}至{short_name(v.name)}公路"
        if name not in used_names:
            return name
    raise RuntimeError(f"ran out of road names for {town.name}")


def build_town_roads(rng: random.Random, villages: list[Village]) -> list[Road]:
    """镇道: links between towns, then radial roads that fill the exact total."""
    roads: list[Road] = []
    used_names: set[str] = set()
    for a, b in TOWN_LINKS:
        ta, tb = TOWN_BY_NAME[a], TOWN_BY_NAME[b]
        line = trace_via(rng, bent_waypoints(rng, town_xy(ta), town_xy(tb)), meander_deg=10, jitter_deg=3)
        name = f"{short_name(a)}至{short_name(b)}公路"
        used_names.add(name)
        roads.append(
            make_road(
                rng,
                road_code("镇道", len(roads) + 1),
                name,
                "镇道",
                line,
                random_cuts(rng, round(line.length), 5_000, 3, 1_500),
            )
        )

    # Whatever the links did not use is spread over the towns as radial roads,
    # so the listed 镇道 total is exact whatever the links' drawn lengths were.
    radial_budget = TOWN_ROAD_TOTAL_M - sum(r.length_m for r in roads)
    per_town = split_total(radial_budget, [t.town_road_share for t in TOWNS])
    for town, budget in zip(TOWNS, per_town):
        used_bearings: list[float] = []
        for length in split_into_road_lengths(rng, budget, 3_000, 9_000):
            bearing = pick_radial_bearing(rng, town, length, used_bearings)
            used_bearings.append(bearing)
            line = trace_fixed_length(rng, town_xy(town), length, bearing, meander_deg=9, jitter_deg=3)
            name = radial_road_name(town, line.coords[-1], villages, used_names)
            used_names.add(name)
            roads.append(
                make_road(
                    rng,
                    road_code("镇道", len(roads) + 1),
                    name,
                    "镇道",
                    line,
                    random_cuts(rng, length, 5_000, 3, 1_500),
                )
            )
    return roads


GROUP_NUMERALS = "一二三四五六七八九十"


def village_road_names(rng: random.Random, village: Village, neighbours: list[Village], claimed: set[str]) -> list[str]:
    """Plausible, unique 村道 names for one village, in random order.

    A road between two villages is named in one canonical order (lower
    village code first) and can be claimed once, so '汉坝至中滩路' and
    '中滩至汉坝路' never both exist.
    """
    if village.is_farm_unit:
        names = [f"{village.name}{n}号路" for n in GROUP_NUMERALS]
    else:
        names = [f"{village.name}{n}组路" for n in GROUP_NUMERALS[:8]]
        names += [f"{village.name}沿渠路", f"{village.name}中心路"]
        for n in neighbours:
            a, b = sorted((village, n), key=lambda v: v.code)
            pair = f"{short_name(a.name)}至{short_name(b.name)}路"
            if pair not in claimed:
                claimed.add(pair)
                names.append(pair)
    rng.shuffle(names)
    return names


def trace_village_road(rng: random.Random, village: Village, axis: float, index: int, length_m: int) -> LineString:
    """Village roads follow the town's irrigation grid: parallel 组路 a few
    hundred metres apart, every third one crossing them at right angles."""
    across = index % 3 == 2
    bearing = axis + (90 if across else 0) + rng.choice([0, 180])
    lane = (index // 2 + 1) // 2 * (1 if index % 2 else -1)  # 0, 1, -1, 1, -2, 2 ...
    sx, sy = advance(village.x, village.y, axis + 90, lane * rng.uniform(300, 450))
    sx, sy = advance(sx, sy, axis, rng.uniform(-300, 300))
    turn_at = length_m * rng.uniform(0.4, 0.7) if length_m > 2500 and rng.random() < 0.35 else None
    return trace_fixed_length(
        rng,
        (sx, sy),
        length_m,
        bearing % 360,
        meander_deg=3,
        jitter_deg=2,
        turn_at_m=turn_at,
        turn_deg=rng.choice([90, -90]),
    )


def build_village_roads(rng: random.Random, villages: list[Village]) -> list[Road]:
    """村道: each village gets its share of the exact 村道 total as a few roads."""
    roads: list[Road] = []
    town_axes = {t.name: 35 + rng.uniform(-12, 12) for t in TOWNS}  # grid runs with the river (SW-NE)
    town_totals = split_total(VILLAGE_ROAD_TOTAL_M, [t.village_road_share for t in TOWNS])
    name_pools: dict[str, list[str]] = {}
    claimed_pair_names: set[str] = set()
    for town, town_total in zip(TOWNS, town_totals):
        own = [v for v in villages if v.town is town]
        village_totals = split_total(town_total, [rng.uniform(0.6, 1.6) for _ in own])
        for village, total in zip(own, village_totals):
            neighbours = sorted(
                (v for v in own if v is not village), key=lambda v: math.dist((v.x, v.y), (village.x, village.y))
            )[:2]
            name_pools[village.code] = village_road_names(rng, village, neighbours, claimed_pair_names)
            for index, length in enumerate(split_into_road_lengths(rng, total, 600, 5_500)):
                line = trace_village_road(rng, village, town_axes[town.name], index, length)
                roads.append(
                    make_road(
                        rng,
                        road_code("村道", len(roads) + 1),
                        name_pools[village.code].pop(),
                        "村道",
                        line,
                        random_cuts(rng, length, 3_500, 2, 800),
                        village=village,
                    )
                )

    # Two roads the census records but that are not (yet) listed for maintenance
    # (是否列养 = 否); they are outside the contract totals.
    for village in rng.sample([v for v in villages if not v.is_farm_unit], 2):
        length = rng.randint(700, 1600)
        line = trace_village_road(rng, village, town_axes[village.town.name], 7, length)
        roads.append(
            make_road(
                rng,
                road_code("村道", len(roads) + 1),
                name_pools[village.code].pop(),
                "村道",
                line,
                [],
                village=village,
                listed=False,
            )
        )
    return roads


def build_special_roads(rng: random.Random) -> list[Road]:
    roads = []
    for number, (name, town_name, length) in enumerate(SPECIAL_ROADS, start=1):
        town = TOWN_BY_NAME[town_name]
        start = advance(*town_xy(town), rng.uniform(0, 360), rng.uniform(1500, 3000))
        line = trace_fixed_length(rng, start, length, rng.uniform(180, 300), meander_deg=8, jitter_deg=3)
        roads.append(
            make_road(
                rng, road_code("专用公路", number), name, "专用公路", line, random_cuts(rng, length, 5_000, 2, 2_000)
            )
        )
    return roads


# --------------------------------------------------------------------------
# Segmenting
# --------------------------------------------------------------------------
def cut_segments(road: Road) -> list[Segment]:
    segments = []
    drawn = road.line.length
    for i, (a, b) in enumerate(zip(road.stakes, road.stakes[1:])):
        piece = substring(road.line, a, b if i < len(road.stakes) - 2 else drawn)
        mid = piece.interpolate(0.5, normalized=True)
        # 村道 belong to their village's town; other roads to whichever town
        # the segment lies in (so a 镇道 can run on into a neighbouring town).
        town = road.village.town if road.village else nearest_town(mid.x, mid.y)
        grade, surface = road.pavements[i]
        segments.append(Segment(road, a, b, piece, town, grade, surface))
    return segments


def mark_multipart_segments(rng: random.Random, segments: list[Segment], count: int = 3) -> None:
    """Real census files contain a few MultiLineString segments (two touching
    pieces, an artefact of digitising) — reproduce that."""
    candidates = [s for s in segments if s.road.listed and s.end_m - s.start_m >= 1500]
    for seg in rng.sample(candidates, count):
        seg.parts = 2


def assign_station(rng: random.Random, segments: list[Segment]) -> None:
    """青铜峡公路站 maintains a few 镇道 segments in 小坝镇 and 瞿靖镇."""
    for town_name, count in zip(STATION_TOWNS, (2, 1)):
        candidates = [s for s in segments if s.road.level == "镇道" and s.road.listed and s.town.name == town_name]
        for seg in rng.sample(candidates, count):
            seg.station = STATION_NAME


# --------------------------------------------------------------------------
# Output: GeoJSON
# --------------------------------------------------------------------------
def to_lonlat_coords(line: LineString) -> list[list[float]]:
    xs, ys = line.xy
    lons, lats = TO_LONLAT.transform(list(xs), list(ys))
    coords: list[list[float]] = []
    for lon, lat in zip(lons, lats):
        pt = [round(lon, 6), round(lat, 6)]
        if not coords or coords[-1] != pt:  # rounding can merge near-duplicate vertices
            coords.append(pt)
    return coords


def segment_geometry(seg: Segment, rng: random.Random) -> dict:
    if seg.parts == 1:
        return {"type": "LineString", "coordinates": to_lonlat_coords(seg.line)}
    split = seg.line.length * rng.uniform(0.35, 0.65)
    parts = [substring(seg.line, 0, split), substring(seg.line, split, seg.line.length)]
    return {"type": "MultiLineString", "coordinates": [to_lonlat_coords(p) for p in parts]}


def segment_feature(seg: Segment, rng: random.Random) -> dict:
    road = seg.road
    return {
        "type": "Feature",
        "id": seg.key,
        "properties": {
            "路线编码": road.code,
            "路线名称": road.name,
            "行政等级": road.level,
            "起点桩号": stake(seg.start_m),
            "止点桩号": stake(seg.end_m),
            "列养里程": km_string(seg.end_m - seg.start_m),
            "技术等级": seg.grade,
            "路面类型": seg.surface,
            "路面宽度": road.width,
            "所属乡镇": seg.town.name,
            "所属村": road.village.name if road.village else "",
            "是否列养": "是" if road.listed else "否",
            "公路站": seg.station,
        },
        "geometry": segment_geometry(seg, rng),
    }


def geojson_text(features: list[dict]) -> str:
    """One feature per line keeps diffs of the committed file readable."""
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    return '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"


# --------------------------------------------------------------------------
# Output: CSVs (villages, roster of 路长 and maintainers)
# --------------------------------------------------------------------------
def csv_text(header: list[str], rows: list[list[str]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def villages_csv(villages: list[Village]) -> str:
    return csv_text(["town_code", "village_code", "village_name"], [[v.town.code, v.code, v.name] for v in villages])


SURNAMES = "王李张马杨刘陈赵周吴徐孙朱胡郭何高罗郑梁谢宋唐许韩冯邓曹彭田丁金袁蒋白海纳虎苏魏汪"
GIVEN_CHARS = {  # by gender, so names read naturally
    "m": "建国军华明伟强文斌平勇杰志刚海涛永福生宝林东学忠成德顺利",
    "f": "红霞芳丽萍燕玉兰秀英梅静娟春花琴慧敏雪莉",
}


class NameMaker:
    """Unique synthetic Chinese names (surnames include local Hui ones: 马 海 纳 虎 丁)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def __call__(self) -> str:
        while True:
            chars = GIVEN_CHARS[self.rng.choice("mmf")]
            given = "".join(self.rng.choice(chars) for _ in range(self.rng.choice((1, 2, 2))))
            name = self.rng.choice(SURNAMES) + given
            if name not in self.used:
                self.used.add(name)
                return name


MAINTAINER_TITLES = {"保洁员": "保洁员", "公益性岗位": "公益性岗位护路员", "统筹聘用": "统筹聘用养护员"}


def roster_rows(rng: random.Random, villages: list[Village], segments: list[Segment]) -> list[list[str]]:
    """The 路长 roster: city → station → towns → villages → segment maintainers."""
    new_name = NameMaker(rng)
    phones = iter(rng.sample(range(10_000), 400))
    rows: list[list[str]] = []

    def add(position: str, title: str, kind: str, scope: str, start: str = START_DATE, end: str = "") -> None:
        rows.append(
            [
                f"RC{len(rows) + 1:04d}",
                new_name(),
                position,
                title,
                f"1399510{next(phones):04d}",
                kind,
                scope,
                start,
                end,
            ]
        )

    add("总路长", "市长", "city", COUNTY_CODE)
    add("副总路长", "常务副市长", "city", COUNTY_CODE)
    add("副总路长", "副市长", "city", COUNTY_CODE)
    add("市级路长", "市交通运输局局长", "city", COUNTY_CODE)
    add("市级副路长", "市交通运输局副局长", "city", COUNTY_CODE)
    add("市镇道路长", "市公路管理段段长", "city", COUNTY_CODE)
    add("公路站路长", f"{STATION_NAME}站长", "station", STATION_CODE)
    for town in TOWNS:
        head = "场长" if town.name.endswith("林场") else "镇长"
        add("镇级路长", f"{town.name}{head}", "town", town.code)
    for town_name in ("小坝镇", "叶盛镇"):
        add("片区路长", f"{town_name}片区路长", "town", TOWN_BY_NAME[town_name].code)
    for v in villages:
        # Farm units have a 队长/站长 instead of a 村委会主任.
        title = f"{v.name}{v.name[-1]}长" if v.is_farm_unit else f"{v.name}村委会主任"
        if v.name == HANDOVER_VILLAGE:
            add("村级路长", title, "village", v.code, end=HANDOVER_END)
            add("村级路长", title, "village", v.code, start=HANDOVER_START)
        else:
            add("村级路长", title, "village", v.code)

    listed_village_segments = [s for s in segments if s.road.level == "村道" and s.road.listed]
    positions = ["保洁员"] * 14 + ["公益性岗位"] * 10 + ["统筹聘用"] * 6
    for seg, position in zip(rng.sample(listed_village_segments, len(positions)), positions):
        add(position, f"{seg.road.village.name}{MAINTAINER_TITLES[position]}", "segment", seg.key)
    return rows


def chiefs_csv(rows: list[list[str]]) -> str:
    header = ["chief_code", "name", "position", "title", "phone", "scope_kind", "scope_code", "start_date", "end_date"]
    return csv_text(header, rows)


# --------------------------------------------------------------------------
# Checks the generator insists on before writing anything
# --------------------------------------------------------------------------
def check_contract(segments: list[Segment]) -> None:
    def listed_total(level: str) -> int:
        return sum(s.end_m - s.start_m for s in segments if s.road.level == level and s.road.listed)

    assert listed_total("镇道") == TOWN_ROAD_TOTAL_M, listed_total("镇道")
    assert listed_total("村道") == VILLAGE_ROAD_TOTAL_M, listed_total("村道")
    for s in segments:
        drawn = s.line.length
        listed = s.end_m - s.start_m
        assert abs(drawn - listed) <= 0.005 * listed, (s.key, drawn, listed)
        for x, y in s.line.coords:
            assert point_inside(x, y, margin=0.0), (s.key, x, y)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
def build(seed: int = SEED) -> dict[str, str]:
    """Build everything; return {file name: text}. Pure apart from CPU."""
    rng = random.Random(seed)
    villages = build_villages()
    place_villages(rng, villages)
    roads = (
        build_city_roads(rng)
        + build_town_roads(rng, villages)
        + build_village_roads(rng, villages)
        + build_special_roads(rng)
    )
    roads.sort(key=lambda r: (LEVEL_ORDER[r.level], r.code))

    segments = [seg for road in roads for seg in cut_segments(road)]
    mark_multipart_segments(rng, segments)
    assign_station(rng, segments)
    check_contract(segments)

    features = [segment_feature(seg, rng) for seg in segments]
    # The roster has its own stream (still derived from the seed), so editing
    # the roster never reshuffles the road network.
    roster = roster_rows(random.Random(f"{seed}:roster"), villages, segments)
    return {
        GEOJSON_NAME: geojson_text(features),
        VILLAGES_NAME: villages_csv(villages),
        CHIEFS_NAME: chiefs_csv(roster),
    }


def main(out_dir: Path | str = HERE) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in build().items():
        path = out_dir / name
        path.write_bytes(text.encode("utf-8"))  # bytes: no platform newline translation
        written.append(path)
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", default=str(HERE), help="where to write (default: next to this script)")
    for p in main(parser.parse_args().out_dir):
        print(f"wrote {p} ({p.stat().st_size:,} bytes)")
