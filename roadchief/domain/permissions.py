"""Roles, what each may do, what part of the register each sees, and who assesses whom (第二十条).

Pure rules (no Flask, no database): ``services.permissions`` applies them to the
signed-in user and turns them into SQL conditions; the web and API layers declare
their routes with :func:`roles_for`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Final, Literal

CITY_OFFICE: Final = "city_office"
TOWN_OFFICE: Final = "town_office"
INSPECTOR: Final = "inspector"
CHIEF: Final = "chief"
FINANCE: Final = "finance"

ROLE_LABELS: Final[dict[str, str]] = {
    CITY_OFFICE: "市级路长办公室",
    TOWN_OFFICE: "镇级路长办公室",
    INSPECTOR: "督查员",
    CHIEF: "路长",
    FINANCE: "财政",
}
ALL_ROLES: Final[tuple[str, ...]] = (CITY_OFFICE, TOWN_OFFICE, INSPECTOR, CHIEF, FINANCE)
OFFICES: Final[tuple[str, ...]] = (CITY_OFFICE, TOWN_OFFICE)

# ---------------------------------------------------------------- capabilities

READ = "read"  # the register, map, events, inspections in one's scope
MANAGE_USERS = "manage users"
READ_AUDIT = "read audit log"
READ_COVERAGE = "read coverage"  # segments lacking a required 路长 (第八条)
VIEW_FUNDING = "view funding"  # plan, quarters, ledger pages
MANAGE_FUNDING = "manage funding"  # approve quarter, adjust, settle, import scores; funding API
EDIT_PARAMS = "edit funding params"
LOG_INSPECTION = "log inspection"  # inspections, patrols, rectification steps
EDIT_CATALOG = "edit deduction catalog"
READ_RESULTS = "read assessment results"  # bulletins, period results (通报、评比)
FINALISE = "finalise quarter"
OWN_RESULTS = "own results"  # a chief's own page (我的考核)
PRINT_SIGNS = "print town signs"  # a town's 公示牌 pages
HANDLE_REPORTS = "handle public reports"  # see and work on 公众反馈 in one's scope
PROCESS_REPORTS = "process public reports"  # move a report on (offices)
REPLY_REPORTS = "reply to public reports"  # the assigned chief answers
RECORD_EVENT = "record event"
ACT_ON_EVENT = "act on event"  # 抢通 / 修复, warnings and detours
VIEW_DUTY = "view seasonal duty"
EDIT_DUTY_WINDOWS = "edit duty windows"
EDIT_STOCK = "edit emergency stock"
EDIT_ASSETS = "edit assets"  # 登记路产 / edit an asset (the register of road property)
IMPORT_ASSETS = "import assets"
ASSET_CONDITION = "record asset condition"
VIEW_WORKS_PLAN = "view works plan"
ADD_WORKS_PLAN = "add to works plan"
WORKS_PROGRESS = "record works progress"
VIEW_DASHBOARD = "view overview dashboard"  # 总览: city-wide scores, money, overdue work, response times
REASSIGN_RECTIFICATION = "reassign rectification"  # give a 整改 of a chief with no account (无账号) to another

CAPABILITIES: Final[dict[str, tuple[str, ...]]] = {
    READ: ALL_ROLES,
    MANAGE_USERS: (CITY_OFFICE,),
    READ_AUDIT: (CITY_OFFICE, FINANCE),
    READ_COVERAGE: (CITY_OFFICE, TOWN_OFFICE, FINANCE),
    VIEW_FUNDING: (CITY_OFFICE, FINANCE, TOWN_OFFICE),
    MANAGE_FUNDING: (CITY_OFFICE, FINANCE),
    EDIT_PARAMS: (CITY_OFFICE,),
    LOG_INSPECTION: (CITY_OFFICE, TOWN_OFFICE, INSPECTOR, CHIEF),
    EDIT_CATALOG: (CITY_OFFICE,),
    READ_RESULTS: (CITY_OFFICE, TOWN_OFFICE, INSPECTOR, FINANCE),
    FINALISE: (CITY_OFFICE, TOWN_OFFICE),
    OWN_RESULTS: (CHIEF,),
    PRINT_SIGNS: (CITY_OFFICE, TOWN_OFFICE),
    HANDLE_REPORTS: (CITY_OFFICE, TOWN_OFFICE, CHIEF),
    PROCESS_REPORTS: (CITY_OFFICE, TOWN_OFFICE),
    REPLY_REPORTS: (CHIEF,),
    RECORD_EVENT: (CITY_OFFICE, TOWN_OFFICE, INSPECTOR, CHIEF),
    ACT_ON_EVENT: (CITY_OFFICE, TOWN_OFFICE, CHIEF),
    VIEW_DUTY: (CITY_OFFICE, TOWN_OFFICE, INSPECTOR),
    EDIT_DUTY_WINDOWS: (CITY_OFFICE,),
    EDIT_STOCK: (CITY_OFFICE, TOWN_OFFICE),
    EDIT_ASSETS: (CITY_OFFICE, TOWN_OFFICE),
    IMPORT_ASSETS: (CITY_OFFICE,),
    ASSET_CONDITION: (CITY_OFFICE, TOWN_OFFICE, INSPECTOR, CHIEF),
    VIEW_WORKS_PLAN: (CITY_OFFICE, TOWN_OFFICE, FINANCE),
    ADD_WORKS_PLAN: (CITY_OFFICE,),
    WORKS_PROGRESS: (CITY_OFFICE, TOWN_OFFICE),
    VIEW_DASHBOARD: (CITY_OFFICE, FINANCE),
    REASSIGN_RECTIFICATION: (CITY_OFFICE, TOWN_OFFICE),
}


def roles_for(capability: str) -> tuple[str, ...]:
    """The roles holding a capability (for ``@allow(*roles_for(…))``); KeyError for an unknown one."""
    return CAPABILITIES[capability]


def may(role: str | None, capability: str) -> bool:
    """Whether a role holds a capability."""
    return role is not None and role in CAPABILITIES[capability]


def needs_town(role: str) -> bool:
    """A town office belongs to one town (the account must name it)."""
    return role == TOWN_OFFICE


def needs_chief(role: str) -> bool:
    """A chief's account is tied to his 路长 record."""
    return role == CHIEF


