"""整改期限 from the year's rules, 督办 escalation (once and only once, numbered notices read back
from the PDF), the notification outbox (dedupe, retries after an SMTP failure, e-mail received by a
real local SMTP server, the SMS file transport), and the pages and CLI verbs."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from roadchief.extensions import db
from roadchief.models.supervision import NotificationOutbox, RectificationEscalation
from roadchief.reports.supervision_notice_pdf import notice_pdf
from roadchief.services import ServiceError, deadline_rules, escalation, notifications, rectifications
from tests.conftest import login, make_user
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


# ------------------------------------------------------------------ pages


def test_pages_history_pdf_download_and_access(demo_app):
    demo_app.config["ESCALATE_ON_VIEW"] = False  # the test moves the clock itself
    town_office, chief, rect = _town_case()
    step = escalation.escalate_overdue(at(2022, 1, 16, 9)).escalated[0]
    office = demo_app.test_client()
    login(office, town_office)
    page = office.get(f"/supervision/rectifications/{rect.id}").get_data(as_text=True)
    assert "青路督〔2022〕1号" in page and "2022-01-19" in page and "下载 PDF" in page
    assert "青路督〔2022〕1号" in office.get("/supervision/").get_data(as_text=True)
    pdf = office.get(f"/supervision/notices/{step.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert "attachment" in pdf.headers["Content-Disposition"]
    # the chief sees the history but cannot download the office's notice; another town's office sees nothing
    chief_client = demo_app.test_client()
    login(chief_client, make_user("chief", chief_id=chief.id))
    mine = chief_client.get(f"/supervision/rectifications/{rect.id}").get_data(as_text=True)
    assert "青路督〔2022〕1号" in mine and "下载 PDF" not in mine
    assert chief_client.get(f"/supervision/notices/{step.id}.pdf").status_code == 403
    other = demo_app.test_client()
    login(other, make_user("town_office", town=DABA))
    assert other.get(f"/supervision/rectifications/{rect.id}").status_code == 403
    assert other.get(f"/supervision/notices/{step.id}.pdf").status_code == 403
    assert "青路督〔2022〕1号" not in other.get("/supervision/").get_data(as_text=True)
    # past the town office to the city: the town still follows it, the city office lists it too
    escalation.escalate_overdue(at(2022, 1, 20, 8))
    assert "青路督〔2022〕2号" in office.get("/supervision/").get_data(as_text=True)
    city = demo_app.test_client()
    login(city, make_user("city_office"))
    listed = city.get("/supervision/").get_data(as_text=True)
    assert "青路督〔2022〕1号" in listed and "青路督〔2022〕2号" in listed
    assert other.get("/supervision/deadlines/2022").status_code == 403


def test_deadline_page_and_notification_rules_page(demo_app):
    city = demo_app.test_client()
    login(city, make_user("city_office"))
    page = city.get("/supervision/deadlines/2022").get_data(as_text=True)
    assert "尚未设定" in page and "LM04" in page
    form = {"general_days": "8", "major_days": "4", "serious_days": "2", "emergency_days": "1"}
    form |= {"escalation_days": "3", "near_days": "1", "major_points": "2", "serious_points": "5"}
    bad = city.post("/supervision/deadlines/2022", data={**form, "major_days": "abc"})
    assert bad.status_code == 422 and "较重问题整改天数" in bad.get_data(as_text=True)
    assert deadline_rules.rule_set(2022) is None
    assert city.post("/supervision/deadlines/2022", data={**form, "item_days": "LM04 3"}).status_code == 302
    rules = deadline_rules.rules_for(2022)
    assert rules.general_days == 8 and rules.item_days == {"LM04": 3}
    response = city.post(
        "/supervision/notification-rules",
        data={"rule": ["created|assignee|inapp", "created|assignee|email", "escalated|city_office|sms"]},
    )
    assert response.status_code == 302
    assert notifications.current_rules() == {
        ("created", "assignee"): frozenset({"email"}),
        ("escalated", "city_office"): frozenset({"sms"}),
    }
    assert "checked" in city.get("/supervision/notification-rules").get_data(as_text=True)


def test_office_page_escalates_lazily_when_no_cron_ran(demo_app):
    town_office, chief, rect = _town_case()  # overdue since 2022
    escalation._last_lazy_run.clear()
    client = demo_app.test_client()
    login(client, town_office)
    assert "青路督〔" in client.get("/supervision/").get_data(as_text=True)
    assert [s.level for s in escalation.history(rect)] == ["town"]
    client.get("/supervision/")  # at most every few minutes: no second run right away
    assert len(escalation.history(rect)) == 1


def test_notification_list_and_mark_read(demo_app):
    town_office, chief, rect = _town_case()
    owner = make_user("chief", chief_id=chief.id)
    rectifications.act(owner, rect, "complete", "已灌缝", upload(image_bytes()), demo_app.config["UPLOAD_DIR"])
    client = demo_app.test_client()
    login(client, town_office)
    page = client.get("/notifications/").get_data(as_text=True)
    assert "整改已答复" in page and "1 条未读" in page
    row = notifications.inbox(town_office)[0]
    other = demo_app.test_client()
    login(other, owner)
    assert other.post(f"/notifications/{row.id}/read").status_code == 404  # not his
    assert client.post(f"/notifications/{row.id}/read").status_code == 302
    assert notifications.unread_count(town_office) == 0
    bad = client.post("/notifications/contact", data={"email": "not an address", "phone": ""}, follow_redirects=True)
    assert "邮箱地址不正确" in bad.get_data(as_text=True) and notifications.contact_of(town_office) is None
    client.post("/notifications/contact", data={"email": "office@example.org", "phone": "13800000000"})
    assert notifications.contact_of(town_office).email == "office@example.org"


# ------------------------------------------------------------------ the outbox: dedupe, retries, SMTP, SMS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    """An aiosmtpd handler keeping what arrived."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default)))
        return "250 OK"


