"""公示牌 pages, QR codes, printable signs and public reports (第七条 社会监督)."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import segno
from PIL import Image
from sqlalchemy import select

from roadchief import create_app
from roadchief.domain.clock import beijing_today
from roadchief.extensions import db, limiter
from roadchief.models import Chief, QuarterScore, Road, Segment, Town
from roadchief.models.public import PublicReport
from roadchief.services import ServiceError
from roadchief.services.chiefs import AssignmentIndex
from roadchief.services.public_reports import TRANSITIONS, next_status
from roadchief.services.signs import SignContext

PHONE = "13812345678"


# ---------------------------------------------------------------- helpers


def village_road() -> Road:
    """The first demo 村道 with a 村级路长 on its only segment."""
    index = AssignmentIndex(beijing_today())
    for road in db.session.scalars(select(Road).where(Road.road_class == "村道").order_by(Road.code)):
        if len(road.segments) == 1 and any(c.position == "village" for c in index.chiefs_for(road.segments[0])):
            return road
    raise AssertionError("demo data has no 村道 with a 村级路长")


def chiefs_of(segment: Segment) -> dict[str, Chief]:
    return {c.position: c.chief for c in AssignmentIndex(beijing_today()).chiefs_for(segment)}


def jpeg(size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "green").save(out, "JPEG")
    return out.getvalue()


def report_data(**overrides) -> dict:
    data = {"category": "路面破损", "text": "K0+500 处路面有坑，约一米见方，夜间危险。", "phone": PHONE}
    data.update(overrides)
    return data


def submit(client, road: Road, **overrides):
    return client.post(f"/p/r/{road.code}/report", data=report_data(**overrides), content_type="multipart/form-data")


def ref_from(response) -> str:
    assert response.status_code == 303, response.data.decode()[:800]
    match = re.search(r"/p/t/(GK\d{8}[A-Z0-9]{4})$", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def decode_qr(png: bytes) -> str | None:
    """Decode a QR code PNG with a real decoder (OpenCV, else zbar); None when neither is installed
    (test-only dependency: pip install opencv-python-headless)."""
    try:
        import cv2
        import numpy as np
    except ImportError:
        pass
    else:
        image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
        text, _, _ = cv2.QRCodeDetector().detectAndDecode(image)
        return text
    try:
        from pyzbar.pyzbar import decode
    except ImportError:
        return None
    found = decode(Image.open(io.BytesIO(png)))
    return found[0].data.decode() if found else ""


def assert_qr_encodes(png: bytes, url: str) -> None:
    """The PNG is a QR code of url: decoded when a decoder is installed, else its modules
    (read from the pixels: scale 10, quiet zone 4) equal segno's matrix for url."""
    text = decode_qr(png)
    if text is not None:
        assert text == url
        return
    expected = segno.make(url, error="m", micro=False).matrix
    image = Image.open(io.BytesIO(png)).convert("L")
    size = len(expected)
    assert image.size == ((size + 8) * 10,) * 2
    seen = tuple(
        tuple(int(image.getpixel(((c + 4) * 10 + 5, (r + 4) * 10 + 5)) < 128) for c in range(size)) for r in range(size)
    )
    assert seen == tuple(tuple(row) for row in expected)


def _probe_png() -> bytes:
    out = io.BytesIO()
    segno.make("probe").save(out, kind="png", scale=4)
    return out.getvalue()


def media_box(pdf: bytes) -> tuple[float, float]:
    match = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)
    assert match, "no MediaBox"
    return float(match.group(1)), float(match.group(2))


def poppler(tool: str, pdf: bytes, tmp_path: Path, *args: str) -> str:
    if not shutil.which(tool):
        pytest.skip(f"{tool} (poppler-utils) not installed")
    path = tmp_path / "sign.pdf"
    path.write_bytes(pdf)
    command = [tool, *args, str(path)] + (["-"] if tool == "pdftotext" else [])
    return subprocess.run(command, capture_output=True, text=True, check=True).stdout


# ---------------------------------------------------------------- sign pages


