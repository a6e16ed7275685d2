"""督办: overdue rectifications escalate to the next level's office (村 → 镇 office → 市 office), each
with a numbered 督办通知书 (青路督〔year〕N号); "deadline near" reminders. Rules in domain.deadlines.

``roadchief rectifications escalate`` runs :func:`escalate_overdue` (cron, e.g. every hour); the
office pages also run it lazily (:func:`escalate_lazily`, at most every few minutes per process).
Idempotent: the database allows one escalation per rectification and level.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from roadchief.domain import clock, deadlines, scoring
from roadchief.extensions import db
from roadchief.models import Segment, Town
from roadchief.models.inspections import Finding, Rectification
from roadchief.models.supervision import RectificationEscalation
from roadchief.services import notifications
from roadchief.services.deadline_rules import rules_for

LAZY_EVERY_SECONDS = 300
_last_lazy_run: dict[str, float] = {}


@dataclass
class EscalationRun:
    escalated: list[RectificationEscalation]
    reminded: int


def history(rect: Rectification) -> list[RectificationEscalation]:
    return list(
        db.session.scalars(
            select(RectificationEscalation)
            .where(RectificationEscalation.rectification_id == rect.id)
            .order_by(RectificationEscalation.escalated_at, RectificationEscalation.id)
        )
    )


def running_deadline(rect: Rectification, steps: list[RectificationEscalation] | None = None):
    steps = history(rect) if steps is None else steps
    return deadlines.effective_deadline(rect.deadline, [s.new_deadline for s in steps])


def _office(rect: Rectification, level: str) -> tuple[str, str]:
    if level == deadlines.CITY:
        return "city", deadlines.LEVEL_LABELS[deadlines.CITY]
    town = db.session.get(Town, rect.finding.segment.town_id)
    return f"town:{town.code}", f"{town.name}路长办公室"


def _next_sequence(year: int) -> int:
    current = db.session.scalar(
        select(func.max(RectificationEscalation.notice_seq)).where(RectificationEscalation.notice_year == year)
    )
    return (current or 0) + 1


def _escalate_one(rect: Rectification, now: datetime) -> RectificationEscalation | None:
    today = clock.beijing_date(now)
    steps = history(rect)
    level = steps[-1].level if steps else deadlines.CHIEF_LEVEL
    current = running_deadline(rect, steps)
    if not deadlines.escalation_due(rect.state, current, today):
        return None
    position = rect.chief.position if rect.chief else None
    target = deadlines.next_level(level, position, rect.finding.inspection.office_key)
    if target is None:
        return None
    key, name = _office(rect, target)
    new_deadline = max(deadlines.escalated_deadline(today, rules_for(today.year)), current)
    year = today.year
    for _attempt in range(3):  # two runs at once: the unique notice number makes one retry
        sequence = _next_sequence(year)
        step = RectificationEscalation(
            rectification_id=rect.id,
            level=target,
            office_key=key,
            office_name=name,
            escalated_at=now,
            previous_deadline=current,
            new_deadline=new_deadline,
            notice_year=year,
            notice_seq=sequence,
            notice_number=deadlines.notice_number(year, sequence),
            chief_name=rect.chief.name if rect.chief else "",
        )
        try:
            with db.session.begin_nested():
                db.session.add(step)
                db.session.flush()
        except IntegrityError:
            again = db.session.scalar(
                select(RectificationEscalation).where(
                    RectificationEscalation.rectification_id == rect.id, RectificationEscalation.level == target
                )
            )
            if again is not None:
                return None  # another run escalated it
            continue
        notifications.enqueue_for_rectification(rect, "escalated", escalation=step, now=now)
        return step
    return None


def _open_past(today) -> list[Rectification]:
    return list(
        db.session.scalars(
            select(Rectification)
            .where(Rectification.state == scoring.OPEN, Rectification.deadline < today)
            .options(
                selectinload(Rectification.finding).selectinload(Finding.inspection),
                selectinload(Rectification.finding).selectinload(Finding.segment),
                selectinload(Rectification.chief),
            )
            .order_by(Rectification.deadline, Rectification.id)
        )
    )


def escalate_overdue(now: datetime) -> EscalationRun:
    """Escalate every open rectification past its running deadline one level, and queue the
    "deadline near" reminders. Each escalation commits on its own (a failure stops no other)."""
    now = clock.to_utc(now)
    today = clock.beijing_date(now)
    escalated: list[RectificationEscalation] = []
    for rect in _open_past(today):
        try:
            step = _escalate_one(rect, now)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if step is not None:
            escalated.append(step)
    reminded = remind_due(now)
    return EscalationRun(escalated, reminded)


def remind_due(now: datetime) -> int:
    """Queue "deadline near" notices (once per rectification and running deadline)."""
    today = clock.beijing_date(now)
    rules = rules_for(today.year)
    rows = list(db.session.scalars(select(Rectification).where(Rectification.state == scoring.OPEN)))
    steps: dict[int, list] = {}
    for step in db.session.scalars(
        select(RectificationEscalation)
        .join(Rectification, RectificationEscalation.rectification_id == Rectification.id)
        .where(Rectification.state == scoring.OPEN)
        .order_by(RectificationEscalation.escalated_at, RectificationEscalation.id)
    ):
        steps.setdefault(step.rectification_id, []).append(step)
    added = 0
    for rect in rows:
        current = running_deadline(rect, steps.get(rect.id, []))
        if deadlines.deadline_near(rect.state, current, today, rules):
            added += notifications.enqueue_for_rectification(
                rect, "deadline_near", occurrence=current.isoformat(), now=now
            )
    db.session.commit()
    return added


def escalate_lazily(now: datetime | None = None) -> None:
    """Run the escalation from a page view, at most every LAZY_EVERY_SECONDS per process (the
    cron verb is the dependable way; this keeps a deployment without cron roughly on time).
    App config ``ESCALATE_ON_VIEW = False`` switches it off."""
    from flask import current_app

    if not current_app.config.get("ESCALATE_ON_VIEW", True):
        return
    key = current_app.config["SQLALCHEMY_DATABASE_URI"]
    if time.monotonic() - _last_lazy_run.get(key, -LAZY_EVERY_SECONDS) < LAZY_EVERY_SECONDS:
        return
    _last_lazy_run[key] = time.monotonic()
    try:
        escalate_overdue(now or clock.utcnow())
    except Exception:  # never break the page for it
        db.session.rollback()
        current_app.logger.exception("lazy escalation failed")


def escalated_for(office_key: str | None, limit: int = 100) -> list[RectificationEscalation]:
    """The escalations an office follows, newest first: all for the city office, those of its
    town's items for a town office (sent to it, or past it to the city)."""
    query = select(RectificationEscalation).options(
        selectinload(RectificationEscalation.rectification).selectinload(Rectification.finding)
    )
    if office_key and office_key.startswith("town:"):  # a town office: its town's items, at either level
        query = (
            query.join(Rectification, RectificationEscalation.rectification_id == Rectification.id)
            .join(Finding, Rectification.finding_id == Finding.id)
            .join(Segment, Finding.segment_id == Segment.id)
            .join(Town, Segment.town_id == Town.id)
            .where(Town.code == office_key[5:])
        )
    elif office_key != "city":
        return []
    return list(
        db.session.scalars(
            query.order_by(RectificationEscalation.escalated_at.desc(), RectificationEscalation.id.desc()).limit(limit)
        )
    )


