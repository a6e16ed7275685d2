"""Issue #15 point 5: the plan sums listed metres in SQL (GROUP BY per class and paying unit)
and the quarter loads every unit's chiefs in one statement — with results identical to the
fen to the former per-segment computation, on the demo and on seeded awkward networks."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import event, insert, select

from roadchief.extensions import db
from roadchief.models import MileageVersion, Segment, SegmentMileage, Station, Town, Village
from roadchief.services import funding_plan, funding_quarter
from roadchief.services.funding_plan import Place, mileage_version_for


def _places_per_segment(year: int, by_payee: bool):
    """The computation before issue #15: one row per listed segment, summed in Python."""
    version = mileage_version_for(year)
    rows = db.session.execute(
        select(
            SegmentMileage.road_class,
            SegmentMileage.listed_m,
            Town.code,
            Town.name,
            Village.code,
            Village.name,
            Station.code,
            Station.name,
        )
        .join(Town, SegmentMileage.town_id == Town.id)
        .outerjoin(Village, SegmentMileage.village_id == Village.id)
        .outerjoin(Station, SegmentMileage.station_id == Station.id)
        .where(SegmentMileage.version_id == version.id, SegmentMileage.is_listed.is_(True))
        .order_by(SegmentMileage.segment_id)
    )
    places: dict[str, Place] = {}
    for road_class, metres, t_code, t_name, v_code, v_name, s_code, s_name in rows:
        if road_class == "村道" and v_code:
            place = places.setdefault(f"village:{v_code}", Place("village", v_code, v_name, t_code, t_name))
        elif by_payee and s_code:
            place = places.setdefault(f"station:{s_code}", Place("station", s_code, s_name, t_code, s_name))
        else:
            place = places.setdefault(f"town:{t_code}", Place("town", t_code, t_name, t_code, t_name))
        place.metres[road_class] += metres
    for place in list(places.values()):
        if place.kind == "village":
            places.setdefault(
                f"town:{place.town_code}",
                Place("town", place.town_code, place.town_name, place.town_code, place.town_name),
            )
    order = {"town": 0, "village": 1, "station": 2}
    return version, sorted(places.values(), key=lambda p: (p.kind == "station", p.town_code, order[p.kind], p.code))


def _shape(places):
    # the classes' order too: it is the order the exact sums are taken in
    return [(p.kind, p.code, p.name, p.town_code, p.town_name, list(p.metres.items())) for p in places]


def _assert_same(monkeypatch, year: int) -> None:
    for by_payee in (False, True):
        _, new = funding_plan._places(year, by_payee)
        _, old = _places_per_segment(year, by_payee)
        assert _shape(new) == _shape(old)
    plan = funding_plan.annual_plan(year)
    units = [(u.place.key, u.annual_fen, u.quarter_bases) for u in funding_plan.payee_units(year)]
    quarter = funding_quarter.compute_quarter(year, 1)
    with monkeypatch.context() as m:
        m.setattr(funding_plan, "_places", _places_per_segment)
        assert funding_plan.annual_plan(year) == plan
        assert [(u.place.key, u.annual_fen, u.quarter_bases) for u in funding_plan.payee_units(year)] == units
        assert funding_quarter.compute_quarter(year, 1) == quarter
    assert plan["towns"] and plan["standard_total"] != "0.00"


def test_sql_sums_equal_the_per_segment_plan_on_the_demo(demo_app, monkeypatch):
    _assert_same(monkeypatch, 2022)


