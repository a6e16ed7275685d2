import re

import pytest

from roadchief.domain.roads import (
    CHIEF_POSITIONS,
    CLASS_BY_PREFIX,
    REQUIRED_CHIEF_LEVEL,
    ROAD_CLASSES,
    SURFACES,
    TECH_GRADES,
    class_from_code,
    normalize_class,
    normalize_surface,
    normalize_tech_grade,
    position_by_name,
    required_positions,
    validate_road_code,
)


def test_constants():
    assert ROAD_CLASSES == ("市道", "镇道", "村道", "专用公路")
    assert CLASS_BY_PREFIX == {"X": "市道", "Y": "镇道", "C": "村道", "Z": "专用公路"}
    assert TECH_GRADES == ("一级", "二级", "三级", "四级", "等外")
    assert SURFACES == ("沥青", "水泥", "砂石", "土", "其他")
    assert REQUIRED_CHIEF_LEVEL == {"镇道": "town", "村道": "village"}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("市道", "市道"),
        ("镇道", "镇道"),
        ("村道", "村道"),
        ("专用公路", "专用公路"),
        ("X", "市道"),
        ("y", "镇道"),
        ("c", "村道"),
        ("Z", "专用公路"),
        (" 村道 ", "村道"),
        ("县道", "市道"),
        ("乡道", "镇道"),
        ("专用道路", "专用公路"),
        ("Ｃ", "村道"),
    ],
)
def test_normalize_class(value, expected):
    assert normalize_class(value) == expected


@pytest.mark.parametrize("value", ["国道", "", "XY", None, 3])
def test_normalize_class_names_the_bad_value(value):
    with pytest.raises(ValueError, match=re.escape(repr(value))):
        normalize_class(value)


@pytest.mark.parametrize(
    "code, expected",
    [
        ("y012640381", "Y012640381"),
        (" X101 ", "X101"),
        ("C001640381", "C001640381"),
        ("Z" + "9" * 15, "Z" + "9" * 15),
        ("ｃ００１６４０３８１", "C001640381"),
    ],
)
def test_validate_road_code(code, expected):
    assert validate_road_code(code) == expected


@pytest.mark.parametrize("code", ["G109", "X12", "X" + "1" * 16, "X10-1", "", "村道001", None])
def test_validate_road_code_refuses(code):
    with pytest.raises(ValueError):
        validate_road_code(code)


def test_class_from_code():
    assert class_from_code("C001640381") == "村道"
    assert class_from_code("y012640381") == "镇道"
    assert class_from_code("X101640381") == "市道"
    assert class_from_code("Z001640381") == "专用公路"
    with pytest.raises(ValueError):
        class_from_code("S101")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("一级", "一级"),
        ("二级公路", "二级"),
        ("3级", "三级"),
        ("4级", "四级"),
        ("四级公路", "四级"),
        ("四", "四级"),
        ("Ⅳ级", "四级"),
        ("iv级", "四级"),
        ("等外", "等外"),
        ("等外公路", "等外"),
        ("等外路", "等外"),
        (" 4 ", "四级"),
    ],
)
def test_normalize_tech_grade(value, expected):
    assert normalize_tech_grade(value) == expected


@pytest.mark.parametrize("value", ["五级", "高速", "", "0级"])
def test_normalize_tech_grade_refuses(value):
    with pytest.raises(ValueError):
        normalize_tech_grade(value)


@pytest.mark.parametrize(
    "value, expected",
    [
        ("沥青", "沥青"),
        ("沥青混凝土", "沥青"),
        ("沥青混凝土路面", "沥青"),
        ("沥青路面", "沥青"),
        ("水泥", "水泥"),
        ("水泥混凝土", "水泥"),
        ("水泥混凝土路面", "水泥"),
        ("砂石", "砂石"),
        ("砂石路面", "砂石"),
        ("砂砾", "砂石"),
        ("土", "土"),
        ("土路", "土"),
        ("土路面", "土"),
        ("其它", "其他"),
        ("其他", "其他"),
    ],
)
def test_normalize_surface(value, expected):
    assert normalize_surface(value) == expected


def test_normalize_surface_refuses():
    with pytest.raises(ValueError, match="玻璃"):
        normalize_surface("玻璃")


def test_chief_positions_in_order():
    assert [p.code for p in CHIEF_POSITIONS] == [
        "chief_total",
        "chief_deputy_total",
        "city",
        "city_deputy",
        "city_town_roads",
        "area",
        "station",
        "town",
        "village",
        "cleaner",
        "public_welfare",
        "hired",
    ]
    assert [p.name for p in CHIEF_POSITIONS][:5] == ["总路长", "副总路长", "市级路长", "市级副路长", "市镇道路长"]
    assert {p.code for p in CHIEF_POSITIONS if p.level == "maintainer"} == {"cleaner", "public_welfare", "hired"}


def test_position_by_name_or_code():
    assert position_by_name("镇级路长").code == "town"
    assert position_by_name("village").name == "村级路长"
    assert position_by_name(" 公路站路长 ").code == "station"
    assert position_by_name("市、镇道路长").code == "city_town_roads"
    assert position_by_name("保洁员").level == "maintainer"
    with pytest.raises(ValueError, match="河长"):
        position_by_name("河长")


def test_required_positions_article_8():
    assert [p.code for p in required_positions("镇道")] == ["town"]
    assert [p.code for p in required_positions("C")] == ["village"]
    assert required_positions("市道") == ()
    assert required_positions("专用公路") == ()
    with pytest.raises(ValueError):
        required_positions("国道")