def test_email_retried_after_smtp_failure_then_received_once(demo_app):
    from aiosmtpd.controller import Controller

    port = _free_port()
    demo_app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=str(port), SMTP_FROM="roadchief@qtx.example")
    notifications.save_rules([("escalated", "escalated_office", "email")])
    town_office, chief, rect = _town_case()
    notifications.save_contact(town_office, "office@qtx.example", "")
    now = at(2022, 1, 16, 9)
    escalation.escalate_overdue(now)
    mails = list(db.session.scalars(select(NotificationOutbox).where(NotificationOutbox.channel == "email")))
    assert [(m.address, m.template_key, m.attempts) for m in mails] == [("office@qtx.example", "escalated", 0)]
    # the same event again queues nothing (dedupe key), also through a direct call
    step = escalation.history(rect)[0]
    assert notifications.enqueue_for_rectification(rect, "escalated", escalation=step) == 0
    # no server listening yet: the send fails, the error is kept and the next try backs off
    counts = notifications.deliver_pending(now)
    assert counts == {"sent": 0, "failed": 1, "given_up": 0}
    mail = db.session.get(NotificationOutbox, mails[0].id)
    db.session.refresh(mail)
    assert mail.attempts == 1 and mail.sent_at is None and "Connection" in mail.last_error
    assert mail.next_attempt_at == now + timedelta(minutes=1)
    assert notifications.deliver_pending(now + timedelta(seconds=30)) == {"sent": 0, "failed": 0, "given_up": 0}
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert notifications.deliver_pending(now + timedelta(minutes=2))["sent"] == 1
        assert notifications.deliver_pending(now + timedelta(minutes=30))["sent"] == 0  # never twice
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    recipients, message = inbox.messages[0]
    assert recipients == ["office@qtx.example"] and message["From"] == "roadchief@qtx.example"
    assert message["Subject"].startswith("督办通知 青路督〔2022〕1号")
    assert "路面裂缝未及时灌缝" in message.get_content() and "2022-01-19" in message.get_content()
    db.session.refresh(mail)
    assert mail.sent_at == now + timedelta(minutes=2) and mail.attempts == 2 and mail.last_error == ""


def test_sms_file_transport_and_giving_up_without_an_address(demo_app, tmp_path):
    from roadchief.models import Chief

    sms_file = tmp_path / "sms.jsonl"
    demo_app.config.update(SMS_TRANSPORT=f"file:{sms_file}")
    town_office, chief, rect = _town_case(deadline=date(2022, 1, 11))
    db.session.get(Chief, chief.id).phone = "13912345678"
    db.session.commit()
    make_user("chief", chief_id=chief.id)
    noaddress = make_user("town_office", town=XIAOBA)
    notifications.save_rules([("deadline_near", "assignee", "sms"), ("deadline_near", "inspecting_office", "sms")])
    now = at(2022, 1, 10, 12)
    # the chief's account: in-app + SMS; each of the two 小坝镇 office accounts: in-app + SMS
    assert escalation.remind_due(now) == 6
    assert escalation.remind_due(now + timedelta(hours=3)) == 0  # once per deadline
    counts = notifications.deliver_pending(now)
    assert counts == {"sent": 1, "failed": 2, "given_up": 0}  # the office accounts have no mobile number
    lines = [json.loads(line) for line in sms_file.read_text(encoding="utf-8").splitlines()]
    assert lines == [{"to": "13912345678", "text": lines[0]["text"]}]
    assert "整改期限 2022-01-11" in lines[0]["text"] and lines[0]["text"].startswith("【路长制】")
    failed = db.session.scalar(
        select(NotificationOutbox).where(
            NotificationOutbox.user_id == noaddress.id, NotificationOutbox.channel == "sms"
        )
    )
    assert "没有接收地址" in failed.last_error
    moment = now
    for _ in range(10):  # retried with backoff until MAX_ATTEMPTS, then given up
        moment += timedelta(hours=7)
        notifications.deliver_pending(moment)
    db.session.refresh(failed)
    assert failed.attempts == 6 and failed.next_attempt_at is None and failed.sent_at is None
    assert len(sms_file.read_text(encoding="utf-8").splitlines()) == 1  # the sent one never again


def test_new_rectification_notifies_its_chief_once(demo_app):
    segment = village_segment(XIAOBA)
    chief = chief_of("village", segment.village_id, date(2022, 1, 10))
    owner = make_user("chief", chief_id=chief.id)
    _office, _chief, rect = _town_case()
    rows = {
        (r.channel, r.template_key)
        for r in db.session.scalars(select(NotificationOutbox).where(NotificationOutbox.user_id == owner.id))
    }
    assert rows == {("inapp", "created"), ("sms", "created")}  # the defaults: in-app and SMS
    assert "请于 2022-01-15 前完成整改" in notifications.payload_of(notifications.inbox(owner)[0])["body"]
    assert notifications.enqueue_for_rectification(rect, "created") == 0  # the same event: nothing new