AWKWARD_METRES = (1, 2, 3, 7, 333, 499, 500, 501, 666, 999, 1001, 1499, 1500, 1999, 123_457, 9_999_999, 2**40 + 1)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sql_sums_equal_the_per_segment_plan_on_awkward_networks(demo_app, monkeypatch, seed):
    """A seeded version where units mix towns (a village's or station's segments filed
    under several towns, so the first segment decides the town), every class, listed and
    unlisted segments, metres of 1 m up to 2⁴⁰ m and halves of a fen everywhere."""
    rng = random.Random(seed)
    towns = db.session.scalars(select(Town.id)).all()
    villages = db.session.scalars(select(Village.id)).all()
    stations = db.session.scalars(select(Station.id)).all()
    segments = db.session.scalars(select(Segment.id)).all()
    rng.shuffle(segments)  # the insertion order differs from the segment order
    version = MileageVersion(name=f"awkward {seed}", effective_from=date(2030, 1, 1))
    db.session.add(version)
    db.session.flush()
    rows = []
    for segment in segments:
        road_class = rng.choice(("市道", "镇道", "村道", "村道", "专用公路"))
        rows.append(
            {
                "version_id": version.id,
                "segment_id": segment,
                "road_class": road_class,
                "town_id": rng.choice(towns),
                "village_id": rng.choice(villages) if rng.random() < 0.7 else None,
                "station_id": rng.choice(stations) if stations and rng.random() < 0.3 else None,
                "listed_m": rng.choice(AWKWARD_METRES) if rng.random() < 0.5 else rng.randint(1, 50_000),
                "is_listed": rng.random() < 0.85,
            }
        )
    db.session.execute(insert(SegmentMileage), rows)
    db.session.commit()
    _assert_same(monkeypatch, 2030)


def test_the_quarter_loads_every_units_chief_in_one_statement(demo_app):
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = db.engine
    funding_quarter.compute_quarter(2022, 1)  # warm: the same session, nothing cached but the statements
    event.listen(engine, "before_cursor_execute", count)
    try:
        report = funding_quarter.compute_quarter(2022, 1)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    chiefs = [s for s in statements if "chief_assignment" in s.lower()]
    assert len(chiefs) == 1, chiefs
    assert not [s for s in statements if "FROM chief " in s or "FROM chief\n" in s]  # no lazy load per chief
    assert len(report["units"]) > 50
    assert len(statements) <= 8, statements
    assert all(u["chief"] for u in report["units"])  # the demo has a chief for every unit


def test_a_vacant_post_names_the_last_chief_serving_in_the_quarter(demo_app):
    from roadchief.models import ChiefAssignment

    report = funding_quarter.compute_quarter(2022, 1)
    unit = next(u for u in report["units"] if u["kind"] == "village")
    village = db.session.scalar(select(Village).where(Village.code == unit["village_code"]))
    serving = db.session.scalars(
        select(ChiefAssignment).where(ChiefAssignment.scope_kind == "village", ChiefAssignment.village_id == village.id)
    ).all()
    for a in serving:  # the village's chiefs leave mid-quarter, one after the other
        a.start_date, a.end_date = date(2022, 1, 1), date(2022, 2, 10)
    serving[-1].end_date = date(2022, 3, 1)
    if len(serving) > 1:
        serving[0].start_date = date(2022, 1, 5)
    db.session.commit()
    row = next(u for u in funding_quarter.compute_quarter(2022, 1)["units"] if u["unit_key"] == unit["unit_key"])
    latest = max(serving, key=lambda a: (a.start_date, -a.id))
    assert row["chief_id"] == latest.chief_id
    by_scope = defaultdict(list)
    for a in serving:
        by_scope[a.chief_id].append(a)
    assert {c["id"] for c in row["chiefs"]} == set(by_scope)


def test_the_quarter_pdf_prints_every_units_figures_and_wraps_long_text(demo_app, tmp_path):
    """One-line cells are drawn as strings, longer text still wraps inside its column."""
    from roadchief.reports import pdf_layout
    from roadchief.reports.document_model import MONEY, Column, Grid, Row
    from roadchief.reports.funding_pdf import quarter_pdf
    from tests.unit.test_funding_reports import assert_fonts_embedded, pdf_text

    report = funding_quarter.quarter_report(2022, 1)
    pdf = quarter_pdf(report)
    text = pdf_text(pdf, tmp_path)
    assert_fonts_embedded(pdf, tmp_path)
    for unit in report["units"]:
        assert f"{Decimal(unit['quarter_base']):,.2f}" in text
    assert report["units"][-1]["town"] in text

    long = "很长的乡镇名称" * 8
    grid = Grid(
        (Column("名称", 30), Column("金额", 20, kind=MONEY)), (Row((long, None)), Row(("短", None))), label_col=0
    )
    styles = pdf_layout._styles(pdf_layout.register_cjk_font())
    table = pdf_layout._grid_table(grid, styles, 300)
    first, second = table._cellvalues[1][0], table._cellvalues[2][0]
    assert isinstance(first, pdf_layout.Paragraph) and second == "短"
