"""Who sees and answers a rectification (整改): the assessed chief and the chiefs who do the work
on the segment (村级路长, 路段管养责任人 — 第五条、第六条), stored as rectification_assignee rows
resolved from the dated roster on the inspection date; assignees without an account (无账号)
are flagged to the offices, which hand them to another person in one step.

Whose score a finding hits never changes here (Finding.chief_id, 第二十条), nor who is charged
for a late 整改 (Rectification.chief_id): a reassignment moves who answers, not who is assessed.
"""

from __future__ import annotations

from sqlalchemy import select

from roadchief.domain.clock import beijing_today
from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, Segment, User
from roadchief.models.inspections import Rectification
from roadchief.models.routing import RectificationAssignee
from roadchief.services import Invalid, NotFound, ServiceError, permissions
from roadchief.services.chiefs import POSITION_NAMES, AssignmentIndex
from roadchief.services.inspection_scope import MAINTAINER_POSITIONS
from roadchief.services.transactions import unit_of_work

# the chiefs who do the work on a segment: its 村级路长 and its 路段管养责任人 (第六条)
WORKER_POSITIONS = ("village", *MAINTAINER_POSITIONS)
# an office may hand a 整改 to any chief answering for the segment below the city level
CANDIDATE_POSITIONS = ("town", "area", "station", "village", *MAINTAINER_POSITIONS)


def workers_on(index: AssignmentIndex, segment: Segment) -> list[Chief]:
    """The 村级路长 and 路段管养责任人 answering for a segment on the index's day."""
    seen: dict[int, Chief] = {}
    for c in index.chiefs_for(segment):
        if c.position in WORKER_POSITIONS:
            seen.setdefault(c.chief.id, c.chief)
    return list(seen.values())


def attach(
    rect: Rectification,
    owner: Chief | None,
    index: AssignmentIndex,
    segment: Segment,
    office: str,
    by: str = "",
    local=None,
) -> None:
    """Store a new rectification's assignees: its chief ``owner`` ("assessed") and the segment's
    workers on the index's day ("worker"), except a chief recording for himself as the office
    (``chief:ID``), who verifies what the others answer."""
    own = int(office.partition(":")[2]) if office.startswith("chief:") else None
    chiefs = [(owner, "assessed")] if owner is not None else []
    chiefs += [(c, "worker") for c in workers_on(index, segment) if c.id != own]
    add_assignees(rect, chiefs, by, local)


def add_assignees(rect: Rectification, chiefs: list[tuple[Chief, str]], by: str = "", local=None) -> None:
    """Store given assignees (chief, role) on a rectification, each chief once. ``local`` maps a
    chief from the per-worker cache of reference data to this session's copy (no SQL), so the
    answer names the assignees without loading each chief again (issue #15 point 4)."""
    taken = {a.chief.id if a.chief else a.chief_id for a in rect.assignees}
    for chief, role in chiefs:
        if chief.id not in taken:
            taken.add(chief.id)
            # by id: the chief may come from the per-worker cache of reference data (another session)
            row = RectificationAssignee(chief_id=chief.id, role=role, position=chief.position, assigned_by=by)
            if local is not None:
                row.chief = local(chief)
            rect.assignees.append(row)


def _accounts():
    """The chief ids with an active chief account (a SQL subquery)."""
    return select(User.chief_id).where(User.chief_id.is_not(None), User.role == "chief", User.is_active_flag.is_(True))


def with_account(chief_ids) -> set[int]:
    """The chiefs among these that have an active chief account."""
    ids = {i for i in chief_ids if i is not None}
    if not ids:
        return set()
    return set(db.session.scalars(_accounts().where(User.chief_id.in_(ids))))


def chiefs_with_accounts() -> set[int]:
    """Every chief with an active account (one query; pages showing many rectifications use it)."""
    return set(db.session.scalars(_accounts()))


