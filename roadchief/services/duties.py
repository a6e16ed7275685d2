"""Duties kept apart (不相容职务分离): whoever set a quarter's scores — a score import, a
score edit, or the inspection module's finalisation writing them (第十七条 按考核结果拨付,
第二十四条) — cannot also approve (审定) that quarter's payment.

Who set the scores is read from the append-only audit log (services/audit.py writes a row
for every change to quarter_score and an event for every finalisation), so no use case can
forget to note it. The rule binds signed-in office accounts (the actor's user_id): a
command run on the server acts as the operating-system login (``cli:…``), not as an office
account, and is recorded as such in the log.
"""

from __future__ import annotations

from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models import AuditEntry, QuarterFinalisation, QuarterScore
from roadchief.services import ServiceError
from roadchief.services.audit import Actor, current_actor


def score_setters(year: int, quarter: int) -> set[int]:
    """user ids of everyone who wrote a score of the quarter or finalised its assessment."""
    score_ids = [
        str(i)
        for i in db.session.scalars(
            select(QuarterScore.id).where(QuarterScore.year == year, QuarterScore.quarter == quarter)
        )
    ]
    final_ids = [
        str(i)
        for i in db.session.scalars(
            select(QuarterFinalisation.id).where(
                QuarterFinalisation.year == year, QuarterFinalisation.quarter == quarter
            )
        )
    ]
    users: set[int] = set()
    for entity, ids in (("quarter_score", score_ids), ("quarter_finalisation", final_ids)):
        for start in range(0, len(ids), 500):  # keep IN lists short on both databases
            users.update(
                db.session.scalars(
                    select(AuditEntry.user_id).where(
                        AuditEntry.entity == entity,
                        AuditEntry.entity_id.in_(ids[start : start + 500]),
                        AuditEntry.user_id.is_not(None),
                    )
                )
            )
    return users


def check_can_approve(year: int, quarter: int, actor: Actor | None = None) -> None:
    """Refuse the approval of a quarter by someone who set its scores."""
    actor = actor or current_actor()
    if actor.user_id is None:
        return
    if actor.user_id in score_setters(year, quarter):
        raise ServiceError(
            f"不相容职务分离：您（{actor.name}）导入、修改或定稿过 {year} 年第 {quarter} 季度的考核得分，"
            f"不能再审定该季度的经费拨付；请由未经手得分的另一名工作人员审定"
        )
