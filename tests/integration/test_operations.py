"""Operations: a 水毁 closure from report to repair (第十四条), the public sign, the
一路一档 PDF, seasonal duty gaps (第十三条), asset import and the works plan."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from roadchief.domain.clock import beijing_today
from roadchief.extensions import db
from roadchief.models import ChiefAssignment, Segment, Town, Village
from roadchief.models.operations import RoadAsset, RoadEvent
from roadchief.services import ServiceError
from tests.conftest import login, make_user


def _place():
    town = db.session.scalar(select(Town).where(Town.code == "640381100"))
    segment = db.session.scalar(
        select(Segment)
        .join(Village, Segment.village_id == Village.id)
        .where(Segment.town_id == town.id)
        .order_by(Segment.id)
    )
    chief = db.session.scalar(
        select(ChiefAssignment).where(
            ChiefAssignment.village_id == segment.village_id, ChiefAssignment.end_date.is_(None)
        )
    ).chief
    return town, segment, chief


def _png() -> io.BytesIO:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 40)).save(out, "PNG")
    out.seek(0)
    return out


def _local(moment: datetime) -> str:
    from roadchief.domain.scoring import LOCAL_TZ

    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def test_flood_damage_closure_story(demo_app):
    town, segment, chief = _place()
    office = make_user("town_office", town=town.code)
    chief_user = make_user("chief", chief_id=chief.id)
    office_client, chief_client, anonymous = demo_app.test_client(), demo_app.test_client(), demo_app.test_client()
    login(office_client, office)
    login(chief_client, chief_user)
    road = segment.road
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    occurred = now - timedelta(hours=30)
    form = {
        "segment_id": segment.id,
        "kind": "flood_damage",
        "severity": "severe",
        "occurred_at": _local(occurred),
        "closed": "1",
        "description": "暴雨冲毁路基",
    }

    # 中断 without warning sign and detour is refused, nothing saved
    response = office_client.post("/ops/events/new", data=form)
    assert response.status_code == 400
    assert "警示标志" in response.get_data(as_text=True)
    assert db.session.scalar(select(RoadEvent.id)) is None

    detour = {"type": "LineString", "coordinates": [[106.0, 38.0], [106.01, 38.01]]}
    response = office_client.post(
        "/ops/events/new",
        data={
            **form,
            "warning_sign": "两端设置“前方断路”警示牌",
            "detour": "经邻村道路绕行",
            "detour_geometry": json.dumps(detour),
            "photos": (_png(), "scene.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    event = db.session.scalar(select(RoadEvent))
    assert event.interrupted and len(event.photos) == 1

    # the public sign page shows the closure and the detour
    page = anonymous.get(f"/p/r/{road.code}").get_data(as_text=True)
    assert "交通中断" in page and "经邻村道路绕行" in page and "前方断路" in page

    # the map layer: the event point and the detour line
    token_headers = {"X-Requested-With": "fetch"}
    data = office_client.get("/api/v1/events", headers=token_headers).get_json()
    layers = sorted(f["properties"]["layer"] for f in data["features"])
    assert layers == ["detour", "event"]
    assert chief_client.get("/ops/").status_code == 200

    # 修复 before 抢通 is refused
    chief_client.post(f"/ops/events/{event.id}/repair", data={"at": _local(now - timedelta(hours=1))})
    db.session.expire_all()
    assert db.session.get(RoadEvent, event.id).state == "reported"

    # the chief restores traffic, then repairs
    response = chief_client.post(
        f"/ops/events/{event.id}/restore",
        data={
            "at": _local(occurred + timedelta(hours=6)),
            "note": "清理塌方，单车道通行",
            "photos": (_png(), "open.png"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "已登记抢通" in response.get_data(as_text=True), response.get_data(as_text=True)[-3000:]
    db.session.expire_all()
    event = db.session.get(RoadEvent, event.id)
    assert event.state == "restored" and not event.interrupted
    page = anonymous.get(f"/p/r/{road.code}").get_data(as_text=True)
    assert "已抢通，待修复" in page and "经邻村道路绕行" not in page

    chief_client.post(
        f"/ops/events/{event.id}/repair", data={"at": _local(occurred + timedelta(hours=28)), "note": "路基恢复"}
    )
    db.session.expire_all()
    event = db.session.get(RoadEvent, event.id)
    assert event.state == "repaired"
    assert "通行提示" not in anonymous.get(f"/p/r/{road.code}").get_data(as_text=True)
    detail = office_client.get(f"/api/v1/events/{event.id}").get_json()
    assert detail["hours_to_restore"] == 6.0 and detail["hours_to_repair"] == 28.0

    # per-town times
    index = office_client.get(f"/ops/?year={_local(occurred)[:4]}").get_data(as_text=True)
    assert town.name in index

    # the road's 一路一档 page and PDF tell the story with times and name the chiefs
    assert office_client.get(f"/ops/roads/{road.code}").status_code == 200
    response = office_client.get(f"/ops/roads/{road.code}/file.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.data, capture_output=True, check=True
    ).stdout.decode()
    assert "一路一档" in text and road.code in text
    assert chief.name in text
    assert "水毁" in text and "6 小时" in text and "28 小时" in text
    restored_day, restored_time = _local(occurred + timedelta(hours=6)).split("T")
    assert restored_day in text and restored_time in text  # the table cell may wrap between them


def test_event_rules_in_the_service(demo_app):
    from roadchief.services import events as service

    town, segment, chief = _place()
    office = make_user("town_office", town=town.code)
    other_town = db.session.scalar(select(Town).where(Town.code != town.code).order_by(Town.code))
    outsider = make_user("town_office", town=other_town.code)
    finance = make_user("finance")
    base = dict(segment_id=segment.id, kind="塌方", severity="minor", occurred_at=datetime.now(UTC))
    with pytest.raises(ServiceError, match="管辖范围"):
        service.create_event(outsider, service.EventInput(**base))
    with pytest.raises(ServiceError, match="管辖范围"):
        service.create_event(finance, service.EventInput(**base))
    with pytest.raises(ServiceError, match="桩号"):
        service.create_event(office, service.EventInput(**base, stake="K999+000"))
    with pytest.raises(ServiceError, match="绕行路线"):
        service.create_event(
            office, service.EventInput(**base, closed=True, warning_sign="警示牌", detour_geometry="{}")
        )
    with pytest.raises(ServiceError, match="晚于现在"):
        service.create_event(
            office, service.EventInput(**{**base, "occurred_at": datetime.now(UTC) + timedelta(days=1)})
        )
    event = service.create_event(
        office, service.EventInput(**base, closed=True, warning_sign="警示牌", detour_road=segment.road.code)
    )
    assert event.kind == "landslide" and event.interrupted
    with pytest.raises(ServiceError, match="先抢通"):
        service.act(office, event, "repair")
    with pytest.raises(ServiceError, match="路长或路长办公室"):
        service.act(outsider, event, "restore")
    with pytest.raises(ServiceError, match="必须登记"):
        service.update_safety(office, event, "", "")
    service.act(office, event, "restore")
    service.act(office, event, "repair")
    assert event.state == "repaired"


def test_duty_gaps_from_patrol_records(demo_app):
    from roadchief.services import seasonal
    from roadchief.services.inspections import InspectionInput, create_inspection

    town, segment, chief = _place()
    city = make_user("city_office")
    chief_user = make_user("chief", chief_id=chief.id)
    today = beijing_today()
    start = today - timedelta(days=20)
    window = seasonal.add_window(start.year, "flood", start, start + timedelta(days=13), period_days=7, town=town.code)

    def patrol(day: date, phase: str, note: str = ""):
        return create_inspection(
            chief_user,
            InspectionInput(
                kind="flood",
                segment_ids=[segment.id],
                note=note,
                duty_phase=phase,
                inspected_at=datetime(day.year, day.month, day.day, 4, tzinfo=UTC),
            ),
            "",
        ).inspection

    # first week: all three phases; second week: only 雨前 and 雨后
    patrol(start + timedelta(days=1), "雨前", "边沟畅通")
    patrol(start + timedelta(days=2), "雨中")
    patrol(start + timedelta(days=3), "雨后", "清理落石")
    # a record from before the duty_phase field: its note is still read
    legacy = patrol(start + timedelta(days=8), "雨前", "雨前、雨后巡查")
    legacy.duty_phase = None
    db.session.commit()
    gaps = seasonal.duty_gaps(city, window, today=today)
    mine = [g for g in gaps if g.segment.id == segment.id]
    assert [(g.period[0], g.missing) for g in mine] == [(start + timedelta(days=7), ["雨中"])]
    assert mine[0].deduction_code == "LZ02" and chief.name in mine[0].chief_name
    # other segments of the town with no record miss everything in both weeks
    others = [g for g in gaps if g.segment.id != segment.id]
    assert others and all(g.missing == ["雨前", "雨中", "雨后"] for g in others)
    assert all(g.segment.town_id == town.id for g in gaps)
    # a period not yet ended is not judged
    future = seasonal.add_window(
        today.year, "winter", today - timedelta(days=2), today + timedelta(days=5), town=town.code
    )
    assert seasonal.duty_gaps(city, future, today=today) == []
    client = demo_app.test_client()
    login(client, city)
    page = client.get(f"/ops/duty?year={window.year}&window={window.id}").get_data(as_text=True)
    assert "雨中" in page and "LZ02" in page


def test_emergency_stock(demo_app):
    town, _segment, _chief = _place()
    client = demo_app.test_client()
    login(client, make_user("town_office", town=town.code))
    client.post(
        "/ops/stock/save",
        data={"town": town.code, "item": "防滑砂", "unit": "吨", "quantity": "120", "location": "镇养护站"},
    )
    client.post("/ops/stock/save", data={"town": town.code, "item": "防滑砂", "unit": "吨", "quantity": "80"})
    page = client.get("/ops/stock").get_data(as_text=True)
    assert "防滑砂" in page and "80 吨" in page and "120 吨" not in page
    other = db.session.scalar(select(Town).where(Town.code != town.code).order_by(Town.code))
    assert (
        client.post(
            "/ops/stock/save", data={"town": other.code, "item": "融雪剂", "unit": "吨", "quantity": "1"}
        ).status_code
        == 403
    )


# ---------------------------------------------------------------- assets


def _feature(geometry, **props):
    return {"type": "Feature", "geometry": geometry, "properties": props}


def _write(tmp_path, features, name="assets.geojson"):
    path = tmp_path / name
    path.write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), encoding="utf-8"
    )
    return path


def _point_on(segment):
    from shapely.geometry import shape

    line = shape(json.loads(segment.geometry))
    point = line.interpolate(0.5, normalized=True)
    return {"type": "Point", "coordinates": [point.x, point.y]}


def _line_coords(segment):
    geometry = json.loads(segment.geometry)
    coords = geometry["coordinates"] if geometry["type"] == "LineString" else geometry["coordinates"][0]
    return coords[:2]


def test_asset_import_and_bad_input(demo_app, tmp_path):
    from roadchief.services.assets import import_assets
    from roadchief.services.road_import import ImportFailed

    _town, segment, _chief = _place()
    code = segment.road.code
    stake = f"K{segment.start_m // 1000}+{segment.start_m % 1000:03d}"
    good = _feature(
        _point_on(segment), 编号="QL-001", 路线编码=code, 类型="桥梁", 名称="小坝一号桥", 桩号=stake, 状况="良好"
    )

    def fails(features, *fragments, name="assets.geojson"):
        with pytest.raises(ImportFailed) as caught:
            import_assets(_write(tmp_path, features, name))
        text = str(caught.value) + " " + " ".join(str(e) for e in caught.value.errors)
        for fragment in fragments:
            assert fragment in text, text
        assert db.session.scalar(select(RoadAsset.id)) is None  # nothing written

    fails([_feature(_point_on(segment), 编号="A1", 路线编码=code, 类型="飞机场")], "路产类型")
    fails([_feature(_point_on(segment), 编号="A1", 路线编码="X999999999", 类型="桥梁")], "不在路网登记中")
    fails([_feature(_point_on(segment), 编号="A1", 路线编码=code, 类型="桥梁", 桩号="K9999+000")], "不在路线")
    fails([_feature(_point_on(segment), 编号="A1", 路线编码=code, 类型="桥梁", 桩号="abc")], "桩号格式")
    fails([_feature(_point_on(segment), 编号="A1", 路线编码=code, 类型="桥梁", 状况="很好")], "状况")
    fails([_feature(_point_on(segment), 编号="A1", 路线编码=code, 类型="桥梁", 数量="-2")], "数量")
    fails(
        [
            _feature(
                {"type": "Polygon", "coordinates": [[[106, 38], [106.1, 38], [106.1, 38.1], [106, 38]]]},
                编号="A1",
                路线编码=code,
                类型="桥梁",
            )
        ],
        "点或线",
    )
    fails([good, {**good}], "重复")
    fails([_feature(_point_on(segment), 路线编码=code, 类型="桥梁")], "编号")  # missing required column
    # one bad row among good ones: nothing written, the bad row is named by number
    fails([good, _feature(_point_on(segment), 编号="A2", 路线编码=code, 类型="飞机场")], "第 2 行")
    with pytest.raises(ServiceError, match="不支持的文件格式"):
        import_assets(_write(tmp_path, [good], "assets.txt"))
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(ServiceError):
        import_assets(empty)

    report = import_assets(
        _write(
            tmp_path,
            [
                good,
                _feature(
                    {"type": "LineString", "coordinates": _line_coords(segment)},
                    编号="LS-9",
                    路线编码=code,
                    类型="trees",
                    名称="行道树",
                ),
            ],
        )
    )
    assert (report.created, report.updated) == (2, 0)
    report = import_assets(_write(tmp_path, [{**good, "properties": {**good["properties"], "状况": "损坏"}}]))
    assert (report.created, report.updated) == (0, 1)
    bridge = db.session.scalar(select(RoadAsset).where(RoadAsset.code == "QL-001"))
    assert bridge.condition == "damaged" and bridge.segment_id == segment.id

    client = demo_app.test_client()
    login(client, make_user("city_office"))
    assert "小坝一号桥" in client.get(f"/ops/roads/{code}").get_data(as_text=True)
    assert "QL-001" in client.get("/ops/assets").get_data(as_text=True)
    features = client.get("/api/v1/assets").get_json()["features"]
    assert {f["properties"]["code"] for f in features} == {"QL-001", "LS-9"}

    # an inspection on the asset's segment can reference it; one elsewhere cannot
    from roadchief.services.inspections import InspectionInput, create_inspection

    inspector = make_user("city_office")
    recorded = create_inspection(
        inspector, InspectionInput(kind="special", segment_ids=[segment.id], note="桥梁专项检查"), ""
    )
    other = db.session.scalar(select(Segment).where(Segment.id != segment.id).order_by(Segment.id))
    elsewhere = create_inspection(inspector, InspectionInput(kind="special", segment_ids=[other.id]), "")
    page = client.post(
        f"/ops/assets/{bridge.id}/inspections", data={"inspection_id": elsewhere.inspection.id}, follow_redirects=True
    ).get_data(as_text=True)
    assert "不在这次检查的路段上" in page
    page = client.post(
        f"/ops/assets/{bridge.id}/inspections", data={"inspection_id": recorded.inspection.id}, follow_redirects=True
    ).get_data(as_text=True)
    assert "已关联检查记录" in page and "专项检查" in page


def test_works_plan_vs_done(demo_app):
    from roadchief.models.operations import WorksPlanItem

    town, segment, _chief = _place()
    client = demo_app.test_client()
    login(client, make_user("city_office"))
    year = beijing_today().year
    stake = f"K{segment.start_m // 1000}+{segment.start_m % 1000:03d}"
    client.post(
        "/ops/plan/items",
        data={
            "year": year,
            "road_code": segment.road.code,
            "stake": stake,
            "category": "repair",
            "title": "坑槽修补",
            "unit": "平方米",
            "quantity": "200",
            "budget": "12345.67",
        },
    )
    client.post(
        "/ops/plan/items",
        data={
            "year": year,
            "segment_id": segment.id,
            "category": "preventive",
            "title": "灌缝",
            "unit": "米",
            "quantity": "500",
            "budget": "0.1",
        },
    )
    items = db.session.scalars(select(WorksPlanItem).order_by(WorksPlanItem.id)).all()
    assert [i.budget_fen for i in items] == [1234567, 10]
    town_client = demo_app.test_client()
    login(town_client, make_user("town_office", town=town.code))
    town_client.post(
        "/ops/plan/progress",
        data={"item_id": items[0].id, "day": beijing_today().isoformat(), "quantity": "200", "spent": "12000"},
    )
    assert town_client.post("/ops/plan/items", data={"year": year}).status_code == 403
    page = client.get(f"/ops/plan?year={year}").get_data(as_text=True)
    assert "12,345.67" in page and "12,000.00" in page and "50%" in page  # thousands separators on pages
    from roadchief.services.works_plan import parse_yuan

    with pytest.raises(ServiceError):
        parse_yuan("1.234")
    with pytest.raises(ServiceError):
        parse_yuan("abc")