# ---------------------------------------------------------------- what part of the register a role sees

SegmentScope = Literal["all", "town", "chief", "none"]


def segment_scope(role: str, has_town: bool, has_chief: bool = False) -> SegmentScope:
    """Which segments a user sees: the city office and finance all; a town office its town;
    an inspector his town, or all without one; a chief the segments he is assigned."""
    if role in (CITY_OFFICE, FINANCE):
        return "all"
    if role == INSPECTOR:
        return "town" if has_town else "all"
    if role == TOWN_OFFICE:
        return "town" if has_town else "none"
    if role == CHIEF:
        return "chief" if has_chief else "none"
    return "none"


def report_scope(role: str, has_town: bool, has_chief: bool) -> SegmentScope:
    """Which public reports a user sees: the city office all, a town office its town's, a chief
    those assigned to him; inspectors and finance none."""
    return segment_scope(role, has_town, has_chief) if may(role, HANDLE_REPORTS) else "none"


def town_bound(role: str, has_town: bool) -> bool:
    """Whether a user's lists stop at his own town (a town office, a town's inspector)."""
    return role in (TOWN_OFFICE, INSPECTOR) and has_town


def sees_town(role: str, own_town: int | None, town_id: int) -> bool:
    """Whether a user may see a given town's data."""
    scope = segment_scope(role, own_town is not None)
    return scope == "all" or (scope == "town" and own_town == town_id)


# ---------------------------------------------------------------- who assesses whom (第二十条)

OfficeKind = Literal["city", "town", "chief"]

# the scope (assessing office) → the chief levels it assesses
ASSESSES: Final[dict[str, tuple[str, ...]]] = {
    "city": ("town", "station"),  # 市级路长办公室: 镇级路长 and 公路站路长
    "town": ("village",),  # a town's office: its 村级路长
    "chief": ("maintainer",),  # a 村级路长: the 路段管养责任人 of his village (listed, never paid)
}
LEVEL_NAMES: Final[dict[str, str]] = {
    "town": "镇级路长",
    "station": "公路站路长",
    "village": "村级路长",
    "maintainer": "路段管养责任人",
}
CITY_OFFICE_LABEL: Final = "市级路长办公室"