def lacks_account_condition():
    """SQL condition on Rectification: it has an assignee nobody can sign in for (无账号)."""
    return Rectification.id.in_(
        select(RectificationAssignee.rectification_id).where(RectificationAssignee.chief_id.not_in(_accounts()))
    )


def without_account(rect: Rectification) -> list[RectificationAssignee]:
    """The assignees of a rectification that nobody can sign in for (无账号)."""
    have = with_account(a.chief_id for a in rect.assignees)
    return [a for a in rect.assignees if a.chief_id not in have]


def candidates(
    rect: Rectification, day=None, index: AssignmentIndex | None = None, have: set[int] | None = None, towns=None
) -> list[tuple[int, str]]:
    """People with an account an office may hand a rectification to: the chiefs answering for its
    segment today, then the other chief accounts of the segment's town. A caller showing many
    rectifications shares ``index`` (today's assignments), ``have`` (chiefs_with_accounts) and
    ``towns`` (a dict caching each town's chiefs)."""
    segment = rect.finding.segment
    taken = {a.chief_id for a in rect.assignees}
    found: dict[int, str] = {}
    for c in (index or AssignmentIndex(day or beijing_today())).chiefs_for(segment):
        if c.position in CANDIDATE_POSITIONS and c.chief.id not in taken:
            found.setdefault(c.chief.id, f"{c.chief.name}（{c.position_name}）")
    towns = {} if towns is None else towns
    if segment.town_id not in towns:
        towns[segment.town_id] = _town_chiefs(segment.town_id)
    for chief_id, label in towns[segment.town_id]:
        if chief_id not in taken:
            found.setdefault(chief_id, label)
    if have is None:
        have = with_account(found)
    return [(i, label) for i, label in found.items() if i in have]


def _town_chiefs(town_id: int) -> list[tuple[int, str]]:
    """The chiefs (below the city level) holding an assignment in a town or on one of its segments."""
    in_town = (
        select(ChiefAssignment.chief_id)
        .outerjoin(Segment, ChiefAssignment.segment_id == Segment.id)
        .where((ChiefAssignment.town_id == town_id) | (Segment.town_id == town_id))
    )
    return [
        (chief.id, f"{chief.name}（{POSITION_NAMES[chief.position]}）")
        for chief in db.session.scalars(
            select(Chief).where(Chief.id.in_(in_town), Chief.position.in_(CANDIDATE_POSITIONS)).order_by(Chief.name)
        )
    ]


def reassign(user, rect: Rectification, assignee_id: int, chief_id: int) -> RectificationAssignee:
    """Hand one assignee's part of a rectification to another person with an account (one step,
    audited as a change of the rectification_assignee row)."""
    if not permissions.can_reassign(user, rect):
        raise PermissionError("reassign")
    row = next((a for a in rect.assignees if a.id == assignee_id), None)
    if row is None:
        raise NotFound("该整改没有这位责任人")
    if rect.state == "verified":
        raise ServiceError("该整改已复核通过，不能再改派")
    if chief_id not in dict(candidates(rect)):
        raise Invalid("改派对象须为负责该路段（或本镇）且已开通账号的路长、责任人")
    before = row.chief.name
    with unit_of_work():
        row.chief = db.session.get(Chief, chief_id)
        row.chief_id = chief_id  # set the column too, so the audit entry of this flush names the new chief
        row.position = row.chief.position
        row.assigned_by = f"{user.username}（改派自 {before}）"[:80]
    return row


def assignees_json(rect: Rectification, have: set[int] | None = None) -> list[dict]:
    """The assignees with their 无账号 flag; ``have`` (chiefs_with_accounts) saves a query per rectification."""
    if have is None:
        have = with_account(a.chief_id for a in rect.assignees)
    return [
        {
            "id": a.id,
            "chief_id": a.chief_id,
            "name": a.chief.name,
            "role": a.role,
            "position": POSITION_NAMES.get(a.position, a.position),
            "has_account": a.chief_id in have,
        }
        for a in rect.assignees
    ]