def test_sign_page_shows_road_chiefs_phones_and_supervision_phone(demo_app, demo_client):
    road = village_road()
    segment = road.segments[0]
    chiefs = chiefs_of(segment)
    response = demo_client.get(f"/p/r/{road.code}")
    assert response.status_code == 200
    page = response.data.decode()
    for text in (
        road.code,
        road.name,
        "农村公路路长公示牌",
        "K0+000",
        f"{segment.listed_km} 公里",
        "畅、安、舒、美",
        demo_app.config["SUPERVISION_PHONE"],
        "我要反馈问题",
        "路长职责",
        "暂无评分",
    ):
        assert text in page, text
    for position in ("village", "town", "city"):
        chief = chiefs[position]
        assert chief.name in page and chief.phone in page and chief.title in page
    assert "村级路长" in page and "镇级路长" in page and "市级路长" in page
    # only the listed public information: no chief codes, no 总路长, no maintainers
    assert "RC00" not in page
    assert chiefs["chief_total"].name not in page
    assert f'href="/p/r/{road.code}/report"' in page


def test_sign_page_shows_latest_grade(demo_client):
    road = village_road()
    village = road.segments[0].village
    db.session.add_all(
        [
            QuarterScore(year=2022, quarter=1, unit_key=f"village:{village.code}", score_centi=7250),
            QuarterScore(year=2022, quarter=2, unit_key=f"village:{village.code}", score_centi=8650),
        ]
    )
    db.session.commit()
    page = demo_client.get(f"/p/r/{road.code}").data.decode()
    assert "暂无评分" not in page
    assert "优" in page and "2022年第2季度" in page and "86.50" in page


def test_segment_page_lowercase_redirect_and_unknown(demo_client):
    road = db.session.scalar(select(Road).where(Road.code == "X101640381"))
    assert len(road.segments) > 1
    segment = road.segments[-1]
    page = demo_client.get(f"/p/s/{segment.id}").data.decode()
    assert road.name in page and "查看全线公示" in page
    assert chiefs_of(segment)["town"].name in page
    whole = demo_client.get(f"/p/r/{road.code}").data.decode()
    # segments answered for by different chiefs are listed in groups, each linking to its own page
    assert f'href="/p/s/{segment.id}"' in whole and f'href="/p/s/{road.segments[0].id}"' in whole
    response = demo_client.get(f"/p/r/{road.code.lower()}")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/p/r/{road.code}")
    assert demo_client.get("/p/r/X999999999").status_code == 404
    assert demo_client.get("/p/s/999999").status_code == 404


def test_landing_page_searches_roads(demo_app, demo_client):
    road = village_road()
    page = demo_client.get("/p/", query_string={"q": road.name[:3]}).data.decode()
    assert f'href="/p/r/{road.code}"' in page
    assert demo_app.config["SUPERVISION_PHONE"] in page
    assert "没有找到" in demo_client.get("/p/", query_string={"q": "不存在的路%_"}).data.decode()


def test_sign_view_model_groups_identical_chiefs(demo_app):
    road = db.session.scalar(select(Road).where(Road.code == "X101640381"))
    sign = SignContext().road_sign(road)
    assert sum(len(g.segments) for g in sign.groups) == len(road.segments)
    assert len(sign.groups) == len({tuple((c.chief_id, c.position) for c in g.chiefs) for g in sign.groups})
    rows = sign.chief_rows
    assert any(r.stakes is None for r in rows)  # the city chiefs answer for the whole road
    assert any(r.stakes for r in rows)  # each town's chief for its part


# ---------------------------------------------------------------- QR codes and printable signs


