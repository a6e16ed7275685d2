"""Checks on the synthetic demo road network in data/roads/.

Lengths are compared with Decimal (never float): the totals are the project's
contract and must be exact to the metre.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
from collections import Counter, defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pyproj import Transformer
from shapely.geometry import LineString, shape

ROADS_DIR = Path(__file__).resolve().parents[2] / "data" / "roads"
GEOJSON = ROADS_DIR / "demo_network.geojson"
VILLAGES_CSV = ROADS_DIR / "villages.csv"
CHIEFS_CSV = ROADS_DIR / "chiefs.csv"
GENERATOR = ROADS_DIR / "generate_demo.py"

LON_MIN, LAT_MIN, LON_MAX, LAT_MAX = 105.61, 37.61, 106.23, 38.26
TOWN_CODES = {
    "小坝镇": "640381100",
    "大坝镇": "640381101",
    "青铜峡镇": "640381102",
    "叶盛镇": "640381103",
    "瞿靖镇": "640381104",
    "峡口镇": "640381105",
    "邵岗镇": "640381106",
    "陈袁滩镇": "640381107",
    "树新林场": "640381401",
}
LEVEL_PREFIX = {"市道": "X", "镇道": "Y", "村道": "C", "专用公路": "Z"}
PROPERTY_NAMES = [
    "路线编码",
    "路线名称",
    "行政等级",
    "起点桩号",
    "止点桩号",
    "列养里程",
    "技术等级",
    "路面类型",
    "路面宽度",
    "所属乡镇",
    "所属村",
    "是否列养",
    "公路站",
]
STAKE_RE = re.compile(r"^K(\d+)\+(\d{3})$")
CODE_RE = re.compile(r"^[XYCZ]\d{3}640381$")
KM_RE = re.compile(r"^\d+\.\d{3}$")


def stake_m(text: str) -> int:
    m = STAKE_RE.match(text)
    assert m, f"bad stake {text!r}"
    return int(m.group(1)) * 1000 + int(m.group(2))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def features() -> list[dict]:
    return json.loads(GEOJSON.read_text(encoding="utf-8"))["features"]


@pytest.fixture(scope="module")
def props(features) -> list[dict]:
    return [f["properties"] for f in features]


@pytest.fixture(scope="module")
def villages() -> list[dict[str, str]]:
    return read_csv(VILLAGES_CSV)


@pytest.fixture(scope="module")
def chiefs() -> list[dict[str, str]]:
    return read_csv(CHIEFS_CSV)


def listed_total(props: list[dict], level: str) -> Decimal:
    return sum(
        (Decimal(p["列养里程"]) for p in props if p["行政等级"] == level and p["是否列养"] == "是"), Decimal("0")
    )


def lines_of(geometry: dict) -> list[list[list[float]]]:
    if geometry["type"] == "LineString":
        return [geometry["coordinates"]]
    assert geometry["type"] == "MultiLineString"
    return geometry["coordinates"]


# ---------------------------------------------------------------- contract
def test_listed_totals_are_exact(props):
    assert listed_total(props, "镇道") == Decimal("388.701")
    assert listed_total(props, "村道") == Decimal("777.554")
    assert listed_total(props, "镇道") + listed_total(props, "村道") == Decimal("1166.255")


def test_unlisted_and_other_levels_exist_outside_the_totals(props):
    unlisted = [p for p in props if p["是否列养"] == "否"]
    assert len(unlisted) == 2 and all(p["行政等级"] == "村道" for p in unlisted)
    assert {p["是否列养"] for p in props} == {"是", "否"}
    city_roads = {p["路线编码"] for p in props if p["行政等级"] == "市道"}
    special_roads = {p["路线编码"] for p in props if p["行政等级"] == "专用公路"}
    assert len(city_roads) == 4 and Decimal(60) <= listed_total(props, "市道") <= Decimal(100)
    assert len(special_roads) == 2 and Decimal(10) <= listed_total(props, "专用公路") <= Decimal(20)


# ---------------------------------------------------------------- attributes
def test_feature_collection_shape(features):
    doc = json.loads(GEOJSON.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    assert GEOJSON.stat().st_size < 2_000_000
    multi = [f for f in features if f["geometry"]["type"] == "MultiLineString"]
    assert 2 <= len(multi) <= 3
    assert all(f["geometry"]["type"] in ("LineString", "MultiLineString") for f in features)
    assert all(list(f["properties"]) == PROPERTY_NAMES for f in features)


def test_codes_and_levels_agree(props):
    names_by_code = defaultdict(set)
    for p in props:
        assert CODE_RE.match(p["路线编码"]), p["路线编码"]
        assert p["路线编码"][0] == LEVEL_PREFIX[p["行政等级"]]
        assert p["所属乡镇"] in TOWN_CODES
        assert p["技术等级"] in {"二级", "三级", "四级", "等外"}
        assert p["路面类型"] in {"沥青", "水泥", "砂石", "土"}
        assert re.match(r"^\d+\.\d$", p["路面宽度"])
        names_by_code[p["路线编码"]].add(p["路线名称"])
    assert all(len(names) == 1 for names in names_by_code.values()), "one name per road code"
    for p in props:
        width = Decimal(p["路面宽度"])
        if p["行政等级"] == "镇道":
            assert Decimal("6.0") <= width <= Decimal("7.0")
        if p["行政等级"] == "村道":
            assert Decimal("3.5") <= width <= Decimal("5.0")


def test_station_holds_a_few_town_road_segments(props):
    held = [p for p in props if p["公路站"]]
    assert 2 <= len(held) <= 3
    assert all(p["公路站"] == "青铜峡公路站" and p["行政等级"] == "镇道" for p in held)
    assert {p["所属乡镇"] for p in held} == {"小坝镇", "瞿靖镇"}


# ---------------------------------------------------------------- stakes
def test_stakes_are_well_formed_and_match_listed_km(props):
    for p in props:
        start, end = stake_m(p["起点桩号"]), stake_m(p["止点桩号"])
        assert end > start, p
        assert KM_RE.match(p["列养里程"]), p["列养里程"]
        assert Decimal(p["列养里程"]) == Decimal(end - start) / 1000, p


def test_stake_ranges_never_overlap_on_a_road(props):
    ranges = defaultdict(list)
    for p in props:
        ranges[p["路线编码"]].append((stake_m(p["起点桩号"]), stake_m(p["止点桩号"])))
    for code, spans in ranges.items():
        spans.sort()
        for (_, prev_end), (start, _) in zip(spans, spans[1:]):
            assert start >= prev_end, f"{code}: overlapping stakes"


def test_consecutive_segments_join_end_to_start(features):
    by_road = defaultdict(list)
    for f in features:
        by_road[f["properties"]["路线编码"]].append(f)
    for code, segs in by_road.items():
        segs.sort(key=lambda f: stake_m(f["properties"]["起点桩号"]))
        for a, b in zip(segs, segs[1:]):
            if a["properties"]["止点桩号"] == b["properties"]["起点桩号"]:
                assert lines_of(a["geometry"])[-1][-1] == lines_of(b["geometry"])[0][0], code


# ---------------------------------------------------------------- geometry
def test_all_coordinates_inside_city_extent(features):
    for f in features:
        for line in lines_of(f["geometry"]):
            for lon, lat in line:
                assert LON_MIN <= lon <= LON_MAX and LAT_MIN <= lat <= LAT_MAX, f["id"]
                assert round(lon, 6) == lon and round(lat, 6) == lat


def test_geometry_length_matches_listed_km_in_gauss_kruger(features):
    to_gk = Transformer.from_crs("EPSG:4326", "EPSG:4544", always_xy=True)
    for f in features:
        metres = 0.0
        for line in lines_of(f["geometry"]):
            xs, ys = to_gk.transform([c[0] for c in line], [c[1] for c in line])
            metres += LineString(zip(xs, ys)).length
        listed = float(Decimal(f["properties"]["列养里程"]) * 1000)
        assert abs(metres - listed) <= 0.02 * listed, (f["id"], metres, listed)


def test_multilinestring_parts_touch(features):
    for f in features:
        if f["geometry"]["type"] == "MultiLineString":
            parts = f["geometry"]["coordinates"]
            assert len(parts) == 2 and parts[0][-1] == parts[1][0], f["id"]
            assert shape(f["geometry"]).is_valid


# ---------------------------------------------------------------- villages
def test_village_codes_extend_their_town_code(villages):
    assert {v["town_code"] for v in villages} == set(TOWN_CODES.values())
    assert len({v["village_code"] for v in villages}) == len(villages)
    for v in villages:
        assert re.match(r"^\d{12}$", v["village_code"])
        assert v["village_code"].startswith(v["town_code"])
        assert v["village_code"][9] == "2"
    per_town = Counter(v["town_code"] for v in villages)
    assert all(2 <= n <= 9 for n in per_town.values())


def test_village_roads_belong_to_a_village_of_the_same_town(props, villages):
    known = {(v["town_code"], v["village_name"]) for v in villages}
    for p in props:
        if p["行政等级"] == "村道":
            assert (TOWN_CODES[p["所属乡镇"]], p["所属村"]) in known, p
        else:
            assert p["所属村"] == "", p


def test_every_village_has_a_listed_village_road(props, villages):
    with_roads = {
        (TOWN_CODES[p["所属乡镇"]], p["所属村"]) for p in props if p["行政等级"] == "村道" and p["是否列养"] == "是"
    }
    assert {(v["town_code"], v["village_name"]) for v in villages} <= with_roads


# ---------------------------------------------------------------- roster
def active_on(row: dict[str, str], day: date) -> bool:
    start = date.fromisoformat(row["start_date"])
    return start <= day and (not row["end_date"] or day <= date.fromisoformat(row["end_date"]))


def test_roster_fields(chiefs):
    assert [r["chief_code"] for r in chiefs] == [f"RC{i:04d}" for i in range(1, len(chiefs) + 1)]
    phones = [r["phone"] for r in chiefs]
    assert len(set(phones)) == len(phones)
    assert all(re.match(r"^1399510\d{4}$", ph) for ph in phones)
    positions = Counter(r["position"] for r in chiefs)
    for position in ("总路长", "副总路长", "市级路长", "市级副路长", "市镇道路长", "公路站路长"):
        assert positions[position] >= 1, position
    assert positions["片区路长"] == 2
    maintainers = sum(positions[p] for p in ("保洁员", "公益性岗位", "统筹聘用"))
    assert 25 <= maintainers <= 35


def test_every_town_has_villages_and_a_town_chief(villages, chiefs):
    town_chiefs = {r["scope_code"] for r in chiefs if r["position"] == "镇级路长" and r["scope_kind"] == "town"}
    for code in TOWN_CODES.values():
        assert any(v["town_code"] == code for v in villages), code
        assert code in town_chiefs, code


def test_every_village_has_a_village_chief_on_2022_01_01(villages, chiefs):
    day = date(2022, 1, 1)
    for v in villages:
        active = [
            r
            for r in chiefs
            if r["position"] == "村级路长"
            and r["scope_kind"] == "village"
            and r["scope_code"] == v["village_code"]
            and active_on(r, day)
        ]
        assert len(active) == 1, v


def test_one_mid_year_handover(chiefs):
    ended = [r for r in chiefs if r["end_date"]]
    assert len(ended) == 1 and ended[0]["end_date"] == "2022-05-15"
    successor = [r for r in chiefs if r["scope_code"] == ended[0]["scope_code"] and r["start_date"] == "2022-05-16"]
    assert len(successor) == 1 and successor[0]["position"] == "村级路长"
    assert active_on(successor[0], date(2022, 6, 1)) and not active_on(ended[0], date(2022, 6, 1))


def test_segment_scopes_point_at_listed_village_road_segments(features, chiefs):
    listed_village_segments = {
        f"{p['路线编码']}:{p['起点桩号']}-{p['止点桩号']}"
        for p in (f["properties"] for f in features)
        if p["行政等级"] == "村道" and p["是否列养"] == "是"
    }
    for r in chiefs:
        if r["scope_kind"] == "segment":
            assert r["position"] in {"保洁员", "公益性岗位", "统筹聘用"}
            assert r["scope_code"] in listed_village_segments, r
        if r["scope_kind"] == "station":
            assert r["scope_code"] == "GLZ01"


# ---------------------------------------------------------------- generator
def test_generator_is_deterministic(tmp_path, monkeypatch):
    spec = importlib.util.spec_from_file_location("generate_demo", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is built
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    for committed in (GEOJSON, VILLAGES_CSV, CHIEFS_CSV):
        assert (tmp_path / committed.name).read_bytes() == committed.read_bytes(), committed.name
