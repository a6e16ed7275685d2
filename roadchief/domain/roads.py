"""Road classes, route codes, technical grades, surfaces and 路长 positions.

第三条: the scope is 市道, 专用公路, 镇道 and 村道. 青铜峡 is a county-level
city, so its X-coded (县道) routes are 市道 and its Y-coded (乡道) routes 镇道.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

ROAD_CLASSES = ("市道", "镇道", "村道", "专用公路")
CLASS_BY_PREFIX = {"X": "市道", "Y": "镇道", "C": "村道", "Z": "专用公路"}

_CLASS_ALIASES = {
    **{name: name for name in ROAD_CLASSES},
    **CLASS_BY_PREFIX,
    "县道": "市道",
    "乡道": "镇道",
    "专用道路": "专用公路",
}

_ROAD_CODE = re.compile(r"^[XYCZ][A-Z0-9]{3,15}$")

TECH_GRADES = ("一级", "二级", "三级", "四级", "等外")
SURFACES = ("沥青", "水泥", "砂石", "土", "其他")

_GRADE_NUMERALS = {
    "一": "一级",
    "二": "二级",
    "三": "三级",
    "四": "四级",
    "1": "一级",
    "2": "二级",
    "3": "三级",
    "4": "四级",
    "I": "一级",
    "II": "二级",
    "III": "三级",
    "IV": "四级",
}

_SURFACE_ALIASES = {
    "沥青": "沥青",
    "沥青混凝土": "沥青",
    "沥青碎石": "沥青",
    "沥青表处": "沥青",
    "柏油": "沥青",
    "水泥": "水泥",
    "水泥混凝土": "水泥",
    "混凝土": "水泥",
    "砼": "水泥",
    "砂石": "砂石",
    "沙石": "砂石",
    "砂砾": "砂石",
    "砂砾石": "砂石",
    "碎石": "砂石",
    "土": "土",
    "土质": "土",
    "土路": "土",
    "其他": "其他",
    "其它": "其他",
}


def _clean(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}为空或不是文字：{value!r}")
    # full-width letters/digits (Ｘ１０１) come from Chinese input methods
    return unicodedata.normalize("NFKC", value).strip()


def normalize_class(value: str) -> str:
    """Any usual spelling of a road class → one of ROAD_CLASSES."""
    text = _clean(value, "公路行政等级")
    result = _CLASS_ALIASES.get(text) or _CLASS_ALIASES.get(text.upper())
    if result is None:
        raise ValueError(f"未知的公路行政等级：{value!r}（应为 市道/镇道/村道/专用公路 或 X/Y/C/Z）")
    return result


def validate_road_code(code: str) -> str:
    """Route code normalised to upper case, e.g. "y012640381" → "Y012640381"."""
    text = _clean(code, "路线编码").upper()
    if not _ROAD_CODE.match(text):
        raise ValueError(f"路线编码不正确：{code!r}（应为 X/Y/C/Z 开头，后接3至15位字母或数字）")
    return text


def class_from_code(code: str) -> str:
    """Road class implied by the code's first letter."""
    return CLASS_BY_PREFIX[validate_road_code(code)[0]]


def normalize_tech_grade(value: str) -> str:
    """ "4级", "四级公路", "IV级", "等外公路" … → one of TECH_GRADES."""
    text = _clean(value, "技术等级").upper()
    text = text.removesuffix("公路").removesuffix("路")
    if text == "等外":
        return "等外"
    result = _GRADE_NUMERALS.get(text.removesuffix("级"))
    if result is None:
        raise ValueError(f"未知的技术等级：{value!r}（应为 {'/'.join(TECH_GRADES)}）")
    return result


def normalize_surface(value: str) -> str:
    """ "沥青混凝土", "水泥混凝土路面", "砂石路面" … → one of SURFACES."""
    text = _clean(value, "路面类型").removesuffix("路面")
    result = _SURFACE_ALIASES.get(text)
    if result is None:
        raise ValueError(f"未知的路面类型：{value!r}（应为 {'/'.join(SURFACES)}）")
    return result


class ChiefPosition(NamedTuple):
    code: str
    name: str
    level: str  # "city" / "town" / "village" per 第四条's three tiers, or "maintainer"


# 第五条 names the chiefs; 第六条 adds 片区路长 and 公路站路长 under the 市、镇道路长
# and the 养护人员 hired as 保洁员, 公益性岗位 or 统筹聘用, who are the
# 路段管养责任人 the 村级路长 assesses (第二十条).
CHIEF_POSITIONS = (
    ChiefPosition("chief_total", "总路长", "city"),
    ChiefPosition("chief_deputy_total", "副总路长", "city"),
    ChiefPosition("city", "市级路长", "city"),
    ChiefPosition("city_deputy", "市级副路长", "city"),
    ChiefPosition("city_town_roads", "市镇道路长", "city"),
    ChiefPosition("area", "片区路长", "city"),
    ChiefPosition("station", "公路站路长", "city"),
    ChiefPosition("town", "镇级路长", "town"),
    ChiefPosition("village", "村级路长", "village"),
    ChiefPosition("cleaner", "保洁员", "maintainer"),
    ChiefPosition("public_welfare", "公益性岗位", "maintainer"),
    ChiefPosition("hired", "统筹聘用", "maintainer"),
)

_POSITION_LOOKUP = {key: p for p in CHIEF_POSITIONS for key in (p.code, p.name)}
_POSITION_LOOKUP["市、镇道路长"] = _POSITION_LOOKUP["city_town_roads"]  # 第五条's own wording

# 第八条 市道市管，镇村道镇村管: every 镇道 segment needs a 镇级路长 and every
# 村道 segment a 村级路长.
REQUIRED_CHIEF_LEVEL = {"镇道": "town", "村道": "village"}


def position_by_name(name_or_code: str) -> ChiefPosition:
    """Position by its Chinese name ("镇级路长") or code ("town")."""
    position = _POSITION_LOOKUP.get(_clean(name_or_code, "职务"))
    if position is None:
        raise ValueError(f"未知的路长职务：{name_or_code!r}")
    return position


def required_positions(road_class: str) -> tuple[ChiefPosition, ...]:
    """Positions a segment of this class must have assigned (第八条); () for 市道/专用公路."""
    code = REQUIRED_CHIEF_LEVEL.get(normalize_class(road_class))
    return (position_by_name(code),) if code else ()
