"""待办: what is waiting for the signed-in user — rectifications (整改) to answer or review, public
reports (社会监督, 第七条) to reply to or move on, open road events on his roads — earliest
deadline first (items without one last)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import url_for
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload

from roadchief.domain import scoring
from roadchief.domain.clock import beijing_today
from roadchief.domain.events import STATES as EVENT_STATES
from roadchief.domain.permissions import ACT_ON_EVENT, PROCESS_REPORTS, REASSIGN_RECTIFICATION, REPLY_REPORTS
from roadchief.extensions import db
from roadchief.models import RoadEvent, Segment
from roadchief.models.inspections import Finding, Inspection, Rectification
from roadchief.models.public import PublicReport
from roadchief.services import permissions, public_reports
from roadchief.services.events import event_condition, event_place
from roadchief.services.inspection_scope import _assigned_to, _rectification_query, rectification_condition
from roadchief.services.inspection_segments import segment_label
from roadchief.services.permissions import office_key

LIMIT = 200
KIND_LABELS = {
    "rectification": "整改",
    "review": "整改复核",
    "reassign": "改派",
    "report": "公众反馈",
    "event": "路况事件",
}


@dataclass(frozen=True)
class Todo:
    kind: str  # a key of KIND_LABELS
    id: int
    title: str
    place: str
    deadline: date | None
    state: str
    link: tuple[str, dict, str]  # endpoint, its arguments, an anchor: built into ``url`` when shown

    @property
    def url(self) -> str:
        endpoint, args, anchor = self.link
        return url_for(endpoint, **args) + anchor

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    def overdue(self, today: date) -> bool:
        return self.deadline is not None and self.deadline < today

    def json(self, today: date) -> dict:
        return {
            "kind": self.kind,
            "kind_label": self.kind_label,
            "id": self.id,
            "title": self.title,
            "place": self.place,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "overdue": self.overdue(today),
            "state": self.state,
            "url": self.url,
        }


def _rect_todo(kind: str, rect: Rectification) -> Todo:
    finding = rect.finding
    return Todo(
        kind,
        rect.id,
        finding.item.text,
        segment_label(finding.segment),
        rect.deadline,
        rect.state_label,
        ("inspections.detail", {"inspection_id": finding.inspection_id}, f"#rect-{rect.id}"),
    )


# Each kind of to-do is a set of SQL conditions (None: not for this user), shared by the list
# and by the menu count, which counts in SQL without loading the rows.


def _answer_conditions(user):
    """Open rectifications the user's chief is assigned to (assessed or worker)."""
    if not user.chief_id or not permissions.is_chief(user):
        return None
    mine = or_(Rectification.chief_id == user.chief_id, Rectification.id.in_(_assigned_to(user.chief_id)))
    return [Rectification.state == scoring.OPEN, mine]


def _review_conditions(user):
    """Answered rectifications the user's office inspected and must now verify or send back."""
    key = office_key(user)
    return None if key is None else [Inspection.office_key == key, Rectification.state == scoring.DONE]


def _reassign_conditions(user):
    """Rectifications not yet verified, in the office's reach, with an assignee nobody can sign in for (无账号)."""
    if not permissions.can(user, REASSIGN_RECTIFICATION):
        return None
    from roadchief.services.rectification_routing import lacks_account_condition

    return [Rectification.state != scoring.VERIFIED, lacks_account_condition(), permissions.reassign_condition(user)]


def _report_conditions(user):
    """Reports to reply to (the assigned chief) or to move on (the offices): new ones, suspected
    duplicates, and confirmed ones whose 整改 has been verified (ready to close)."""
    if permissions.can(user, PROCESS_REPORTS):
        verified = select(Rectification.id).where(Rectification.state == scoring.VERIFIED)
        waiting = or_(
            PublicReport.status.in_(("received", "assigned")),
            and_(PublicReport.status == "confirmed", PublicReport.rectification_id.in_(verified)),
        )
    elif permissions.can(user, REPLY_REPORTS) and user.chief_id:
        waiting = and_(
            PublicReport.assigned_chief_id == user.chief_id,
            PublicReport.status.in_(("received", "assigned")),
            PublicReport.chief_reply.is_(None),
        )
    else:
        return None
    return [public_reports.visible_condition(user), waiting]


