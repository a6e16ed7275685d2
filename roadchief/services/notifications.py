"""Notifications of rectification events: who gets what (rules as data), the outbox with its
dedupe key, delivery with retries (e-mail over SMTP, SMS through an adapter), in-app lists.

The rectification services call :func:`enqueue_for_rectification` in their own transaction
(outbox pattern); ``roadchief notifications send`` (:func:`deliver_pending`) sends later.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import func, select, update

from roadchief.domain import notifications as rules
from roadchief.domain.notifications import EMAIL, INAPP, SMS
from roadchief.extensions import db
from roadchief.models import Chief, Town, User
from roadchief.models.inspections import Rectification, RectificationEvent
from roadchief.models.supervision import NotificationContact, NotificationOutbox, NotificationRule
from roadchief.services import Invalid, NotFound
from roadchief.services.transactions import unit_of_work

ACTION_EVENTS = {"complete": "answered", "verify": "verified", "return": "returned"}
LEASE_MINUTES = 10  # a row being sent is held this long, so two senders never send it both

TEMPLATES = {  # event → (subject, body); fields from _fields()
    "created": ("新整改任务：{item}", "{segment}：{item}（{quantity}），请于 {deadline} 前完成整改。"),
    "deadline_near": ("整改即将到期：{item}", "{segment}：{item}，整改期限 {deadline}，请尽快完成并上传整改照片。"),
    "escalated": (
        "督办通知 {notice}：{item}",
        "{segment}：{item} 逾期未整改（原期限 {previous_deadline}），已督办至{office}，新期限 {deadline}。",
    ),
    "answered": ("整改已答复，待验收：{item}", "{segment}：{item}，{chief} 已提交整改，请验收。"),
    "verified": ("整改已验收：{item}", "{segment}：{item} 整改已通过验收。"),
    "returned": ("整改被退回：{item}", "{segment}：{item} 整改未通过，请重新整改。意见：{note}"),
}


# ------------------------------------------------------------------ rules (who gets what)


def current_rules() -> rules.Rules:
    """The stored rules, else the defaults (domain.notifications.DEFAULT_RULES)."""
    rows = list(db.session.scalars(select(NotificationRule)))
    if not rows:
        return dict(rules.DEFAULT_RULES)
    result: rules.Rules = {}
    for row in rows:
        extra = frozenset() if row.channel == INAPP else frozenset({row.channel})
        result[(row.event, row.audience)] = result.get((row.event, row.audience), frozenset()) | extra
    return result


def save_rules(pairs: list[tuple[str, str, str]]) -> None:
    """Replace the rules with these (event, audience, channel) triples; "inapp" alone turns a
    pair on with in-app notices only. An empty form keeps one in-app rule so the defaults do not
    come back unnoticed."""
    if errors := rules.validate_rules(pairs):
        raise Invalid("；".join(errors))
    with unit_of_work():
        for row in db.session.scalars(select(NotificationRule)):
            db.session.delete(row)
        db.session.flush()
        for event, audience, channel in sorted(set(pairs)):
            db.session.add(NotificationRule(event=event, audience=audience, channel=channel))
        if not pairs:
            db.session.add(NotificationRule(event="escalated", audience="escalated_office", channel=INAPP))


# ------------------------------------------------------------------ recipients


def _office_users(key: str) -> list[User]:
    query = select(User).where(User.is_active_flag.is_(True))
    if key == "city":
        query = query.where(User.role == "city_office")
    elif key.startswith("town:"):
        query = query.join(Town, User.town_id == Town.id).where(User.role == "town_office", Town.code == key[5:])
    elif key.startswith("chief:") and key[6:].isdigit():
        query = query.where(User.chief_id == int(key[6:]))
    else:
        return []
    return list(db.session.scalars(query.order_by(User.id)))


def _town_key(rect: Rectification) -> str | None:
    code = db.session.scalar(select(Town.code).where(Town.id == rect.finding.segment.town_id))
    return f"town:{code}" if code else None


def assignee_chief_ids(rect: Rectification) -> list[int]:
    """The chiefs who must fix the item: its assignees (the assessed chief and the segment's
    村级路长 / 管养责任人, services/rectification_routing.py), else the assessed chief alone."""
    ids = [a.chief_id for a in getattr(rect, "assignees", None) or []]
    if rect.chief_id and rect.chief_id not in ids:
        ids.insert(0, rect.chief_id)
    return list(dict.fromkeys(ids))


def _recipients(rect: Rectification, audience: str, escalation=None) -> list[tuple[User | None, Chief | None]]:
    if audience == "assignee":
        out: list[tuple[User | None, Chief | None]] = []
        for chief_id in assignee_chief_ids(rect):
            chief = db.session.get(Chief, chief_id)
            users = list(
                db.session.scalars(
                    select(User).where(User.chief_id == chief_id, User.is_active_flag.is_(True)).order_by(User.id)
                )
            )
            out += [(u, chief) for u in users] or [(None, chief)]
        return out
    key = {
        "inspecting_office": rect.finding.inspection.office_key,
        "escalated_office": escalation.office_key if escalation is not None else None,
        "town_office": _town_key(rect),
        "city_office": "city",
    }[audience]
    return [(u, u.chief) for u in _office_users(key)] if key else []


def _address(channel: str, user: User | None, chief: Chief | None) -> str:
    contact = (
        db.session.scalar(select(NotificationContact).where(NotificationContact.user_id == user.id)) if user else None
    )
    if channel == EMAIL:
        return contact.email if contact else ""
    if channel == SMS:
        return (contact.phone if contact and contact.phone else "") or (chief.phone if chief else "")
    return ""


def _fields(rect: Rectification, escalation=None, note: str = "") -> dict[str, str]:
    from roadchief.services.inspection_segments import segment_label

    finding = rect.finding
    fields = {
        "item": finding.item.text,
        "segment": segment_label(finding.segment),
        "quantity": f"{finding.quantity} {'米' if finding.item.unit == '100m' else finding.item.unit}",
        "deadline": rect.deadline.isoformat(),
        "chief": rect.chief.name if rect.chief else "未指定",
        "note": note or rect.office_note,
        "notice": "",
        "office": "",
        "previous_deadline": "",
    }
    if escalation is not None:
        fields.update(
            notice=escalation.notice_number,
            office=escalation.office_name,
            deadline=escalation.new_deadline.isoformat(),
            previous_deadline=escalation.previous_deadline.isoformat(),
        )
    return fields


def _occurrence(rect: Rectification, event: str) -> str:
    action = {v: k for k, v in ACTION_EVENTS.items()}.get(event)
    if action is None:
        return "0"
    db.session.flush()
    count = db.session.scalar(
        select(func.count())
        .select_from(RectificationEvent)
        .where(RectificationEvent.rectification_id == rect.id, RectificationEvent.action == action)
    )
    return str(count)


def enqueue_for_rectification(
    rect: Rectification | None, event: str, *, escalation=None, occurrence: str | None = None, now=None
) -> int:
    """Queue the notices of one event in the caller's transaction; returns how many were new.
    An event already queued (same dedupe key) is skipped, so calling twice sends once."""
    if rect is None or event not in rules.EVENT_LABELS:
        return 0
    from roadchief.models.base import utcnow

    now = now or utcnow()
    table = current_rules()
    if occurrence is None:
        occurrence = escalation.level if escalation is not None else _occurrence(rect, event)
    subject_t, body_t = TEMPLATES[event]
    fields = _fields(rect, escalation)
    payload = json.dumps(
        {
            "subject": subject_t.format(**fields),
            "body": body_t.format(**fields),
            "link": f"/supervision/rectifications/{rect.id}",
        },
        ensure_ascii=False,
    )
    added = 0
    for audience in rules.audiences_for(table, event):
        for user, chief in _recipients(rect, audience, escalation):
            for channel in sorted(rules.channels_for(table, event, audience)):
                if channel == INAPP and user is None:
                    continue  # nobody to read it
                who = f"u{user.id}" if user else f"c{chief.id}"
                key = rules.dedupe_key(event, f"r{rect.id}", occurrence, who, channel)
                if db.session.scalar(select(NotificationOutbox.id).where(NotificationOutbox.dedupe_key == key)):
                    continue
                pending = [o for o in db.session.new if isinstance(o, NotificationOutbox) and o.dedupe_key == key]
                if pending:
                    continue
                inapp = channel == INAPP
                db.session.add(
                    NotificationOutbox(
                        user_id=user.id if user else None,
                        chief_id=chief.id if chief else None,
                        channel=channel,
                        address=_address(channel, user, chief),
                        template_key=event,
                        payload=payload,
                        dedupe_key=key,
                        attempts=0,
                        created_at=now,
                        next_attempt_at=None if inapp else now,
                        sent_at=now if inapp else None,
                        last_error="",
                    )
                )
                added += 1
    return added


def after_action(rect: Rectification, action: str) -> int:
    """The hook of a workflow step (services.rectifications.act)."""
    return enqueue_for_rectification(rect, ACTION_EVENTS.get(action, ""))


# ------------------------------------------------------------------ delivery


def _claim(row: NotificationOutbox, now: datetime) -> bool:
    from datetime import timedelta

    lease = now + timedelta(minutes=LEASE_MINUTES)
    result = db.session.execute(
        update(NotificationOutbox)
        .where(
            NotificationOutbox.id == row.id,
            NotificationOutbox.sent_at.is_(None),
            NotificationOutbox.next_attempt_at == row.next_attempt_at,
        )
        .values(next_attempt_at=lease)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def deliver_pending(now: datetime, limit: int = 200, transports=None) -> dict[str, int]:
    """Send what is due: each row is claimed (leased), sent, then marked sent — or its error
    kept and the next try set by the backoff (domain.notifications.next_attempt), given up
    after MAX_ATTEMPTS. Returns counts of sent / failed / given_up."""
    from roadchief.services import notify_transports

    transports = transports or notify_transports.configured()
    counts = {"sent": 0, "failed": 0, "given_up": 0}
    due = list(
        db.session.scalars(
            select(NotificationOutbox)
            .where(NotificationOutbox.sent_at.is_(None), NotificationOutbox.next_attempt_at <= now)
            .order_by(NotificationOutbox.next_attempt_at, NotificationOutbox.id)
            .limit(limit)
        )
    )
    for row in due:
        if not _claim(row, now):
            continue
        db.session.refresh(row)
        payload = json.loads(row.payload)
        try:
            if not row.address:
                raise notify_transports.SendError("没有接收地址（请在“我的通知”中填写邮箱或手机号）")
            transports[row.channel].send(row.address, payload["subject"], payload["body"])
        except Exception as error:  # any transport failure is kept on the row and retried
            row.attempts += 1
            row.last_error = f"{type(error).__name__}: {error}"[:1000]
            row.next_attempt_at = rules.next_attempt(now, row.attempts)
            counts["given_up" if row.next_attempt_at is None else "failed"] += 1
        else:
            row.attempts += 1
            row.sent_at, row.next_attempt_at, row.last_error = now, None, ""
            counts["sent"] += 1
        db.session.commit()
    return counts


# ------------------------------------------------------------------ in-app


def inbox(user, limit: int = 100) -> list[NotificationOutbox]:
    return list(
        db.session.scalars(
            select(NotificationOutbox)
            .where(NotificationOutbox.user_id == user.id, NotificationOutbox.channel == INAPP)
            .order_by(NotificationOutbox.created_at.desc(), NotificationOutbox.id.desc())
            .limit(limit)
        )
    )


def unread_count(user) -> int:
    return int(
        db.session.scalar(
            select(func.count())
            .select_from(NotificationOutbox)
            .where(
                NotificationOutbox.user_id == user.id,
                NotificationOutbox.channel == INAPP,
                NotificationOutbox.read_at.is_(None),
            )
        )
        or 0
    )


def mark_read(user, notification_id: int | None, now: datetime) -> int:
    """Mark one (or, with None, every) in-app notice of the user read."""
    with unit_of_work():
        query = update(NotificationOutbox).where(
            NotificationOutbox.user_id == user.id,
            NotificationOutbox.channel == INAPP,
            NotificationOutbox.read_at.is_(None),
        )
        if notification_id is not None:
            if (
                db.session.scalar(
                    select(NotificationOutbox.id).where(
                        NotificationOutbox.id == notification_id, NotificationOutbox.user_id == user.id
                    )
                )
                is None
            ):
                raise NotFound("通知不存在")
            query = query.where(NotificationOutbox.id == notification_id)
        result = db.session.execute(query.values(read_at=now).execution_options(synchronize_session=False))
    return result.rowcount


def payload_of(row: NotificationOutbox) -> dict:
    return json.loads(row.payload)


def contact_of(user) -> NotificationContact | None:
    return db.session.scalar(select(NotificationContact).where(NotificationContact.user_id == user.id))


def save_contact(user, email: str, phone: str) -> NotificationContact:
    email, phone = (email or "").strip(), (phone or "").strip()
    if email and ("@" not in email or len(email) > 120 or any(c.isspace() for c in email)):
        raise Invalid(f"邮箱地址不正确：{email}")
    if phone and not (phone.lstrip("+").isdigit() and 5 <= len(phone) <= 20):
        raise Invalid(f"手机号不正确：{phone}")
    with unit_of_work():
        contact = contact_of(user) or NotificationContact(user_id=user.id)
        contact.email, contact.phone = email, phone
        db.session.add(contact)
    return contact
