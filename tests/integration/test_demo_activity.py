"""The demo year with activity (services/demo_activity) and the 总览 dashboard drawn from it.

One database per module (the demo_activity_app fixture): these tests only read it.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from roadchief.domain.clock import beijing_today
from roadchief.domain.scoring import is_overdue
from roadchief.extensions import db
from roadchief.models import AuditEntry, LedgerEntry, QuarterScore, Segment, Town
from roadchief.models.inspections import Finding, Inspection, Rectification
from roadchief.models.operations import RoadEvent
from roadchief.models.public import PublicReport
from tests.conftest import login, make_user

TODAY = beijing_today()
YEAR = TODAY.year
PAST = [q for q in range(1, 5) if date(YEAR + (q == 4), 1 if q == 4 else 3 * q + 1, 1) <= TODAY]  # quarters over


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture(scope="module")
def office(demo_activity_app):
    client = demo_activity_app.test_client()
    login(client, make_user("city_office"))
    return client


def test_the_activity_went_through_the_services_and_agrees_with_itself(demo_activity_app):
    assert db.session.scalar(select(func.count(Inspection.id))) >= 20
    states = dict(db.session.execute(select(Rectification.state, func.count()).group_by(Rectification.state)).all())
    assert states.get("verified") and states.get("open")
    if PAST:
        assert states.get("done")  # handed in, waiting for the office's review
        # every past quarter is finalised: every paid unit has a score, from 督查 or the office's import
        sources = set(db.session.scalars(select(QuarterScore.source).where(QuarterScore.year == YEAR)))
        assert "inspection" in sources
    overdue = [r for r in db.session.scalars(select(Rectification)) if is_overdue(r.state, r.deadline, TODAY)]
    assert overdue or not PAST
    # approved quarters: all but the last one over (so one waits for 审定), and the ledger holds their payments
    from roadchief.services.funding_quarter import quarter_report

    closed = [q for q in range(1, 5) if quarter_report(YEAR, q).get("status") == "closed"]
    assert closed == (PAST[:-1] if len(PAST) > 1 else PAST)
    for q in closed:
        report = quarter_report(YEAR, q)
        paid = db.session.scalar(
            select(func.sum(LedgerEntry.amount_fen)).where(
                LedgerEntry.year == YEAR, LedgerEntry.quarter == q, LedgerEntry.kind == "payment"
            )
        )
        assert Decimal(paid).scaleb(-2) == Decimal(report["payable_total"])
    assert {e.state for e in db.session.scalars(select(RoadEvent))} >= {"reported", "restored", "repaired"}
    statuses = set(db.session.scalars(select(PublicReport.status)))
    assert statuses >= {"received", "assigned", "confirmed", "closed", "rejected"}
    # the audit log names the demo as the actor
    assert db.session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.actor == "演示数据")) > 100


def test_loading_twice_is_refused(demo_activity_app):
    from roadchief.services import ServiceError
    from roadchief.services.demo_activity import load_demo_activity

    with pytest.raises(ServiceError, match="已有检查记录"):
        load_demo_activity()


MAIN_PAGES = [
    ("/registry/", "路段"),
    ("/", "农村公路路网地图"),
    ("/inspections/", "路长办公室（演示）"),
    ("/inspections/rectifications", "演示"),
    ("/funding/", "季度拨付"),
    (f"/funding/{YEAR}/plan", "合计"),
    *[(f"/funding/{YEAR}/q/{q}", "实拨") for q in range(1, 5)],
    (f"/inspections/scores/{YEAR}/1", "考核"),
    (f"/funding/{YEAR}/ledger", "分录"),
    ("/p/", "农村公路路长公示"),
    ("/p/reports", "演示"),
    ("/ops/", r"各乡镇处置时效[\s\S]*镇\s*\d+\s+\d+"),
    ("/ops/events", r"#\d+\s+C\d{3}640381"),
    ("/admin/audit/", "演示数据"),
    ("/dashboard/", "各乡镇考核得分"),
]


@pytest.mark.parametrize("path, marker", MAIN_PAGES)
def test_every_main_page_shows_the_working_system(office, path, marker):
    response = office.get(path)
    assert response.status_code == 200, path
    page = text(response)
    main = page[page.index('<main id="main"') : page.index("</main>")]
    assert re.search(marker, re.sub(r"<[^>]+>", "", main)), path
    if path == "/":  # the map draws from its APIs: the markers layer has the year's inspections
        markers = office.get(re.search(r'data-markers-api="([^"]+)"', main).group(1)).get_json()
        assert len(markers["features"]) >= 20
    else:
        assert len(re.sub(r"<[^>]+>|\s", "", main)) > 200, path


# ------------------------------------------------------------------ the dashboard


def chart_values(page: str, key: str) -> dict[str, dict[str, Decimal]]:
    """label → {series: value} read back from the SVG of one chart."""
    svg = page[page.index(f'data-chart="{key}"') :]
    svg = svg[: svg.index("</svg>")]
    values: dict[str, dict[str, Decimal]] = {}
    for group in re.findall(r'<g class="dc-row" data-label="([^"]+)">(.*?)</g>', svg, re.S):
        label, body = group
        values[label] = {s: Decimal(v) for s, v in re.findall(r'data-series="([^"]+)" data-value="([^"]+)"', body)}
    return values


def test_the_dashboard_charts_show_the_underlying_numbers(demo_activity_app, office):
    from roadchief.services.funding_quarter import quarter_report

    page = text(office.get(f"/dashboard/?year={YEAR}"))
    assert "style=" not in page and "<script>" not in page  # CSP: no inline styles or scripts
    assert "http" not in page[page.index('<main id="main"') : page.index("</main>")]  # nothing from elsewhere

    # scores by town: the mean of each town's 镇级 quarterly scores, to the hundredth
    scores = chart_values(page, "scores")
    towns = {t.code: t.name for t in db.session.scalars(select(Town))}
    by_town: dict[str, list[int]] = {}
    for s in db.session.scalars(select(QuarterScore).where(QuarterScore.year == YEAR)):
        kind, _, code = s.unit_key.partition(":")
        if kind == "town":
            by_town.setdefault(towns[code], []).append(s.score_centi)
    assert by_town or not PAST
    for name, centis in by_town.items():
        expected = (Decimal(sum(centis)) / len(centis) / 100).quantize(Decimal("0.01"))
        assert scores[name] == {"s-score": expected}, name

    # money: plan = each quarter's base, paid = 实拨 of the approved quarters only
    money = chart_values(page, "money")
    for q in range(1, 5):
        report = quarter_report(YEAR, q)
        expected = {"s-plan": Decimal(report["budget"])}
        if report.get("status") == "closed":
            expected["s-paid"] = Decimal(report["payable_total"])
        assert money[f"第 {q} 季度"] == expected
        assert f"{Decimal(report['budget']):,.2f}" in page  # the table, with thousands separators

    # overdue rectifications: counted by the town of the finding's segment
    expected_overdue: dict[str, int] = {}
    rows = db.session.execute(
        select(Rectification, Town.name)
        .join(Finding, Rectification.finding_id == Finding.id)
        .join(Segment, Finding.segment_id == Segment.id)
        .join(Town, Segment.town_id == Town.id)
    )
    for rect, name in rows:
        if is_overdue(rect.state, rect.deadline, TODAY):
            expected_overdue[name] = expected_overdue.get(name, 0) + 1
    assert {k: v["s-overdue"] for k, v in chart_values(page, "overdue").items()} == expected_overdue

    # event response times: mean hours from occurrence to 抢通 / 修复, one place
    expected_times: dict[str, dict[str, list[float]]] = {}
    for event in db.session.scalars(select(RoadEvent)):
        if event.occurred_at.year != YEAR:
            continue
        entry = expected_times.setdefault(event.segment.town.name, {"s-restore": [], "s-repair": []})
        for series, moment in (("s-restore", event.restored_at), ("s-repair", event.repaired_at)):
            if moment:
                entry[series].append((moment - event.occurred_at).total_seconds() / 3600)
    responses = chart_values(page, "responses")
    assert set(responses) == set(expected_times)
    for name, series in expected_times.items():
        want = {s: Decimal(str(round(sum(h) / len(h), 1))) for s, h in series.items() if h}
        assert responses[name] == want, name


def test_the_dashboard_is_the_home_of_the_city_office_and_finance_only(demo_activity_app):
    for role, home in (("city_office", "/dashboard/"), ("finance", "/dashboard/"), ("inspector", "/")):
        client = demo_activity_app.test_client()
        response = client.post("/login", data={"username": make_user(role).username, "password": "Test-pass-123"})
        assert response.headers["Location"].endswith(home), role
        assert client.get("/dashboard/").status_code == (200 if home != "/" else 403)
        nav = text(client.get("/registry/"))
        assert ('href="/dashboard/"' in nav) is (home != "/")


def test_the_dashboard_fits_a_phone(office):
    page = text(office.get("/dashboard/"))
    assert 'width="100%"' in page and 'name="viewport"' in page
    assert page.count("<table") == page.count("<svg") or page.count("<table") >= 3  # a data table per chart