def test_qr_png_decodes_to_the_sign_url(demo_app, demo_client):
    road = village_road()
    response = demo_client.get(f"/p/r/{road.code}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    expected = demo_app.config["PUBLIC_BASE_URL"].rstrip("/") + f"/p/r/{road.code}"
    assert_qr_encodes(response.data, expected)
    segment = road.segments[0]
    assert_qr_encodes(
        demo_client.get(f"/p/s/{segment.id}/qr.png").data,
        demo_app.config["PUBLIC_BASE_URL"].rstrip("/") + f"/p/s/{segment.id}",
    )


def test_qr_svg_encodes_the_sign_url(demo_app, demo_client):
    road = village_road()
    response = demo_client.get(f"/p/r/{road.code}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.data.decode()
    assert "<svg" in svg and "<script" not in svg
    expected = demo_app.config["PUBLIC_BASE_URL"].rstrip("/") + f"/p/r/{road.code}"
    out = io.BytesIO()
    segno.make(expected, error="m", micro=False).save(
        out, kind="svg", scale=10, border=4, xmldecl=True, svgns=True, title=expected
    )
    assert response.data == out.getvalue()
    assert demo_client.get(f"/p/s/{road.segments[0].id}/qr.svg").status_code == 200


def test_qr_follows_public_base_url(databases):
    app_gen = _demo_app(databases, PUBLIC_BASE_URL="https://lz.example.cn/")
    app = next(app_gen)
    try:
        road = village_road()
        png = app.test_client().get(f"/p/r/{road.code}/qr.png").data
        assert_qr_encodes(png, f"https://lz.example.cn/p/r/{road.code}")
    finally:
        next(app_gen, None)


@pytest.mark.parametrize("size, width, height", [("A4", 841.89, 595.28), ("A3", 1190.55, 841.89)])
def test_sign_pdf_is_landscape_with_embedded_cjk_font(demo_client, tmp_path, size, width, height):
    road = village_road()
    chiefs = chiefs_of(road.segments[0])
    response = demo_client.get(f"/p/r/{road.code}/sign.pdf", query_string={"size": size})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = response.data
    assert pdf.startswith(b"%PDF")
    w, h = media_box(pdf)
    assert w > h and abs(w - width) < 1 and abs(h - height) < 1
    fonts = poppler("pdffonts", pdf, tmp_path)
    font_rows = [line for line in fonts.splitlines()[2:] if line.strip()]
    assert font_rows and all(" yes " in row for row in font_rows), fonts
    assert any("WenQuanYi" in row for row in font_rows)
    assert "STSong" not in fonts
    text = poppler("pdftotext", pdf, tmp_path, "-layout")
    for expected in (
        "农村公路路长公示牌",
        road.code,
        road.name,
        chiefs["village"].name,
        chiefs["village"].phone,
        "监督电话",
        "0953-3012345",
        "扫码查看",
        "问题反馈",
        "畅、安、舒、美",
        "路长职责",
    ):
        assert expected in text, expected
    # the printed QR code scans to the sign page (needs a decoder and poppler)
    if shutil.which("pdftoppm") and decode_qr(_probe_png()) is not None:
        (tmp_path / "sign.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "100", "-png", "-singlefile", str(tmp_path / "sign.pdf"), str(tmp_path / "page")],
            check=True,
        )
        assert decode_qr((tmp_path / "page.png").read_bytes()).endswith(f"/p/r/{road.code}")


def test_segment_sign_pdf_and_bad_size(demo_client):
    road = village_road()
    response = demo_client.get(f"/p/s/{road.segments[0].id}/sign.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert demo_client.get(f"/p/r/{road.code}/sign.pdf", query_string={"size": "B5"}).status_code == 400


def test_town_batch_page_and_pdf_for_offices_only(demo_app, demo_client, make_logged_in, tmp_path):
    town = db.session.scalar(select(Town).where(Town.code == "640381100"))
    other = db.session.scalar(select(Town).where(Town.code == "640381101"))
    road_count = len({s.road_id for s in db.session.scalars(select(Segment).where(Segment.town_id == town.id))})
    assert demo_client.get(f"/p/town/{town.code}").status_code == 302  # anonymous: to the login page

    office = demo_app.test_client()
    make_logged_in(office, "town_office", town=town.code)
    page = office.get(f"/p/town/{town.code}").data.decode()
    assert len(re.findall(r'href="/p/r/[A-Z0-9]+"', page)) == road_count
    assert f"/p/town/{town.code}/signs.pdf?size=A3" in page
    assert office.get(f"/p/town/{other.code}").status_code == 403
    assert office.get(f"/p/town/{other.code}/signs.pdf").status_code == 403

    city = demo_app.test_client()
    make_logged_in(city, "city_office")
    assert city.get(f"/p/town/{other.code}").status_code == 200
    response = office.get(f"/p/town/{town.code}/signs.pdf", query_string={"size": "A3"})
    assert response.status_code == 200
    w, h = media_box(response.data)
    assert w > h
    if shutil.which("pdfinfo"):
        info = poppler("pdfinfo", response.data, tmp_path)
        assert re.search(rf"Pages:\s+{road_count}\b", info), info
    chief = demo_app.test_client()
    make_logged_in(chief, "chief", chief_id=db.session.scalar(select(Chief.id).where(Chief.position == "village")))
    assert chief.get(f"/p/town/{town.code}").status_code == 403


# ---------------------------------------------------------------- public reports


def test_public_report_end_to_end(demo_app, demo_client, make_logged_in):
    road = village_road()
    segment = road.segments[0]
    form = demo_client.get(f"/p/r/{road.code}/report").data.decode()
    for text in (
        'name="category"',
        'name="text"',
        'accept="image/*"',
        'capture="environment"',
        'name="lat"',
        'name="lon"',
        'name="phone"',
        'name="csrf_token"',
        "js/public.",
    ):
        assert text in form, text

    data = report_data(lon="106.05", lat="38.02")
    data["photo"] = (io.BytesIO(jpeg()), "IMG_0001.JPG", "image/jpeg")
    ref = ref_from(demo_client.post(f"/p/r/{road.code}/report", data=data, content_type="multipart/form-data"))

    report = db.session.scalar(select(PublicReport).where(PublicReport.ref == ref))
    assert report.status == "received" and report.segment_id == segment.id and report.town_id == segment.town_id
    assert report.reporter_phone == PHONE and (report.lon, report.lat) == (106.05, 38.02)
    assert len(report.ip_hash) == 64 and "127.0.0.1" not in report.ip_hash
    assert report.photo_path and (Path(demo_app.config["UPLOAD_DIR"]) / report.photo_path).is_file()
    assert not report.photo_path.startswith("/") and "IMG_0001" not in report.photo_path

    status_page = demo_client.get(f"/p/t/{ref}")
    assert status_page.status_code == 200
    page = status_page.data.decode()
    assert ref in page and "已受理" in page and "路面破损" in page and "约一米见方" in page
    assert PHONE not in page and "127.0.0.1" not in page and report.ip_hash not in page
    assert "/photo" not in page and "/thumb" not in page  # photos are for the offices

    office = demo_app.test_client()
    make_logged_in(office, "town_office", town=segment.town.code)
    listing = office.get("/p/reports").data.decode()
    assert ref in listing
    detail = office.get(f"/p/reports/{ref}").data.decode()
    assert PHONE in detail and "约一米见方" in detail and chiefs_of(segment)["village"].name in detail

    thumb = office.get(f"/p/reports/{ref}/thumb")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert thumb.headers["X-Content-Type-Options"] == "nosniff"
    photo = office.get(f"/p/reports/{ref}/photo")
    assert photo.status_code == 200 and photo.mimetype == "image/jpeg" and photo.data == jpeg()
    assert demo_client.get(f"/p/reports/{ref}/photo").status_code == 302  # anonymous: login first

    response = office.post(
        f"/p/reports/{ref}",
        data={"action": "confirm", "note": "已核实，转入整改。"},
    )
    assert response.status_code == 303
    db.session.refresh(report)
    # confirming opens the rectification itself (#13): its reference is the rectification's own
    assert report.status == "confirmed" and report.rectification_id is not None
    assert report.rectification_ref == f"整改 #{report.rectification_id}"
    assert "已确认（转整改）" in demo_client.get(f"/p/t/{ref}").data.decode()

    office.post(f"/p/reports/{ref}", data={"action": "close", "note": "已修补完毕。"})
    db.session.refresh(report)
    assert report.status == "closed" and report.closed_at is not None
    page = demo_client.get(f"/p/t/{ref}").data.decode()
    assert "已办结" in page and "已修补完毕。" in page and report.rectification_ref in page and PHONE not in page

    history = office.get(f"/p/reports/{ref}").data.decode().split("办理记录")[1]
    assert "群众：提交反馈" in history and "→ 已确认（转整改）" in history and "→ 已办结" in history

    # closed is final
    office.post(f"/p/reports/{ref}", data={"action": "reject", "note": "x"})
    db.session.refresh(report)
    assert report.status == "closed"
    # the history is in the audit log, without the phone
    from roadchief.models import AuditEntry

    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "public_report")).all()
    assert len(entries) >= 3 and all(PHONE not in (e.after or "") + (e.before or "") for e in entries)


def test_report_goes_to_the_village_chief_and_the_chief_can_reply(demo_app, demo_client, make_logged_in):
    road = village_road()
    segment = road.segments[0]
    village_chief = chiefs_of(segment)["village"]
    assert village_chief.position == "village"
    ref = ref_from(submit(demo_client, road))
    report = db.session.scalar(select(PublicReport).where(PublicReport.ref == ref))
    assert report.assigned_chief_id == village_chief.id

    chief = demo_app.test_client()
    make_logged_in(chief, "chief", chief_id=village_chief.id)
    assert ref in chief.get("/p/reports").data.decode()
    assert chief.get(f"/p/reports/{ref}").status_code == 200
    chief.post(f"/p/reports/{ref}", data={"action": "reply", "note": "已安排养护员明日修补。"})
    db.session.refresh(report)
    assert report.chief_reply == "已安排养护员明日修补。" and report.status == "received"
    assert chief.post(f"/p/reports/{ref}", data={"action": "close"}).status_code == 403  # only offices close

    other_chief_id = db.session.scalar(
        select(Chief.id).where(Chief.position == "village", Chief.id != village_chief.id)
    )
    other = demo_app.test_client()
    make_logged_in(other, "chief", chief_id=other_chief_id)
    assert other.get(f"/p/reports/{ref}").status_code == 403
    assert ref not in other.get("/p/reports").data.decode()


def test_town_road_report_goes_to_the_town_chief(demo_client):
    road = db.session.scalar(select(Road).where(Road.road_class == "镇道").order_by(Road.code))
    segment = road.segments[0]
    ref = ref_from(submit(demo_client, road, segment_id=str(segment.id)))
    report = db.session.scalar(select(PublicReport).where(PublicReport.ref == ref))
    assert report.segment_id == segment.id
    assert report.assigned_chief_id == chiefs_of(segment)["town"].id


def test_assign_to_another_chief_and_reject_with_reason(demo_app, demo_client, make_logged_in):
    road = village_road()
    segment = road.segments[0]
    ref = ref_from(submit(demo_client, road))
    city = demo_app.test_client()
    make_logged_in(city, "city_office")
    town_chief = chiefs_of(segment)["town"]
    assert town_chief.name in city.get(f"/p/reports/{ref}").data.decode()
    city.post(f"/p/reports/{ref}", data={"action": "assign", "chief_id": str(town_chief.id)})
    report = db.session.scalar(select(PublicReport).where(PublicReport.ref == ref))
    assert report.status == "assigned" and report.assigned_chief_id == town_chief.id
    city.post(f"/p/reports/{ref}", data={"action": "reject", "note": ""})  # a reason is required
    db.session.refresh(report)
    assert report.status == "assigned"
    city.post(f"/p/reports/{ref}", data={"action": "reject", "note": "该路段不属于农村公路管养范围。"})
    db.session.refresh(report)
    assert report.status == "rejected"
    assert "不予受理" in demo_client.get(f"/p/t/{ref}").data.decode()


def test_town_office_of_another_town_is_refused(demo_app, demo_client, make_logged_in):
    road = village_road()
    town = road.segments[0].town
    ref = ref_from(submit(demo_client, road))
    other_code = db.session.scalar(select(Town.code).where(Town.id != town.id, Town.kind == "镇").order_by(Town.code))
    other = demo_app.test_client()
    make_logged_in(other, "town_office", town=other_code)
    assert other.get(f"/p/reports/{ref}").status_code == 403
    assert other.post(f"/p/reports/{ref}", data={"action": "close"}).status_code == 403
    assert other.get(f"/p/reports/{ref}/photo").status_code == 403
    assert ref not in other.get("/p/reports").data.decode()
    assert demo_client.get(f"/p/reports/{ref}").status_code == 302  # anonymous: to the login page
    for role in ("inspector", "finance"):
        client = demo_app.test_client()
        make_logged_in(client, role)
        assert client.get("/p/reports").status_code == 403


def test_text_over_500_characters_is_refused(demo_client):
    road = village_road()
    response = submit(demo_client, road, text="路" * 501)
    assert response.status_code == 400
    assert "不能超过 500 字" in response.data.decode()
    assert db.session.scalar(select(PublicReport.id)) is None
    ref_from(submit(demo_client, road, text="路" * 500))


def test_fake_png_is_refused(demo_app, demo_client):
    road = village_road()
    data = report_data()
    data["photo"] = (io.BytesIO(b"GIF? no: just text pretending to be a picture\n" * 10), "photo.png", "image/png")
    response = demo_client.post(f"/p/r/{road.code}/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "不是有效的图片" in response.data.decode()
    assert db.session.scalar(select(PublicReport.id)) is None
    upload_dir = Path(demo_app.config["UPLOAD_DIR"])
    assert not upload_dir.exists() or not [p for p in upload_dir.rglob("*") if p.is_file() and "photo" in p.name]


def test_oversized_photo_is_refused(demo_app, demo_client):
    road = village_road()
    data = report_data()
    data["photo"] = (io.BytesIO(b"\xff\xd8\xff\xe0" + b"\0" * (9 * 1024 * 1024)), "big.jpg", "image/jpeg")
    response = demo_client.post(f"/p/r/{road.code}/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "照片过大" in response.data.decode()
    # past MAX_CONTENT_LENGTH the request itself is refused
    data["photo"] = (io.BytesIO(b"\0" * (demo_app.config["MAX_CONTENT_LENGTH"] + 1)), "huge.jpg", "image/jpeg")
    response = demo_client.post(f"/p/r/{road.code}/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert db.session.scalar(select(PublicReport.id)) is None


def test_html_in_text_is_escaped_on_status_and_office_pages(demo_app, demo_client, make_logged_in):
    road = village_road()
    text = '<script>alert("x")</script><img src=x onerror=alert(1)> 路面&坑'
    ref = ref_from(submit(demo_client, road, text=text))
    page = demo_client.get(f"/p/t/{ref}").data.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page and "路面&amp;坑" in page
    office = demo_app.test_client()
    make_logged_in(office, "city_office")
    for url in ("/p/reports", f"/p/reports/{ref}"):
        html = office.get(url).data.decode()
        assert "<script>alert" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("phone", "12345", "联系电话格式不正确"),
        ("lon", "116.4", "不在青铜峡市范围内"),
        ("category", "外星人", "请选择问题类别"),
        ("text", "   ", "请填写问题描述"),
    ],
)
def test_invalid_report_fields_are_refused(demo_client, field, value, message):
    road = village_road()
    overrides = {field: value}
    if field == "lon":
        overrides["lat"] = "38.0"
    response = submit(demo_client, road, **overrides)
    assert response.status_code == 400
    assert message in response.data.decode()
    assert db.session.scalar(select(PublicReport.id)) is None


def test_landline_phone_and_no_phone_accepted(demo_client):
    road = village_road()
    ref_from(submit(demo_client, road, phone="0953-3012345"))
    ref = ref_from(submit(demo_client, road, phone=""))
    assert db.session.scalar(select(PublicReport.reporter_phone).where(PublicReport.ref == ref)) is None


def test_unknown_reference_and_lookup(demo_client):
    assert demo_client.get("/p/t/GK20240101ZZZZ").status_code == 404
    assert demo_client.get("/p/t/not-a-ref").status_code == 404
    road = village_road()
    ref = ref_from(submit(demo_client, road))
    response = demo_client.get("/p/t", query_string={"ref": ref.lower()})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/p/t/{ref}")


# ---------------------------------------------------------------- throttling


def _demo_app(databases, **overrides):
    """Like conftest's demo_app, with config overrides (e.g. rate limits switched on)."""
    config = {
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SQLALCHEMY_DATABASE_URI": databases.fresh_url(demo=True),
        **overrides,
    }
    app = create_app(config)
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
    finally:
        db.session.remove()
        db.engine.dispose()
        ctx.pop()


@pytest.fixture
def throttled_app(databases):
    was_enabled = limiter.enabled
    yield from _demo_app(databases, RATELIMIT_ENABLED=True)
    limiter.enabled = was_enabled


def test_reports_are_throttled_per_ip(throttled_app):
    client = throttled_app.test_client()
    road = village_road()
    segment = road.segments[0]
    for _ in range(3):
        ref_from(submit(client, road))
    for _ in range(2):  # the road and segment forms share one allowance
        ref_from(client.post(f"/p/s/{segment.id}/report", data=report_data(), content_type="multipart/form-data"))
    response = submit(client, road)
    assert response.status_code == 429
    assert "操作过于频繁" in response.data.decode()
    assert client.post(f"/p/s/{segment.id}/report", data=report_data()).status_code == 429
    assert client.get(f"/p/r/{road.code}/report").status_code == 200  # reading the form is not limited
    assert db.session.query(PublicReport).count() == 5
    # another address has its own allowance
    ref_from(client.post(f"/p/r/{road.code}/report", data=report_data(), environ_base={"REMOTE_ADDR": "10.1.2.3"}))


# ---------------------------------------------------------------- the status machine


def test_next_status_table():
    assert next_status("received", "assign") == "assigned"
    assert next_status("received", "confirm") == "confirmed"
    assert next_status("assigned", "confirm") == "confirmed"
    assert next_status("confirmed", "close") == "closed"
    assert next_status("assigned", "reject") == "rejected"
    assert next_status("assigned", "reply") == "assigned"
    for final in ("closed", "rejected"):
        assert TRANSITIONS[final] == {}
        for action in ("assign", "confirm", "close", "reject", "reply"):
            with pytest.raises(ServiceError):
                next_status(final, action)
    with pytest.raises(ServiceError):
        next_status("confirmed", "reject")
    with pytest.raises(ServiceError):
        next_status("confirmed", "assign")
    with pytest.raises(ServiceError):
        next_status("received", "explode")
    with pytest.raises(ServiceError):
        next_status("bogus", "close")


def test_every_public_endpoint_has_an_access_rule(demo_app):
    for endpoint, view in demo_app.view_functions.items():
        if endpoint.startswith("public."):
            assert getattr(view, "access", None), endpoint


def test_report_form_works_with_csrf_protection_on(databases):
    app_gen = _demo_app(databases, WTF_CSRF_ENABLED=True)
    app = next(app_gen)
    try:
        client = app.test_client()
        road = village_road()
        assert client.post(f"/p/r/{road.code}/report", data=report_data()).status_code == 400  # no token
        form = client.get(f"/p/r/{road.code}/report").data.decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        ref_from(client.post(f"/p/r/{road.code}/report", data={**report_data(), "csrf_token": token}))
    finally:
        next(app_gen, None)


def test_assign_only_to_a_chief_of_the_segment(demo_app, demo_client, make_logged_in):
    road = village_road()
    ref = ref_from(submit(demo_client, road))
    stranger = db.session.scalar(
        select(Chief).where(Chief.position == "village", Chief.id != chiefs_of(road.segments[0])["village"].id)
    )
    city = demo_app.test_client()
    make_logged_in(city, "city_office")
    response = city.post(
        f"/p/reports/{ref}", data={"action": "assign", "chief_id": str(stranger.id)}, follow_redirects=True
    )
    assert "只能转办给负责该路段的路长" in response.data.decode()
    report = db.session.scalar(select(PublicReport).where(PublicReport.ref == ref))
    assert report.status == "received" and report.assigned_chief_id != stranger.id


def test_public_pages_carry_no_inline_script_or_style(demo_app, demo_client, make_logged_in):
    road = village_road()
    ref = ref_from(submit(demo_client, road))
    office = demo_app.test_client()
    make_logged_in(office, "city_office")
    pages = [
        (demo_client, p)
        for p in (
            "/p/",
            f"/p/?q={road.code}",
            f"/p/r/{road.code}",
            f"/p/s/{road.segments[0].id}",
            f"/p/r/{road.code}/report",
            f"/p/t/{ref}",
        )
    ]
    pages += [(office, p) for p in ("/p/", "/p/reports", f"/p/reports/{ref}", "/p/town/640381100")]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        html = response.data.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert not re.search(r"<[^>]+\sstyle=", html), path
        assert not re.search(r"<[^>]+\son[a-z]+=", html), path