def notice_data(step: RectificationEscalation) -> dict:
    """What the 督办通知书 prints (reports.supervision_notice_pdf)."""
    from roadchief.services.inspection_segments import segment_label

    rect = step.rectification
    finding = rect.finding
    unit = "米" if finding.item.unit == "100m" else finding.item.unit
    chief = step.chief_name or (rect.chief.name if rect.chief else "未指定")
    recipient = f"责任路长 {chief}"
    if step.level == deadlines.CITY and rect.chief and rect.chief.position in deadlines.TOWN_SUPERVISED:
        town = db.session.get(Town, finding.segment.town_id)
        recipient = f"{town.name}路长办公室、责任路长 {chief}"
    return {
        "number": step.notice_number,
        "issuer": step.office_name,
        "recipient": recipient,
        "item": finding.item.text,
        "quantity": f"{finding.quantity} {unit}",
        "segment": segment_label(finding.segment),
        "chief": chief,
        "source": f"{finding.inspection.kind_label} #{finding.inspection_id}（{finding.inspection.inspector_name}）",
        "found_on": clock.format_beijing(finding.inspection.inspected_at, "%Y-%m-%d"),
        "original_deadline": rect.deadline.isoformat(),
        "previous_deadline": step.previous_deadline.isoformat(),
        "new_deadline": step.new_deadline.isoformat(),
        "level": step.level_label,
        "escalated_at": clock.format_beijing(step.escalated_at),
        "basis": "第十条（养护质量要求）、第二十条（分级考核）",
    }


def notice_step(step_id: int) -> RectificationEscalation:
    from roadchief.services import NotFound

    step = db.session.get(RectificationEscalation, step_id)
    if step is None:
        raise NotFound("督办通知书不存在")
    return step
