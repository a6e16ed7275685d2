"""整改期限 from the year's rules, 督办 escalation (once and only once, numbered notices read back
from the PDF), the notification outbox (dedupe, retries after an SMTP failure, e-mail received by a
real local SMTP server, the SMS file transport), and the pages and CLI verbs."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from roadchief.extensions import db
from roadchief.models.supervision import RectificationEscalation
from roadchief.reports.supervision_notice_pdf import notice_pdf
from roadchief.services import ServiceError, deadline_rules, escalation, notifications, rectifications
from tests.conftest import make_user
from tests.integration.test_inspections import DABA, XIAOBA, at, chief_of, image_bytes, record, upload, village_segment

pdftotext = shutil.which("pdftotext")


def _pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "notice.pdf"
    path.write_bytes(data)
    return subprocess.run([pdftotext, "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def _town_case(when=None, deadline=date(2022, 1, 15)):
    """A 小坝镇 office 督查 of a village road: the 村级路长 must fix it."""
    town_office = make_user("town_office", town=XIAOBA)
    segment = village_segment(XIAOBA)
    chief = chief_of("village", segment.village_id, date(2022, 1, 10))
    inspection = record(town_office, [segment], [("LM03", 1)], when=when or at(2022, 1, 10), deadline=deadline)
    return town_office, chief, inspection.inspection.findings[0].rectification


def test_deadline_from_the_years_rules_per_item_and_severity(demo_app):
    city = make_user("city_office")
    form = {
        "general_days": "9",
        "major_days": "4",
        "serious_days": "2",
        "emergency_days": "1",
        "escalation_days": "3",
        "near_days": "2",
        "major_points": "2",
        "serious_points": "5",
        "item_days": "LR05 12\n",
    }
    codes = {"LR05", "LM03", "LJ04"}
    with pytest.raises(ServiceError, match="第 1 行.*XX99"):
        deadline_rules.save_rules(2022, {**form, "item_days": "XX99 3"}, city, codes)
    with pytest.raises(ServiceError, match="一般问题整改天数"):
        deadline_rules.save_rules(2022, {**form, "general_days": "0"}, city, codes)
    assert deadline_rules.rule_set(2022) is None  # refused input wrote nothing
    deadline_rules.save_rules(2022, form, city, codes)
    segment = village_segment(DABA)
    found = record(
        city, [segment], [("LR05", 1), ("LM03", 1), ("LJ04", 1)], when=at(2022, 3, 1), deadline=None
    ).inspection
    assert [f.rectification.deadline for f in found.findings] == [
        date(2022, 3, 13),  # LR05: its own 12 days
        date(2022, 3, 10),  # LM03 (1 分): 一般 9 days
        date(2022, 3, 5),  # LJ04 (2 分): 较重 4 days
    ]
    emergency = record(city, [segment], [("LM03", 1)], when=at(2022, 3, 2), deadline=None, kind="emergency")
    assert emergency.inspection.findings[0].rectification.deadline == date(2022, 3, 3)  # 第十四条
    assert deadline_rules.rules_for(2023).general_days == 7  # another year: the defaults
    from roadchief.models import AuditEntry

    assert db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.entity == "deadline_rule_set")
    )


def test_overdue_escalates_once_per_level_with_numbered_notices(demo_app, tmp_path):
    town_office, chief, rect = _town_case()
    city = make_user("city_office")
    assert escalation.escalate_overdue(at(2022, 1, 15, 20)).escalated == []  # the deadline day is allowed
    first = escalation.escalate_overdue(at(2022, 1, 16, 9)).escalated
    assert [(s.level, s.notice_number, s.new_deadline) for s in first] == [
        ("town", "青路督〔2022〕1号", date(2022, 1, 19))
    ]
    assert first[0].office_key == f"town:{XIAOBA}" and first[0].previous_deadline == date(2022, 1, 15)
    for moment in (at(2022, 1, 16, 10), at(2022, 1, 19, 23)):  # again, before the new deadline: nothing
        assert escalation.escalate_overdue(moment).escalated == []
    second = escalation.escalate_overdue(at(2022, 1, 20, 8)).escalated
    assert [(s.level, s.notice_number, s.office_key) for s in second] == [("city", "青路督〔2022〕2号", "city")]
    assert escalation.escalate_overdue(at(2022, 2, 20)).escalated == []  # the city office is the top
    steps = escalation.history(rect)
    assert [s.level for s in steps] == ["town", "city"] and rect.deadline == date(2022, 1, 15)  # scoring keeps it
    assert escalation.running_deadline(rect) == date(2022, 1, 23)
    # the database itself refuses a second escalation of a level and any change of the history
    with pytest.raises(Exception):
        with db.session.begin_nested():
            db.session.add(
                RectificationEscalation(
                    rectification_id=rect.id,
                    level="town",
                    office_key="x",
                    office_name="x",
                    escalated_at=at(2022, 2, 1),
                    previous_deadline=date(2022, 1, 1),
                    new_deadline=date(2022, 1, 2),
                    notice_year=2022,
                    notice_seq=99,
                    notice_number="青路督〔2022〕99号",
                )
            )
    db.session.rollback()
    with pytest.raises(Exception):
        db.session.execute(RectificationEscalation.__table__.update().values(notice_seq=7))
        db.session.flush()
    db.session.rollback()
    # the notices: each office escalated to is told in-app
    owner = make_user("chief", chief_id=chief.id)
    assert notifications.inbox(owner) == []  # an account made after the escalation gets nothing retroactively
    inbox = {n.template_key for n in notifications.inbox(town_office)}
    assert {"escalated"} <= inbox and "escalated" in {n.template_key for n in notifications.inbox(city)}
    assert pdftotext, "poppler-utils (pdftotext) is needed to read the notice back"
    text = _pdf_text(notice_pdf(escalation.notice_data(second[0])), tmp_path)
    for expected in (
        "督办通知书",
        "青路督〔2022〕2号",
        "路面裂缝未及时灌缝",
        chief.name,
        "2022-01-15",
        "2022-01-23",
        "签发人",
        "日期",
        "市级路长办公室",
    ):
        assert expected in text, expected
    assert "第 1 页 共 1 页" in " ".join(text.split())
    fonts = subprocess.run(["pdffonts", str(tmp_path / "notice.pdf")], capture_output=True, text=True).stdout
    assert "WenQuanYi" in fonts and " yes " in fonts  # the CJK font embedded


def test_answered_item_does_not_escalate_and_returned_one_does(demo_app):
    town_office, chief, rect = _town_case()
    owner = make_user("chief", chief_id=chief.id)
    from flask import current_app

    rectifications.act(
        owner, rect, "complete", "已灌缝", upload(image_bytes()), current_app.config["UPLOAD_DIR"], now=at(2022, 1, 17)
    )
    assert escalation.escalate_overdue(at(2022, 1, 18)).escalated == []
    answered = [n for n in notifications.inbox(town_office) if n.template_key == "answered"]
    assert len(answered) == 1 and "已提交整改" in notifications.payload_of(answered[0])["body"]
    rectifications.act(town_office, rect, "return", "裂缝仍在", now=at(2022, 1, 18, 11))
    assert [n.template_key for n in notifications.inbox(owner)][:1] == ["returned"]
    assert [s.level for s in escalation.escalate_overdue(at(2022, 1, 18, 12)).escalated] == ["town"]


def test_escalate_cli_is_idempotent(demo_app, demo_runner):
    from roadchief.cli import main
    from roadchief.domain import clock

    _town_case(when=clock.beijing_now() - timedelta(days=20), deadline=clock.beijing_today() - timedelta(days=10))
    first = demo_runner.invoke(main, ["rectifications", "escalate", "--json"])
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert len(data["escalated"]) == 1 and data["escalated"][0]["notice"].startswith("青路督〔")
    again = json.loads(demo_runner.invoke(main, ["rectifications", "escalate", "--json"]).output)
    assert again["escalated"] == []
