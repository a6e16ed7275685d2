"""Rectifications (整改) of findings: listing them (overdue, awaiting review), who plays which
part, and the workflow — the chief answers, the inspecting office verifies or sends back."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from sqlalchemy import or_
from sqlalchemy.orm.exc import StaleDataError

from roadchief.domain import clock, scoring
from roadchief.domain.clock import beijing_today
from roadchief.domain.scoring import TransitionError
from roadchief.extensions import db
from roadchief.models.base import utcnow
from roadchief.models.inspections import Inspection, Rectification, RectificationEvent
from roadchief.services import ServiceError, notifications, permissions
from roadchief.services.inspection_photos import _photo_row, _save_photos, _stage
from roadchief.services.inspection_scope import _assigned_to, _rectification_query, aware
from roadchief.services.inspection_segments import segment_label
from roadchief.services.permissions import office_key
from roadchief.services.transactions import unit_of_work


def list_rectifications(
    user,
    state: str | None = None,
    overdue: bool = False,
    chief_id: int | None = None,
    today: date | None = None,
    limit: int = 300,
) -> list[Rectification]:
    """Rectifications the user may see; ``overdue`` keeps the open ones past their deadline."""
    today = today or beijing_today()
    query = _rectification_query(user)
    if overdue:
        query = query.where(Rectification.state == scoring.OPEN, Rectification.deadline < today)
    elif state in scoring.STATE_LABELS:
        query = query.where(Rectification.state == state)
    elif state == "active":
        query = query.where(Rectification.state != scoring.VERIFIED)
    if chief_id is not None:  # his own and those he is a stored assignee of (services.rectification_routing)
        query = query.where(or_(Rectification.chief_id == chief_id, Rectification.id.in_(_assigned_to(chief_id))))
    return list(db.session.scalars(query.order_by(Rectification.deadline, Rectification.id).limit(limit)))


def awaiting_review(user, limit: int = 50) -> list[Rectification]:
    """Rectifications answered by the chief that this user's office inspected and must now review."""
    key = office_key(user)
    if key is None:
        return []
    query = _rectification_query(user).where(Inspection.office_key == key, Rectification.state == scoring.DONE)
    return list(db.session.scalars(query.order_by(Rectification.completed_at, Rectification.id).limit(limit)))


def is_overdue(rect: Rectification, today: date | None = None) -> bool:
    return scoring.is_overdue(rect.state, rect.deadline, today or beijing_today())


def actors_for(user, rect: Rectification) -> set[str]:
    """The parts a user plays on a rectification: "chief" (assigned to it) and/or
    "office" (the office that inspected, which alone verifies or sends back)."""
    return permissions.rectification_parts(user, rect)


def act(
    user,
    rect: Rectification,
    action: str,
    note: str = "",
    photo=None,
    upload_dir: str | Path = "",
    now: datetime | None = None,
) -> Rectification:
    """One step of the 整改 workflow (see domain.scoring.next_state), with its history."""
    if action not in scoring.ACTIONS:
        raise ServiceError(f"未知操作：{action}")
    actor = scoring.ACTION_ACTOR[action]
    if actor not in actors_for(user, rect):
        raise PermissionError(action)
    now = aware(now) or utcnow()
    note = (note or "").strip()[:1000]
    has_photo = photo is not None and bool(getattr(photo, "filename", None) or getattr(photo, "stream", None))
    try:
        step = scoring.next_state(rect.state, action, now, rect.deadline, actor=actor, note=note, has_photo=has_photo)
    except TransitionError as error:
        raise ServiceError(str(error)) from None
    try:
        with _stage(upload_dir) as stage, unit_of_work():
            if action == "complete":
                for saved in _save_photos([photo], stage, "整改后照片"):
                    db.session.add(
                        _photo_row(
                            saved,
                            user,
                            inspection_id=rect.finding.inspection_id,
                            finding_id=rect.finding_id,
                            rectification_id=rect.id,
                        )
                    )
                rect.chief_note, rect.completed_at, rect.late = note, now, step.late
            elif action == "verify":
                rect.verified_at = now
                if note:
                    rect.office_note = note
            else:
                rect.office_note, rect.returned_count = note, rect.returned_count + 1
            rect.state = step.state
            db.session.add(
                RectificationEvent(
                    rectification_id=rect.id, at=now, action=action, user_id=user.id, actor=user.username, note=note
                )
            )
            notifications.after_action(rect, action)
    except StaleDataError:
        raise ServiceError("该整改刚刚已被他人处理，请刷新后查看") from None
    return rect


def rectification_json(rect: Rectification, today: date | None = None) -> dict:
    return {
        "id": rect.id,
        "finding_id": rect.finding_id,
        "inspection_id": rect.finding.inspection_id,
        "chief_id": rect.chief_id,
        "chief": rect.chief.name if rect.chief else None,
        "deadline": rect.deadline.isoformat(),
        "state": rect.state,
        "state_label": rect.state_label,
        "overdue": is_overdue(rect, today),
        "late": rect.late,
        "chief_note": rect.chief_note,
        "office_note": rect.office_note,
        "returned_count": rect.returned_count,
        "completed_at": clock.iso_beijing(rect.completed_at),
        "verified_at": clock.iso_beijing(rect.verified_at),
        "item": rect.finding.item.text,
        "segment": segment_label(rect.finding.segment),
        # who sees and answers it (services.rectification_routing), each with has_account (无账号)
        "assignees": _assignees_json(rect),
    }


def _assignees_json(rect: Rectification) -> list[dict]:
    from roadchief.services.rectification_routing import assignees_json  # it imports this module's neighbours

    # a fresh inspection's rectifications know who has an account from the cached context
    return assignees_json(rect, getattr(rect, "known_accounts", None))