def assessed_levels(scope_kind: str) -> tuple[str, ...]:
    """The chief levels an office of this kind assesses."""
    return ASSESSES.get(scope_kind, ())


def assessor_of(level: str) -> str | None:
    """The kind of office assessing a chief level (None for an unknown level)."""
    for kind, levels in ASSESSES.items():
        if level in levels:
            return kind
    return None


def office_kind(role: str, has_town: bool, has_chief: bool) -> OfficeKind | None:
    """The assessing office a user records for: the city office and a city inspector for the
    city; a town office or a town's inspector for the town; a chief for himself."""
    if role == CITY_OFFICE or (role == INSPECTOR and not has_town):
        return "city"
    if role in (TOWN_OFFICE, INSPECTOR) and has_town:
        return "town"
    if role == CHIEF and has_chief:
        return "chief"
    return None


def defaults_to_city(role: str) -> bool:
    """The city office and finance open the city office's results by default."""
    return role in (CITY_OFFICE, FINANCE)


def reads_every_scope(role: str, has_town: bool) -> bool:
    """The city office, finance and city inspectors read every office's results."""
    return role in (CITY_OFFICE, FINANCE) or (role == INSPECTOR and not has_town)


def may_finalise(role: str, own_office: str | None, scope: str) -> bool:
    """The city office finalises its own scope and, on a town's behalf, any town's; a
    town office its own. Chiefs' scopes (maintainers) are never paid, so never finalised."""
    if scope.startswith("chief:"):
        return False
    if role == CITY_OFFICE:
        return True
    return role == TOWN_OFFICE and own_office == scope


# ---------------------------------------------------------------- inspections and rectifications

RECORDING_OFFICES: Final[tuple[str, ...]] = (CITY_OFFICE, TOWN_OFFICE, INSPECTOR)  # record every kind of inspection

RecordScope = Literal["segments", "chief", "none"]
ReadScope = Literal["all", "town", "chief", "none"]


def records_every_kind(role: str) -> bool:
    """Offices and inspectors record every kind of inspection (chiefs patrols; finance none)."""
    return role in RECORDING_OFFICES


def record_scope(role: str, has_chief: bool) -> RecordScope:
    """Where a user may record: a chief on his own segments, an office or inspector on the
    segments he sees, anyone else nowhere."""
    if role == CHIEF:
        return "chief" if has_chief else "none"
    if role in RECORDING_OFFICES:
        return "segments"
    return "none"


def inspection_read_scope(role: str, has_town: bool, has_chief: bool) -> ReadScope:
    """Which inspections and rectifications a user reads: the city office, finance and city
    inspectors all; a town office or a town's inspector its office's and its town's; a chief
    his own, those he must fix and those assessing him."""
    if reads_every_scope(role, has_town):
        return "all"
    if town_bound(role, has_town):
        return "town"
    if role == CHIEF and has_chief:
        return "chief"
    return "none"


def may_correct(role: str, own_office: str | None, office: str | None) -> bool:
    """An office, inspector or chief corrects the inspections its own office recorded."""
    return role in RECORDING_OFFICES + (CHIEF,) and own_office == office


def rectification_parts(
    role: str,
    own_chief: int | None,
    own_office: str | None,
    assigned_chief: int | None,
    inspecting_office: str | None,
    assignees: Collection[int] = (),
) -> set[str]:
    """The parts a user plays on a rectification: "chief" (assigned to it: the assessed chief or
    one of the chiefs who do the work, ``assignees``) and/or "office" (the office that inspected,
    which alone verifies or sends back)."""
    parts = set()
    if role == CHIEF and own_chief and (assigned_chief == own_chief or own_chief in assignees):
        parts.add("chief")
    if own_office == inspecting_office:
        parts.add("office")
    return parts


def may_reassign(
    role: str, own_town: int | None, segment_town: int | None, own_office: str | None, office: str
) -> bool:
    """Who hands a 整改 of a chief with no account (无账号) to another person: the city office,
    the office that inspected, and the town office of the segment's town."""
    if not may(role, REASSIGN_RECTIFICATION):
        return False
    if role == CITY_OFFICE or own_office == office:
        return True
    return role == TOWN_OFFICE and own_town is not None and own_town == segment_town