def _event_conditions(user):
    """Open road events (not yet 修复) on the roads the user answers for: chiefs and offices."""
    if not (permissions.can(user, ACT_ON_EVENT) and permissions.segment_scope(user) != "none"):
        return None
    return [event_condition(user), RoadEvent.state != "repaired"]


RECT_PARTS = (("rectification", _answer_conditions), ("review", _review_conditions), ("reassign", _reassign_conditions))


def _rect_todos(user, kind: str, conditions) -> list[Todo]:
    query = _rectification_query(user).where(*conditions).order_by(Rectification.deadline, Rectification.id)
    return [_rect_todo(kind, r) for r in db.session.scalars(query.limit(LIMIT))]


def _report_todos(conditions) -> list[Todo]:
    query = (
        select(PublicReport)
        .where(*conditions)
        .options(selectinload(PublicReport.road), selectinload(PublicReport.segment).selectinload(Segment.road))
        .order_by(PublicReport.created_at, PublicReport.id)
        .limit(LIMIT)
    )
    reports = list(db.session.scalars(query))
    rect_ids = [r.rectification_id for r in reports if r.rectification_id]
    rects = {r.id: r for r in db.session.scalars(select(Rectification).where(Rectification.id.in_(rect_ids)))}
    todos = []
    for report in reports:
        rect = rects.get(report.rectification_id)
        title = f"{report.category}：{report.text[:40]}"
        if report.duplicate_state == "suspected":
            title = "疑似重复 · " + title
        state = "整改已复核，待办结" if rect is not None and rect.state == scoring.VERIFIED else report.status_label
        place = segment_label(report.segment) if report.segment else f"{report.road.code} {report.road.name}"
        todos.append(
            Todo(
                "report",
                report.id,
                title,
                place,
                rect.deadline if rect else None,
                state,
                ("public.report_detail", {"ref": report.ref}, ""),
            )
        )
    return todos


def _event_todos(conditions) -> list[Todo]:
    query = (
        select(RoadEvent)
        .options(selectinload(RoadEvent.segment).selectinload(Segment.road))
        .where(*conditions)
        .order_by(RoadEvent.occurred_at)
        .limit(LIMIT)
    )
    return [
        Todo(
            "event",
            e.id,
            e.kind_label,
            event_place(e),
            None,
            EVENT_STATES[e.state],
            ("operations.event", {"event_id": e.id}, ""),
        )
        for e in db.session.scalars(query)
    ]


def count_for(user) -> int:
    """How many to-dos the user has (the menu badge): COUNT queries, no rows loaded."""
    if not getattr(user, "is_authenticated", False):
        return 0
    total = 0
    for _, part in RECT_PARTS:
        conditions = part(user)
        if conditions is not None:
            query = (
                select(func.count(Rectification.id))
                .join(Finding, Rectification.finding_id == Finding.id)
                .join(Inspection, Finding.inspection_id == Inspection.id)
                .where(rectification_condition(user), *conditions)
            )
            total += db.session.scalar(query) or 0
    for model, part in ((PublicReport, _report_conditions), (RoadEvent, _event_conditions)):
        conditions = part(user)
        if conditions is not None:
            total += db.session.scalar(select(func.count(model.id)).where(*conditions)) or 0
    return total


def todos_for(user) -> list[Todo]:
    """Everything waiting for the user, earliest deadline first, items without a deadline last."""
    if not getattr(user, "is_authenticated", False):
        return []
    found: list[Todo] = []
    for kind, part in RECT_PARTS:
        conditions = part(user)
        if conditions is not None:
            found += _rect_todos(user, kind, conditions)
    if (conditions := _report_conditions(user)) is not None:
        found += _report_todos(conditions)
    if (conditions := _event_conditions(user)) is not None:
        found += _event_todos(conditions)
    items = {(t.kind, t.id): t for t in found}
    order = list(KIND_LABELS)
    return sorted(items.values(), key=lambda t: (t.deadline is None, t.deadline or date.max, order.index(t.kind), t.id))


def todos_json(user, today: date | None = None) -> dict:
    today = today or beijing_today()
    rows = todos_for(user)
    return {"count": len(rows), "items": [t.json(today) for t in rows], "office": office_key(user)}
