"""What recording an inspection reads besides its segments — the year's deduction catalog,
deadline rules, notification rules, the day's chief assignments, the quarter finalisations,
the towns' names and who is told of a new 整改 — built once and kept per *reference version*
(issue #15 point 4: an inspection POST costs ≤ 8 SQL statements).

The reference version is the newest audit entry of the tables these answers come from (every
change to them is audited, services/audit.py), so a cached context is fresh by construction;
unlike services.data_version it leaves out the inspections themselves, which every POST writes.
It is read as a column of the segments query (``reference_version_column``): no statement of
its own. Cached ORM objects are detached and only read, or copied into the request's session
with ``Session.merge(load=False)`` (no SQL); each app (so each worker) keeps its own small cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy import func, select

from roadchief.domain import notifications as notice_rules
from roadchief.domain.deadlines import DeadlineRules
from roadchief.extensions import db
from roadchief.models import AuditEntry, Chief, Town, User
from roadchief.models.inspections import DeductionCatalog, QuarterFinalisation
from roadchief.models.supervision import NotificationContact
from roadchief.services.data_version import BodyCache

# the tables whose changes a cached context must see (all audited)
REFERENCE_ENTITIES = (
    "app_user",
    "town",
    "chief",
    "chief_assignment",
    "deduction_catalog",
    "deduction_item",
    "deadline_rule_set",
    "deadline_item_rule",
    "notification_rule",
    "notification_contact",
    "quarter_finalisation",
)


def reference_version_column():
    """A scalar column: the newest audit id of the reference tables (0 when none)."""
    return (
        select(func.coalesce(func.max(AuditEntry.id), 0))
        .where(AuditEntry.entity.in_(REFERENCE_ENTITIES))
        .scalar_subquery()
        .label("reference_version")
    )


@dataclass(frozen=True)
class Recipient:
    user_id: int | None
    chief_id: int
    email: str
    phone: str


@dataclass
class Context:
    """The reference data of one (version, inspection day); read-only once built."""

    catalog: DeductionCatalog | None  # detached, items loaded; None: not yet stored for the year
    deadline_rules: DeadlineRules
    notification_rules: dict
    index: object  # services.chiefs.AssignmentIndex of the day, detached
    finalised: dict[tuple[str, int, int], int]  # (scope_key, year, quarter) → revision
    town_names: dict[str, str]  # town code → name
    recipients: dict[int, list[Recipient]] = field(default_factory=dict)  # chief id → who is told

    def catalog_in(self, session):
        """The catalog as an object of this session, without SQL."""
        return session.merge(self.catalog, load=False)

    def chief_in(self, session, chief: Chief | None) -> Chief | None:
        return session.merge(chief, load=False) if chief is not None else None


def context_for(version: int, day: date) -> Context:
    """The context of a day at this reference version: from the app's cache, else built."""
    app = current_app._get_current_object()
    cache = app.extensions.setdefault("roadchief.inspection_context", BodyCache(size=16))
    return cache.get_or_build((version, day), lambda: _build_apart(app, day))  # type: ignore[return-value]


def _build_apart(app, day: date) -> Context:
    """Built in a session of its own (a nested app context has its own), closed at the end: its
    objects come out detached with what was loaded, and none of the request's is touched."""
    with app.app_context():
        return _build(day)


def _build(day: date) -> Context:
    from roadchief.services import deadline_rules, notifications
    from roadchief.services.chiefs import AssignmentIndex
    from roadchief.services.deduction_catalog import latest_catalog

    session = db.session
    catalog = latest_catalog(day.year)
    if catalog is not None:
        list(catalog.items)  # loaded before the session closes
    rules_of_year = deadline_rules.rules_for(day.year)
    table = notifications.current_rules()
    index = AssignmentIndex(day)
    finals = {
        (f.scope_key, f.year, f.quarter): f.revision
        for f in session.scalars(select(QuarterFinalisation).where(QuarterFinalisation.year == day.year))
    }
    towns = {t.code: t.name for t in session.scalars(select(Town))}
    recipients: dict[int, list[Recipient]] = {}
    users = list(session.scalars(select(User).where(User.chief_id.is_not(None), User.is_active_flag.is_(True))))
    contacts = {c.user_id: c for c in session.scalars(select(NotificationContact))}
    phones = {c.id: c.phone or "" for c in session.scalars(select(Chief))}
    for user in sorted(users, key=lambda u: u.id):
        contact = contacts.get(user.id)
        recipients.setdefault(user.chief_id, []).append(
            Recipient(
                user.id,
                user.chief_id,
                contact.email if contact else "",
                (contact.phone if contact and contact.phone else "") or phones.get(user.chief_id, ""),
            )
        )
    for chief_id, phone in phones.items():
        recipients.setdefault(chief_id, [Recipient(None, chief_id, "", phone)])
    return Context(catalog, rules_of_year, table, index, finals, towns, recipients)


def only_assignees(table, event: str) -> bool:
    """Whether the event's notices go to the assignee alone (then ``Context.recipients`` says who)."""
    return set(notice_rules.audiences_for(table, event)) <= {"assignee"}


def enqueue_created(rects, ctx: Context, now) -> int:
    """The "created" notices of fresh rectifications (services.notifications.enqueue_for_rectification
    with the recipients from the context): no SELECT, and no dedupe lookup — a fresh
    rectification's id is in every key, so none can exist yet."""
    import json

    from roadchief.models.supervision import NotificationOutbox
    from roadchief.services.notifications import TEMPLATES, _fields

    table = ctx.notification_rules
    channels = sorted(notice_rules.channels_for(table, "created", "assignee"))
    subject_t, body_t = TEMPLATES["created"]
    rows = []
    from roadchief.services.notifications import assignee_chief_ids

    for rect in rects:
        chief_ids = assignee_chief_ids(rect)  # the assessed chief and the segment's workers (routing)
        if not chief_ids or "assignee" not in notice_rules.audiences_for(table, "created"):
            continue
        fields = _fields(rect)
        payload = json.dumps(
            {
                "subject": subject_t.format(**fields),
                "body": body_t.format(**fields),
                "link": f"/supervision/rectifications/{rect.id}",
            },
            ensure_ascii=False,
        )
        for who in (w for cid in chief_ids for w in ctx.recipients.get(cid, [Recipient(None, cid, "", "")])):
            for channel in channels:
                if channel == notice_rules.INAPP and who.user_id is None:
                    continue
                tag = f"u{who.user_id}" if who.user_id else f"c{who.chief_id}"
                inapp = channel == notice_rules.INAPP
                address = {notice_rules.EMAIL: who.email, notice_rules.SMS: who.phone}.get(channel, "")
                rows.append(
                    NotificationOutbox(
                        user_id=who.user_id,
                        chief_id=who.chief_id,
                        channel=channel,
                        address=address,
                        template_key="created",
                        payload=payload,
                        dedupe_key=notice_rules.dedupe_key("created", f"r{rect.id}", "0", tag, channel),
                        attempts=0,
                        created_at=now,
                        next_attempt_at=None if inapp else now,
                        sent_at=now if inapp else None,
                        last_error="",
                    )
                )
    db.session.add_all(rows)
    return len(rows)


__all__ = ["Context", "Recipient", "context_for", "enqueue_created", "only_assignees", "reference_version_column"]
