"""Duties kept apart and forms that cannot record twice (issue #13 point 7), and the
loopback public address warning on the sign pages (point 8)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from roadchief.extensions import db
from roadchief.models import Inspection, QuarterClose
from roadchief.services import ServiceError
from roadchief.services.audit import Actor, acting_as, set_actor
from roadchief.services.duties import score_setters
from roadchief.services.funding_quarter import close_quarter, compute_quarter
from roadchief.services.public_url import is_loopback, loopback_warning
from roadchief.services.scores import set_unit_score
from roadchief.services.transactions import unit_of_work
from tests.conftest import login, make_user
from tests.integration.test_funding import score_all, write_scores
from tests.integration.test_inspections import XIAOBA, village_segment


@pytest.fixture(autouse=True)
def no_leftover_actor():
    set_actor(None)


def _as(user):
    return acting_as(Actor(name=user.username, user_id=user.id))


def test_whoever_imported_the_scores_cannot_approve_the_quarter_on_the_page(demo_app, tmp_path):
    importer, approver = make_user("city_office"), make_user("city_office")
    with _as(importer):
        score_all(tmp_path, 2022, 1)
    assert score_setters(2022, 1) == {importer.id}
    client = demo_app.test_client()
    login(client, importer)
    page = client.post("/funding/2022/q/1/close", data={"confirm": "yes"}, follow_redirects=True)
    assert "不相容职务分离" in page.get_data(as_text=True) and "2022 年第 1 季度" in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(QuarterClose.id))) == 0

    other = demo_app.test_client()
    login(other, approver)
    page = other.post("/funding/2022/q/1/close", data={"confirm": "yes"}, follow_redirects=True)
    assert "已审定" in page.get_data(as_text=True)
    assert db.session.scalar(select(QuarterClose.closed_by)) == approver.username


def test_uploading_scores_on_the_page_counts_as_setting_them(demo_app, tmp_path):
    office = make_user("city_office")
    client = demo_app.test_client()
    login(client, office)
    path = write_scores(tmp_path, [{"year": 2022, "quarter": 2, "town": "小坝镇", "score": "88"}])
    with open(path, "rb") as handle:
        response = client.post(
            "/funding/scores/import", data={"file": (handle, "scores.csv")}, content_type="multipart/form-data"
        )
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert score_setters(2022, 2) == {office.id} and score_setters(2022, 1) == set()


def test_an_edit_or_finalisation_of_one_score_also_bars_the_approver(demo_app, tmp_path):
    importer, editor, approver = (make_user("city_office") for _ in range(3))
    with _as(importer):
        score_all(tmp_path, 2022, 1)
    unit = compute_quarter(2022, 1)["units"][0]
    with _as(editor), unit_of_work():  # what the inspection module's finalisation does for each unit
        set_unit_score(2022, 1, unit["unit_key"], 7500, None, source="correction")
    assert score_setters(2022, 1) == {importer.id, editor.id}
    for barred in (importer, editor):
        with _as(barred), pytest.raises(ServiceError, match="不相容职务分离"):
            close_quarter(2022, 1)
    with _as(approver):
        assert close_quarter(2022, 1)["status"] == "closed"


# ------------------------------------------------------------------ the field form without JavaScript


def test_a_form_posted_twice_without_javascript_records_one_inspection(demo_app):
    office = make_user("city_office")
    client = demo_app.test_client()
    login(client, office)
    segment = village_segment(XIAOBA)
    html = client.get("/inspections/new").get_data(as_text=True)
    issued = re.search(r'name="client_uuid" value="([0-9a-f-]{36})"', html).group(1)
    assert issued not in client.get("/inspections/new").get_data(as_text=True)  # a fresh one per form
    form = {
        "client_uuid": issued,
        "kind": "supervision",
        "segment_ids": [str(segment.id)],
        "f-0-item": "LM04",
        "f-0-quantity": "1",
        "f-0-segment": str(segment.id),
    }
    first = client.post("/inspections/new", data=form, content_type="multipart/form-data")
    assert first.status_code == 302, first.get_data(as_text=True)[:800]
    second = client.post("/inspections/new", data=form, content_type="multipart/form-data", follow_redirects=True)
    assert "重复提交已忽略" in second.get_data(as_text=True)
    assert first.headers["Location"] in second.request.path or second.request.path == first.headers["Location"]
    assert db.session.scalar(select(func.count(Inspection.id))) == 1
    # a refused form keeps its number, so correcting and resending still records once
    bad = client.post("/inspections/new", data={**form, "client_uuid": "", "kind": "nope"})
    kept = re.search(r'name="client_uuid" value="([0-9a-f-]{36})"', bad.get_data(as_text=True))
    assert bad.status_code == 400 and kept


# ------------------------------------------------------------------ the loopback public address


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:5000", True),
        ("http://127.8.9.10", True),
        ("http://[::1]:8080/", True),
        ("http://localhost:5000", True),
        ("https://LOCALHOST", True),
        ("http://app.localhost", True),
        ("", True),
        ("https://lz.qtx.gov.cn", False),
        ("http://10.0.0.5", False),
        ("http://192.168.1.20:8000", False),
        ("https://127.0.0.1.nip.io", False),
    ],
)
def test_loopback_addresses(url, loopback):
    assert is_loopback(url) is loopback


def test_sign_printing_pages_warn_about_a_loopback_address(demo_app):
    office = make_user("city_office")
    client = demo_app.test_client()
    login(client, office)
    page = client.get(f"/p/town/{XIAOBA}").get_data(as_text=True)
    assert 'id="url-warning"' in page and "二维码" in page and "127.0.0.1" in page
    assert 'id="url-warning"' in client.get("/p/").get_data(as_text=True)
    assert 'id="url-warning"' not in demo_app.test_client().get("/p/").get_data(as_text=True)  # not to the public
    demo_app.config["PUBLIC_BASE_URL"] = "https://lz.qtx.gov.cn"
    assert loopback_warning() is None
    assert 'id="url-warning"' not in client.get(f"/p/town/{XIAOBA}").get_data(as_text=True)


def test_serve_warns_on_stderr(demo_app, monkeypatch):
    import waitress

    from roadchief.cli import main

    monkeypatch.setattr(waitress, "serve", lambda *args, **kwargs: None)
    result = demo_app.test_cli_runner().invoke(main, ["serve", "--no-demo"])
    assert result.exit_code == 0 and "警告" in result.stderr and "ROADCHIEF_PUBLIC_BASE_URL" in result.stderr


def test_a_request_s_actor_does_not_outlive_it(demo_app):
    # a service called after a signed-in request (a command, a test) acts as itself, not as that user
    from roadchief.services.audit import current_actor
    from tests.conftest import login, make_user

    client = demo_app.test_client()
    login(client, make_user("city_office", username="actor-leak"))
    assert client.get("/funding/").status_code in (200, 302)
    assert current_actor().user_id is None and current_actor().name != "actor-leak"
