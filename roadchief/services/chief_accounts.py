"""Accounts for the whole roster at once: one 路长 account per person on the roster
(路长 and 路段管养责任人, 第五条、第六条) who has none yet, each with a one-time password
that must be changed at the first sign-in, handed out on a printed slip
(reports/account_slips_pdf.py).

Only the password's hash is stored; the clear passwords exist in the returned slips (in
memory) and on the PDF streamed to the office (or the file the CLI user names).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload
from werkzeug.security import generate_password_hash

from roadchief.domain.clock import beijing_today
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, Segment, Town, User
from roadchief.services import ServiceError
from roadchief.services.audit import record_event
from roadchief.services.chiefs import POSITION_NAMES, POSITION_ORDER
from roadchief.services.transactions import unit_of_work

# no 0/O, 1/l/I: read off paper and typed on a phone
ALPHABET_LETTERS = "abcdefghjkmnpqrstuvwxyz"
ALPHABET_DIGITS = "23456789"
PASSWORD_LENGTH = 10
SUMMARY_MAX = 140


@dataclass(frozen=True)
class Slip:
    chief_id: int
    name: str
    position: str
    title: str
    scope: str
    username: str
    password: str


def one_time_password() -> str:
    """10 characters, letters and digits (passes check_password_strength), from secrets."""
    chars = [secrets.choice(ALPHABET_LETTERS) for _ in range(PASSWORD_LENGTH - 3)]
    chars += [secrets.choice(ALPHABET_DIGITS) for _ in range(3)]
    for i in range(len(chars) - 1, 0, -1):  # Fisher–Yates with secrets
        j = secrets.randbelow(i + 1)
        chars[i], chars[j] = chars[j], chars[i]
    return "".join(chars)


def _active(day: date):
    return (
        ChiefAssignment.start_date <= day,
        or_(ChiefAssignment.end_date.is_(None), ChiefAssignment.end_date >= day),
    )


def _segment_text(segment: Segment) -> str:
    return f"{segment.road.code} {format_stake(segment.start_m)}—{format_stake(segment.end_m)}"


def _describe(assignments: list[ChiefAssignment]) -> str:
    parts: list[str] = []
    segments: dict[str, list[str]] = {}
    for a in assignments:
        if a.scope_kind == "city":
            parts.append("全市")
        elif a.scope_kind == "town":
            parts.append(f"{a.town.name}（全镇）")
        elif a.scope_kind == "village":
            parts.append(f"{a.village.name}（全村）")
        elif a.scope_kind == "station":
            parts.append(f"{a.station.name}")
        elif a.scope_kind == "road":
            parts.append(f"{a.road.code} {a.road.name}")
        else:
            segments.setdefault(a.segment.road.code, []).append(_segment_text(a.segment))
    for texts in segments.values():
        parts.extend(texts)
    text = "；".join(dict.fromkeys(parts)) or "（暂无在任的负责范围）"
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _towns_of(a: ChiefAssignment) -> set[int]:
    if a.scope_kind == "town":
        return {a.town_id}
    if a.scope_kind == "village":
        return {a.village.town_id}
    if a.scope_kind == "segment":
        return {a.segment.town_id}
    if a.scope_kind == "road":
        return set(db.session.scalars(select(Segment.town_id).where(Segment.road_id == a.road_id)))
    if a.scope_kind == "station":
        return set(db.session.scalars(select(Segment.town_id).where(Segment.station_id == a.station_id)))
    return set()  # city-wide: in no single town


def _town(code_or_name: str) -> Town:
    town = db.session.scalar(select(Town).where((Town.code == code_or_name) | (Town.name == code_or_name)))
    if town is None:
        raise ServiceError(f"未知乡镇：{code_or_name}")
    return town


def chiefs_without_account(town: str | None = None, day: date | None = None) -> list[tuple[Chief, str]]:
    """Roster people serving on ``day`` (today) without an account, with a summary of what
    they answer for; only those serving in ``town`` (code or name) when given."""
    day = day or beijing_today()
    town_id = _town(town).id if town else None
    has_account = select(User.chief_id).where(User.chief_id.is_not(None))
    rows = db.session.scalars(
        select(ChiefAssignment)
        .options(
            selectinload(ChiefAssignment.chief),
            selectinload(ChiefAssignment.town),
            selectinload(ChiefAssignment.village),
            selectinload(ChiefAssignment.station),
            selectinload(ChiefAssignment.road),
            selectinload(ChiefAssignment.segment).selectinload(Segment.road),
        )
        .where(*_active(day), ChiefAssignment.chief_id.not_in(has_account))
        .order_by(ChiefAssignment.chief_id, ChiefAssignment.id)
    ).all()
    by_chief: dict[int, list[ChiefAssignment]] = {}
    for a in rows:
        by_chief.setdefault(a.chief_id, []).append(a)
    found = []
    for assignments in by_chief.values():
        if town_id is not None and not any(town_id in _towns_of(a) for a in assignments):
            continue
        found.append((assignments[0].chief, _describe(assignments)))
    found.sort(key=lambda item: (POSITION_ORDER.get(item[0].position, 99), item[0].code))
    return found


def _username(chief: Chief, taken: set[str]) -> str:
    base = chief.code.strip().lower()[:36] or f"chief{chief.id}"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    taken.add(name)
    return name


def create_chief_accounts(town: str | None = None, day: date | None = None) -> list[Slip]:
    """One 路长 account per roster person without one, all in one transaction; each must
    change its one-time password at the first sign-in. Returns the slips to print."""
    candidates = chiefs_without_account(town, day)
    if not candidates:
        raise ServiceError("没有需要创建账号的路长：名册中在任的路长都已有账号" + (f"（{town}）" if town else ""))
    taken = set(db.session.scalars(select(User.username)))
    slips = []
    with unit_of_work("路长账号刚刚已由他人创建，请刷新后重试"):
        for chief, scope in candidates:
            username, password = _username(chief, taken), one_time_password()
            db.session.add(
                User(
                    username=username,
                    display_name=chief.name[:40],
                    password_hash=generate_password_hash(password),
                    role="chief",
                    chief_id=chief.id,
                    must_change_password=True,
                )
            )
            slips.append(
                Slip(
                    chief_id=chief.id,
                    name=chief.name,
                    position=POSITION_NAMES.get(chief.position, chief.position),
                    title=chief.title,
                    scope=scope,
                    username=username,
                    password=password,
                )
            )
        record_event(
            db.session,
            "app_user",
            None,
            f"批量创建路长账号 {len(slips)} 个" + (f"（{town}）" if town else "") + "，一次性密码须在首次登录时修改",
            after={"usernames": [s.username for s in slips]},
        )
    return slips
