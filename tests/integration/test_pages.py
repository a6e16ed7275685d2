"""The web pages: sign-in, layout and nav by role, registry pages on the demo data,
error pages, escaping of user data, and the CSP rules (no inline script or style)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from roadchief import PACKAGE_DIR
from roadchief.extensions import db
from roadchief.models import Chief, Road, Segment, Town, Village
from roadchief.services.accounts import create_user
from roadchief.services.chiefs import AssignmentIndex

XIAOBA = "640381100"  # 小坝镇
XSS = "<img src=x onerror=alert(1)>"
XSS_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"
BEFORE_ROSTER = "2021-01-01"  # the demo roster starts on 2021-10-18


def text(response) -> str:
    return response.get_data(as_text=True)


def village_segment() -> Segment:
    return db.session.scalars(
        select(Segment).join(Road).where(Road.road_class == "村道", Segment.is_listed.is_(True)).order_by(Segment.id)
    ).first()


def chief_of_village(segment: Segment) -> Chief:
    return next(c.chief for c in AssignmentIndex(date.today()).chiefs_for(segment) if c.position == "village")


def assert_no_inline_code(html: str, where: str) -> None:
    """The CSP allows only our own files: no inline <script>, style attribute, <style> or on* handler."""
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I):
        assert "src=" in tag, f"inline <script> on {where}: {tag}"
    assert not re.search(r"<style\b", html, flags=re.I), f"<style> element on {where}"
    assert not re.search(r"\sstyle\s*=", html, flags=re.I), f"style= attribute on {where}"
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html, flags=re.I), f"on* handler on {where}"


# --------------------------------------------------------------------------- sign-in


def test_login_page_renders(client):
    response = client.get("/login")
    page = text(response)
    assert response.status_code == 200
    assert "青铜峡市" in page and "农村公路“路长制”管理系统" in page
    assert 'name="username"' in page and 'name="password"' in page
    assert 'name="csrf_token"' in page
    assert 'href="/static/css/app.' in page and ".css" in page
    assert "site-nav" not in page  # no nav before signing in


def test_wrong_password_shows_an_error(client):
    create_user("clerk", "city_office", "Right-pass-1")
    response = client.post("/login", data={"username": "clerk", "password": "wrong-pass-1"})
    page = text(response)
    assert response.status_code in (200, 401)  # the form again, not a redirect
    assert "用户名或密码错误" in page
    assert "flash-error" in page
    assert 'value="clerk"' in page  # the username stays filled in


def test_sign_in_goes_home_and_sign_out_is_a_post_form(demo_client):
    create_user("clerk", "city_office", "Right-pass-1", display_name="王文书")
    response = demo_client.post("/login", data={"username": "clerk", "password": "Right-pass-1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/dashboard/"
    )  # 总览, the office's home
    page = text(demo_client.get("/"))
    assert "王文书" in page and "市级路长办公室" in page
    assert re.search(r'<form method="post" action="/logout"[^>]*>\s*<input type="hidden" name="csrf_token"', page)
    assert 'href="/account/password"' in page
    assert demo_client.get("/logout").status_code == 405  # not by a link
    response = demo_client.post("/logout")
    assert response.status_code == 302
    assert "已退出登录" in text(demo_client.get("/login"))


@pytest.mark.parametrize(
    "path",
    [
        "/registry/",
        "/registry/chiefs",
        "/registry/coverage",
        "/registry/summary",
        "/registry/segments/1",
        "/admin/users",
        "/account/password",
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(demo_client, path):
    response = demo_client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_anonymous_visitors_to_the_front_page_reach_the_public_page_with_a_staff_sign_in(demo_client, make_logged_in):
    response = demo_client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/p/")
    page = text(demo_client.get("/", follow_redirects=True))
    assert "农村公路路长公示" in page and "公示查询" in page and "我要反馈问题" in page and "反馈进度查询" in page
    assert 'href="/login">工作人员登录</a>' in page
    assert 'id="map"' not in page
    make_logged_in(demo_client, "city_office")  # a signed-in user still gets the map, without the login link
    page = text(demo_client.get("/"))
    assert 'id="map"' in page
    assert "工作人员登录" not in text(demo_client.get("/p/"))


# --------------------------------------------------------------------------- layout and nav

NAV = {
    "地图": "/",
    "路网登记": "/registry/",
    "路长体系": "/registry/chiefs",
    "覆盖检查": "/registry/coverage",
    "里程汇总": "/registry/summary",
    "用户管理": "/admin/users",
}


def nav_labels(page: str) -> set[str]:
    # the main links plus the user menu (修改密码, 用户管理, 审计日志)
    nav = page[page.index('<ul class="nav-links">') : page.index("</details>", page.index('<ul class="nav-links">'))]
    return set(re.findall(r">([^<>]+)</a>", nav))


@pytest.mark.parametrize(
    "role, kwargs, shown, hidden",
    [
        ("city_office", {}, {"地图", "路网登记", "路长体系", "覆盖检查", "里程汇总", "用户管理"}, set()),
        ("town_office", {"town": XIAOBA}, {"地图", "路网登记", "覆盖检查", "里程汇总"}, {"用户管理"}),
        ("finance", {}, {"地图", "覆盖检查", "里程汇总"}, {"用户管理"}),
        ("inspector", {}, {"地图", "路网登记"}, {"覆盖检查", "用户管理"}),
    ],
)
def test_nav_links_follow_the_role(demo_client, make_logged_in, role, kwargs, shown, hidden):
    make_logged_in(demo_client, role, **kwargs)
    labels = nav_labels(text(demo_client.get("/registry/")))
    assert shown <= labels
    assert not hidden & labels
    # every link shown can be followed
    for label in labels & set(NAV):
        assert demo_client.get(NAV[label]).status_code == 200, label


def test_chief_nav_and_map_show_their_own_segments(demo_app, demo_client, make_logged_in):
    chief = chief_of_village(village_segment())
    make_logged_in(demo_client, "chief", chief_id=chief.id)
    page = text(demo_client.get("/"))
    assert "覆盖检查" not in nav_labels(page) and "用户管理" not in nav_labels(page)
    assert f'data-my-chief-id="{chief.id}"' in page
    assert "我的路段" in page
    assert demo_client.get("/registry/coverage").status_code == 403


def unhashed(page: str) -> str:
    """The page with static names as written in the templates (they are served content-hashed)."""
    return re.sub(r"(/static/[^\"']+?)\.[0-9a-f]{10}(\.[A-Za-z0-9]+)", r"\1\2", page)


def test_map_page_loads_vendored_leaflet_and_our_script(demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    response = demo_client.get("/")
    page = unhashed(text(response))
    assert response.status_code == 200
    assert 'id="map"' in page and 'data-api="/api/v1/segments"' in page
    assert 'data-segment-url="/registry/segments/0"' in page
    assert 'data-my-chief-id=""' in page and "我的路段" not in page
    assert "/static/js/map.bundle.js" in page  # leaflet.js and the map parts, web/assets.py BUNDLES
    assert "/static/vendor/leaflet/leaflet.css" in page and "/static/css/map.css" in page
    for asset in (
        "vendor/leaflet/leaflet.js",
        "vendor/leaflet/leaflet.css",
        "vendor/leaflet/LICENSE",
        "vendor/leaflet/images/layers.png",
        "vendor/leaflet.markercluster/leaflet.markercluster.js",
        "js/map.js",
        "js/app.js",
        "js/segment-map.js",
        "css/app.css",
        "css/map.css",
        "img/logo.svg",
    ):
        assert (PACKAGE_DIR / "static" / asset).is_file(), asset
    assert demo_client.get("/static/js/map.js").status_code == 200


def test_no_page_loads_anything_from_another_host():
    for template in (PACKAGE_DIR / "templates").rglob("*.html"):
        source = template.read_text(encoding="utf-8")
        assert not re.search(r'(src|href)="(https?:)?//', source), template
    # the scripts that show road names, villages and people build DOM nodes, never HTML strings
    for name in ("map.js", "segment-map.js", "app.js"):
        source = (PACKAGE_DIR / "static" / "js" / name).read_text(encoding="utf-8")
        assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", source), name


def test_map_page_loads_the_map_parts_in_order_and_none_writes_html(demo_client, make_logged_in):
    # one bundle on the page (web/assets.py BUNDLES): the parts inside it keep their order
    make_logged_in(demo_client, "city_office")
    page = unhashed(text(demo_client.get("/")))
    assert "/static/js/map.bundle.js" in page
    bundle = demo_client.get("/static/js/map.bundle.js").get_data(as_text=True)
    parts = ["map-base.js", "map-layers.js", "map-popups.js", "map-markers.js", "map-search.js", "map.js", "map-ops.js"]
    positions = [bundle.index(f"/* js/{name} */") for name in parts]
    assert positions == sorted(positions)
    assert bundle.index("/* vendor/leaflet/leaflet.js */") < positions[0]
    for name in parts:
        assert demo_client.get(f"/static/js/{name}").status_code == 200
        source = (PACKAGE_DIR / "static" / "js" / name).read_text(encoding="utf-8")
        assert source in bundle
        assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", source), name


# --------------------------------------------------------------------------- registry pages


def test_segments_list_filters_and_totals(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    page = text(demo_client.get("/registry/"))
    assert "路网登记" in page and "路线编码" in page and "列养里程" in page
    assert "共 <strong>365</strong> 段" in page
    assert 'href="/registry/?' in page and "下一页" in page  # 365 rows, 50 a page
    assert "K0+000" in page

    town = db.session.scalar(select(Town).where(Town.code == XIAOBA))
    village = db.session.scalars(select(Village).where(Village.town_id == town.id).order_by(Village.code)).first()
    page = text(demo_client.get(f"/registry/?town={XIAOBA}"))
    assert f'<option value="{XIAOBA}" selected>小坝镇</option>' in page
    assert f'<option value="{village.code}">{village.name}</option>' in page  # villages appear once a town is chosen
    page = text(demo_client.get(f"/registry/?town={XIAOBA}&village={village.code}&class=村道"))
    rows = re.findall(r'<td class="card-title" data-label="路线编码">', page)
    expected = db.session.scalars(
        select(Segment).join(Road).where(Segment.village_id == village.id, Road.road_class == "村道")
    ).all()
    assert len(rows) == len(expected) > 0

    segment = village_segment()
    page = text(demo_client.get(f"/registry/?q={segment.road.code}"))
    assert segment.road.name in page
    assert f'href="/registry/segments/{segment.id}"' in page


def test_segments_list_total_is_the_listed_km_of_the_filter(demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    assert '列养里程合计 <strong class="num">1263.392</strong> km' in text(demo_client.get("/registry/"))
    assert '<strong class="num">777.554</strong>' in text(demo_client.get("/registry/?class=村道"))


def test_segment_page_shows_every_level_of_chief_with_phone(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    segment = village_segment()
    chiefs = AssignmentIndex(date.today()).chiefs_for(segment)
    response = demo_client.get(f"/registry/segments/{segment.id}")
    page = text(response)
    assert response.status_code == 200
    assert segment.road.code in page and segment.road.name in page
    assert "各级路长" in page and "任命记录" in page
    for c in chiefs:
        assert c.chief.name in page
        assert c.position_name in page
        if c.chief.phone:
            assert f'href="tel:{c.chief.phone}"' in page
    village_chief = chief_of_village(segment)
    assert village_chief.name in page and village_chief.phone in page
    assert f"{segment.listed_km} km" in page and "实测里程" in page
    assert 'class="segment-map"' in page and "data-geometry=" in page
    assert "&#34;coordinates&#34;" in page  # the GeoJSON sits escaped in its attribute
    assert "路长未落实" not in page


def test_segment_page_warns_when_a_required_chief_is_missing(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    segment = village_segment()
    page = text(demo_client.get(f"/registry/segments/{segment.id}?date={BEFORE_ROSTER}"))
    assert "路长未落实（第八条）" in page
    assert "<strong>村级路长</strong>" in page
    assert "暂无在任路长" in page


def test_road_page_lists_its_segments(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    road = db.session.scalars(select(Road).join(Segment).group_by(Road.id).order_by(Road.code)).first()
    page = text(demo_client.get(f"/registry/roads/{road.code}"))
    assert road.name in page
    for segment in road.segments:
        assert f'href="/registry/segments/{segment.id}"' in page
    assert 'data-geometry-from=".road-segments tr[data-geometry]"' in page


def test_org_tree_shows_the_levels_and_every_town(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    page = text(demo_client.get("/registry/chiefs"))
    assert "路长组织体系图" in page
    for label in (
        "总路长",
        "副总路长",
        "市级路长",
        "市镇道路长",
        "片区路长",
        "公路站路长",
        "镇级路长",
        "村级路长",
        "养护人员",
    ):
        assert label in page, label
    towns = db.session.scalars(select(Town)).all()
    for town in towns:
        assert town.name in page
    for village in db.session.scalars(select(Village)).all():
        assert village.name in page
    assert page.count("<details") >= len([t for t in towns if t.villages])
    # before the roster started every post is vacant
    assert "空缺" in text(demo_client.get(f"/registry/chiefs?date={BEFORE_ROSTER}"))


def test_town_office_sees_its_own_town_in_the_tree(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "town_office", town=XIAOBA)
    page = text(demo_client.get("/registry/chiefs"))
    assert "小坝镇 · 镇级路长" in page
    assert "大坝镇 · 镇级路长" not in page
    assert "<details open>" in page


def test_chief_page(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    chief = chief_of_village(village_segment())
    page = text(demo_client.get(f"/registry/chiefs/{chief.id}"))
    assert chief.name in page and "村级路长" in page
    assert f'href="tel:{chief.phone}"' in page
    assert "负责范围与任职记录" in page and "在任" in page


def test_coverage_page(demo_app, demo_client, make_logged_in):
    make_logged_in(demo_client, "city_office")
    assert "全部落实" in text(demo_client.get("/registry/coverage"))
    page = text(demo_client.get(f"/registry/coverage?date={BEFORE_ROSTER}"))
    assert "缺少路长" in page
    assert '<span class="badge badge-warn">村级路长</span>' in page
    assert '<span class="badge badge-warn">镇级路长</span>' in page


def test_summary_page_shows_the_demo_totals(demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    page = text(demo_client.get("/registry/summary"))
    assert "列养里程汇总" in page
    for figure in ("388.701", "777.554", "1166.255", "82.118", "15.019"):
        assert figure in page, figure
    assert "小坝镇" in page and 'class="bar-chart"' in page
    assert re.search(r'class="bar cls-村道 w-\d+"', page)


def test_user_admin_page(demo_app, demo_client, make_logged_in):
    admin = make_logged_in(demo_client, "city_office")
    page = text(demo_client.get("/admin/users"))
    assert "用户管理" in page and "新建用户" in page and admin.username in page
    for field in ("username", "display_name", "role", "town", "chief_id", "password"):
        assert f'name="{field}"' in page, field
    assert f'action="/admin/users/{admin.id}/password"' in page
    assert page.count('name="csrf_token"') >= 3  # logout, reset, create
    response = demo_client.post(
        "/admin/users",
        data={
            "username": "zhen",
            "display_name": "镇办",
            "role": "town_office",
            "town": XIAOBA,
            "password": "Town-pass-1",
        },
        follow_redirects=True,
    )
    page = text(response)
    assert "用户已创建" in page and "zhen" in page and "小坝镇" in page
    response = demo_client.post(
        "/admin/users", data={"username": "bad", "role": "finance", "password": "short"}, follow_redirects=True
    )
    assert "flash-error" in text(response)


def test_password_page(demo_client, make_logged_in):
    make_logged_in(demo_client, "inspector")
    page = text(demo_client.get("/account/password"))
    for field in ("current", "new", "confirm"):
        assert f'name="{field}"' in page
    response = demo_client.post(
        "/account/password", data={"current": "Test-pass-123", "new": "New-pass-456", "confirm": "Other-789"}
    )
    assert "两次输入的新密码不一致" in text(response)


# --------------------------------------------------------------------------- errors


def test_error_pages_are_friendly(demo_client, make_logged_in):
    response = demo_client.get("/no/such/page")
    assert response.status_code == 404
    page = text(response)
    assert "页面不存在" in page and "404" in page and 'href="/login"' in page

    chief = chief_of_village(village_segment())
    make_logged_in(demo_client, "chief", chief_id=chief.id)
    response = demo_client.get("/admin/users")
    assert response.status_code == 403
    assert "无权访问此页面" in text(response) and "返回首页" in text(response)


# --------------------------------------------------------------------------- escaping and CSP


def test_a_hostile_road_name_is_shown_escaped(demo_app, demo_client, make_logged_in):
    segment = village_segment()
    segment.road.name = XSS
    db.session.commit()
    code = segment.road.code
    make_logged_in(demo_client, "city_office")
    for path in (
        f"/registry/?q={code}",
        f"/registry/segments/{segment.id}",
        f"/registry/roads/{code}",
        f"/registry/coverage?date={BEFORE_ROSTER}",
    ):
        page = text(demo_client.get(path))
        assert XSS_ESCAPED in page, path
        assert XSS not in page, path
    # the JSON the map draws carries the name as data, for map.js to set with textContent
    data = demo_client.get(f"/api/v1/segments?zoom=8&town={segment.town.code}").get_json()
    assert XSS in {f["properties"]["name"] for f in data["features"]}


def test_pages_carry_no_inline_script_or_style(demo_app, demo_client, make_logged_in):
    segment = village_segment()
    assert_no_inline_code(text(demo_client.get("/login")), "/login")
    make_logged_in(demo_client, "city_office")
    for path in (
        "/",
        "/registry/",
        f"/registry/?town={XIAOBA}",
        f"/registry/segments/{segment.id}",
        f"/registry/roads/{segment.road.code}",
        "/registry/chiefs",
        f"/registry/chiefs/{chief_of_village(segment).id}",
        f"/registry/coverage?date={BEFORE_ROSTER}",
        "/registry/summary",
        "/admin/users",
        "/account/password",
        "/no/such/page",
    ):
        response = demo_client.get(path)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert_no_inline_code(text(response), path)


def test_the_dashboard_of_a_year_without_activity(demo_client, make_logged_in):
    make_logged_in(demo_client, "finance")
    page = text(demo_client.get("/dashboard/?year=2022"))
    assert "2022 年总览" in page and "暂无数据" in page  # no overdue work, no events
    assert 'data-series="s-plan"' in page and 'data-series="s-paid"' not in page  # plan only: nothing approved
    assert page.count("未审定") >= 4
    make_logged_in(demo_client, "town_office", town=XIAOBA)
    assert demo_client.get("/dashboard/").status_code == 403


def test_every_map_page_loads_leaflet_in_chinese():
    """Leaflet's own controls (zoom, layers, scale, attribution, popup close) speak Chinese on every map."""
    leaflet = "filename='vendor/leaflet/leaflet.js') }}\"></script>"
    pages = [t for t in (PACKAGE_DIR / "templates").rglob("*.html") if leaflet in t.read_text(encoding="utf-8")]
    assert len(pages) >= 4  # and the county map, whose bundle puts leaflet-zh.js right after leaflet.js:
    from roadchief.web.assets import BUNDLES

    parts = BUNDLES["js/map.bundle.js"]
    assert parts[parts.index("vendor/leaflet/leaflet.js") + 1] == "js/leaflet-zh.js"
    for template in pages:
        source = template.read_text(encoding="utf-8")
        after = source[source.index(leaflet) + len(leaflet) :].lstrip()
        assert after.startswith("<script src=\"{{ url_for('static', filename='js/leaflet-zh.js') }}\"></script>"), (
            template
        )
    script = (PACKAGE_DIR / "static" / "js" / "leaflet-zh.js").read_text(encoding="utf-8")
    for text in ("放大", "缩小", "图层", "关闭", "公里", "米"):
        assert text in script
    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", script)
