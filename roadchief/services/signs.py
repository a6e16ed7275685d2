"""路长公示牌 (第七条): what a road's or a segment's public sign shows, its short URL and QR code.

Only information meant for the public is gathered here: route code and name,
stakes, listed length, the 路长 at each level (name, title, phone), their duties
(第六条), the 管护目标, the 监督电话 and the latest grade. Nothing internal
(measured lengths, geometry, funding, chief codes) is put on a sign.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import segno
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from roadchief.domain.clock import beijing_today
from roadchief.domain.grades import grade_for
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Road, Segment, Town
from roadchief.services.chiefs import POSITION_NAMES, AssignmentIndex, ChiefOnSegment
from roadchief.services.units import latest_scores, unit_key_for_segment

SIGN_TITLE = "农村公路路长公示牌"
CARE_GOAL = "畅、安、舒、美"

# The levels a sign shows (第四条's three tiers, plus the 公路站 where one holds the
# segment) and the positions counted at each. 总路长/副总路长/副路长 and the
# maintainers (保洁员 …) are not put on roadside signs.
SIGN_LEVELS = (
    ("市级", ("city", "city_town_roads")),
    ("公路站", ("station",)),
    ("镇级", ("town", "area")),
    ("村级", ("village",)),
)
LEVEL_OF_POSITION = {code: level for level, codes in SIGN_LEVELS for code in codes}
SIGN_POSITION_ORDER = {code: i for i, code in enumerate(code for _, codes in SIGN_LEVELS for code in codes)}

# One line per position, condensed from 第六条.
DUTIES = {
    "city": "督促落实总路长、副总路长工作要求，统筹全市农村公路管养、运营工作。",
    "city_town_roads": "落实市级路长办公室工作部署，督查指导考核镇级路长和公路站路长日常履职。",
    "station": "负责管养区域公路日常养护、路域环境整治、汛期水毁抢修、冬季防滑保畅。",
    "town": "落实市级路长办公室工作部署，建立本镇路长制管理体系，加强督导辖区道路管养。",
    "village": "负责本村管养道路日常养护、路域环境整治、汛期水毁抢修、冬季防滑保畅。",
}

# The chief a public report goes to (第八条 市道市管，镇村道镇村管): the first position
# found on the segment, in this order of preference.
RESPONSIBLE_POSITIONS = {
    "村道": ("village", "town", "city_town_roads"),
    "镇道": ("town", "station", "city_town_roads"),
    "市道": ("city_town_roads", "station", "city"),
    "专用公路": ("town", "city_town_roads", "city"),
}
SCOPE_SPECIFICITY = {"segment": 0, "road": 1, "village": 2, "station": 3, "town": 4, "city": 5}


@dataclass(frozen=True)
class SignChief:
    chief_id: int
    level: str
    position: str
    position_name: str
    name: str
    title: str
    phone: str


@dataclass(frozen=True)
class Grade:
    period: str  # "2022年第1季度"
    score: Decimal
    grade: str
    unit_label: str


@dataclass
class SegmentGroup:
    """Segments of a road answered for by the same chiefs."""

    segments: list[Segment]
    chiefs: list[SignChief]
    grades: list[Grade] = field(default_factory=list)

    @property
    def stakes(self) -> list[str]:
        return [f"{format_stake(s.start_m)}—{format_stake(s.end_m)}" for s in self.segments]

    @property
    def stake_items(self) -> list[tuple[int, str]]:
        return [(s.id, f"{format_stake(s.start_m)}—{format_stake(s.end_m)}") for s in self.segments]

    @property
    def places(self) -> str:
        names = []
        for s in self.segments:
            label = s.town.name + (s.village.name if s.village else "")
            if label not in names:
                names.append(label)
        return "、".join(names)

    @property
    def listed_km(self) -> Decimal:
        return _km(sum(s.listed_m for s in self.segments if s.is_listed))


@dataclass(frozen=True)
class ChiefRow:
    """A chief on the printed sign, with the stakes answered for when not the whole road."""

    chief: SignChief
    stakes: str | None


@dataclass
class Sign:
    kind: str  # "road" / "segment"
    road: Road
    segment: Segment | None
    segments: list[Segment]
    groups: list[SegmentGroup]
    url: str
    supervision_phone: str

    @property
    def code(self) -> str:
        return self.road.code

    @property
    def name(self) -> str:
        return self.road.name

    @property
    def road_class(self) -> str:
        return self.road.road_class

    @property
    def start_stake(self) -> str:
        return format_stake(min(s.start_m for s in self.segments))

    @property
    def end_stake(self) -> str:
        return format_stake(max(s.end_m for s in self.segments))

    @property
    def listed_km(self) -> Decimal:
        return _km(sum(s.listed_m for s in self.segments if s.is_listed))

    @property
    def places(self) -> str:
        names: list[str] = []
        for s in self.segments:
            if s.town.name not in names:
                names.append(s.town.name)
        return "、".join(names)

    @property
    def chief_rows(self) -> list[ChiefRow]:
        """Every chief once, in level order; partial coverage names the stakes."""
        covered: dict[tuple[int, str], list[Segment]] = {}
        chiefs: dict[tuple[int, str], SignChief] = {}
        for group in self.groups:
            for c in group.chiefs:
                key = (c.chief_id, c.position)
                chiefs[key] = c
                covered.setdefault(key, []).extend(group.segments)
        rows = []
        everything = {s.id for s in self.segments}
        for key, chief in chiefs.items():
            segs = sorted(covered[key], key=lambda s: s.start_m)
            stakes = None if {s.id for s in segs} == everything else "、".join(_merge_stakes(segs))
            rows.append(ChiefRow(chief, stakes))
        rows.sort(key=lambda r: (SIGN_POSITION_ORDER[r.chief.position], r.stakes or "", r.chief.name))
        return rows

    @property
    def duties(self) -> list[tuple[str, str]]:
        present = {r.chief.position for r in self.chief_rows}
        return [
            (POSITION_NAMES[code], DUTIES[code]) for code in SIGN_POSITION_ORDER if code in present and code in DUTIES
        ]

    @property
    def grades(self) -> list[Grade]:
        seen, out = set(), []
        for group in self.groups:
            for g in group.grades:
                if g.unit_label not in seen:
                    seen.add(g.unit_label)
                    out.append(g)
        return out


def _km(metres: int) -> Decimal:
    return (Decimal(metres) / 1000).quantize(Decimal("0.001"))


def _merge_stakes(segments: list[Segment]) -> list[str]:
    """Adjacent stake ranges joined: K0+000—K1+000 and K1+000—K2+500 → K0+000—K2+500."""
    spans: list[list[int]] = []
    for s in segments:
        if spans and s.start_m <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], s.end_m)
        else:
            spans.append([s.start_m, s.end_m])
    return [f"{format_stake(a)}—{format_stake(b)}" for a, b in spans]


def public_url(path: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/") + path


def road_path(code: str) -> str:
    return f"/p/r/{code}"


def segment_path(segment_id: int) -> str:
    return f"/p/s/{segment_id}"


class SignContext:
    """What several signs share (one query for assignments, one for scores)."""

    def __init__(self, day: date | None = None):
        self.day = day or beijing_today()
        self.index = AssignmentIndex(self.day)
        self.scores = latest_scores()

    def sign_chiefs(self, segment: Segment) -> list[SignChief]:
        out, seen = [], set()
        for c in self.index.chiefs_for(segment):
            level = LEVEL_OF_POSITION.get(c.position)
            if level is None or (c.chief.id, c.position) in seen:
                continue
            seen.add((c.chief.id, c.position))
            out.append(
                SignChief(
                    c.chief.id,
                    level,
                    c.position,
                    POSITION_NAMES[c.position],
                    c.chief.name,
                    c.chief.title or "",
                    c.chief.phone or "",
                )
            )
        out.sort(key=lambda c: (SIGN_POSITION_ORDER[c.position], c.name))
        return out

    def grade(self, segment: Segment) -> Grade | None:
        key = unit_key_for_segment(
            segment.road.road_class,
            segment.town.code,
            segment.village.code if segment.village else None,
            segment.station.code if segment.station else None,
        )
        if key is None or key not in self.scores:
            return None
        period, score = self.scores[key]
        year, quarter = period.split("Q")
        kind = key.split(":", 1)[0]
        label = {
            "village": segment.village.name if segment.village else "",
            "station": segment.station.name if segment.station else "",
            "town": segment.town.name,
        }[kind]
        return Grade(f"{year}年第{quarter}季度", score, grade_for(score), label)

    def groups(self, segments: list[Segment]) -> list[SegmentGroup]:
        groups: dict[tuple, SegmentGroup] = {}
        for segment in segments:
            chiefs = self.sign_chiefs(segment)
            key = tuple((c.chief_id, c.position) for c in chiefs)
            group = groups.get(key)
            if group is None:
                group = groups[key] = SegmentGroup([], chiefs)
            group.segments.append(segment)
            grade = self.grade(segment)
            if grade and grade not in group.grades:
                group.grades.append(grade)
        return list(groups.values())

    def road_sign(self, road: Road) -> Sign:
        segments = sorted(road.segments, key=lambda s: s.start_m)
        return Sign(
            "road",
            road,
            None,
            segments,
            self.groups(segments),
            public_url(road_path(road.code)),
            current_app.config["SUPERVISION_PHONE"],
        )

    def segment_sign(self, segment: Segment) -> Sign:
        return Sign(
            "segment",
            segment.road,
            segment,
            [segment],
            self.groups([segment]),
            public_url(segment_path(segment.id)),
            current_app.config["SUPERVISION_PHONE"],
        )


def _segment_options():
    return (
        selectinload(Segment.town),
        selectinload(Segment.village),
        selectinload(Segment.station),
        selectinload(Segment.road),
    )


def find_road(code: str) -> Road | None:
    code = (code or "").strip().upper()
    if not code or len(code) > 20:
        return None
    return db.session.scalar(
        select(Road).where(Road.code == code).options(selectinload(Road.segments).options(*_segment_options()))
    )


def find_segment(segment_id: int) -> Segment | None:
    return db.session.scalar(select(Segment).where(Segment.id == segment_id).options(*_segment_options()))


def town_roads(town: Town) -> list[Road]:
    """Roads with at least one segment in the town, by code."""
    road_ids = select(Segment.road_id).where(Segment.town_id == town.id)
    return list(
        db.session.scalars(
            select(Road)
            .where(Road.id.in_(road_ids))
            .order_by(Road.code)
            .options(selectinload(Road.segments).options(*_segment_options()))
        )
    )


def search_roads(text: str, limit: int = 50) -> list[Road]:
    text = (text or "").strip()[:40]
    if not text:
        return []
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(
        db.session.scalars(
            select(Road)
            .where(Road.code.ilike(like, escape="\\") | Road.name.ilike(like, escape="\\"))
            .order_by(Road.code)
            .limit(limit)
        )
    )


def responsible_chief(segment: Segment, index: AssignmentIndex | None = None) -> int | None:
    """The chief a public report on this segment goes to: 村级路长 for 村道, 镇级路长 for
    镇道, 市、镇道路长 for 市道 (falling back along RESPONSIBLE_POSITIONS)."""
    index = index or AssignmentIndex(beijing_today())
    chiefs: list[ChiefOnSegment] = index.chiefs_for(segment)
    for position in RESPONSIBLE_POSITIONS.get(segment.road.road_class, ()):
        matching = [c for c in chiefs if c.position == position]
        if matching:
            matching.sort(key=lambda c: (SCOPE_SPECIFICITY.get(c.scope_kind, 9), c.chief.id))
            return matching[0].chief.id
    return None


# ---------- QR codes ----------


def qr_code(url: str) -> segno.QRCode:
    # error level M survives a scratched or dirty roadside sign
    return segno.make(url, error="m", micro=False)


def qr_png(url: str, scale: int = 10) -> bytes:
    out = io.BytesIO()
    qr_code(url).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def qr_svg(url: str) -> bytes:
    out = io.BytesIO()
    qr_code(url).save(out, kind="svg", scale=10, border=4, xmldecl=True, svgns=True, title=url)
    return out.getvalue()
