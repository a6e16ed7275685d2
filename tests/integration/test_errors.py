"""One handler maps a refused use case (ServiceError and its subclasses) to its answer."""

from __future__ import annotations

from roadchief.services import Conflict, Invalid, NotFound, ServiceError
from roadchief.web.access import PUBLIC


def _raising(error):
    def view():
        raise error

    view.access = frozenset({PUBLIC})
    return view


def test_api_answers_with_the_status_of_the_subclass(app):
    app.add_url_rule("/api/v1/__conflict", "test_conflict", _raising(Conflict("本季度已审定")))
    app.add_url_rule("/api/v1/__invalid", "test_invalid", _raising(Invalid("时间不正确", ["第 1 行：时间"])))
    app.add_url_rule("/api/v1/__missing", "test_missing", _raising(NotFound("考核范围不正确：town:1")))
    app.add_url_rule("/api/v1/__plain", "test_plain", _raising(ServiceError("金额须为非零的数")))
    client = app.test_client()

    def body(error, status, code, message=None, errors=(), detail=None):
        message = message or error
        return {
            "error": error,
            "status": status,
            "code": code,
            "message": message,
            "errors": list(errors),
            "detail": detail or message,
        }

    response = client.get("/api/v1/__conflict")
    assert response.status_code == 409 and response.get_json() == body("本季度已审定", 409, "conflict")
    response = client.get("/api/v1/__invalid")
    assert response.status_code == 422
    assert response.get_json() == body("时间不正确", 422, "invalid", errors=["第 1 行：时间"])
    response = client.get("/api/v1/__missing")  # like abort(404, message): the reason in detail and message
    assert response.status_code == 404
    assert response.get_json() == body("页面不存在", 404, "not_found", message="考核范围不正确：town:1")
    response = client.get("/api/v1/__plain")
    assert response.status_code == 400 and response.get_json() == body("金额须为非零的数", 400, "bad_request")


def test_a_view_may_answer_plain_refusals_with_its_documented_status(app):
    from roadchief.web.errors import refused_with

    app.add_url_rule("/api/v1/__step", "test_step", refused_with(409)(_raising(ServiceError("已复核"))))
    app.add_url_rule("/api/v1/__step404", "test_step404", refused_with(409)(_raising(NotFound("没有"))))
    client = app.test_client()
    response = client.get("/api/v1/__step")
    assert response.status_code == 409 and response.get_json()["code"] == "conflict"
    assert client.get("/api/v1/__step404").status_code == 404  # a subclass keeps its own status


def test_pages_flash_and_go_back_after_a_post_and_show_the_error_after_a_get(app):
    app.add_url_rule("/__plain", "test_page", _raising(ServiceError("金额须为非零的数")), methods=["GET", "POST"])
    app.add_url_rule("/__missing", "test_page_missing", _raising(NotFound("没有这一年")))
    client = app.test_client()
    response = client.post("/__plain", headers={"Referer": "http://localhost/p/"})
    assert response.status_code == 302 and response.location.endswith("/p/")
    response = client.post("/__plain", headers={"Referer": "http://elsewhere.example/x"})
    assert response.status_code == 302 and response.location.endswith("/")
    page = client.get("/p/").get_data(as_text=True)
    assert "金额须为非零的数" in page
    response = client.get("/__plain")
    assert response.status_code == 400 and "金额须为非零的数" in response.get_data(as_text=True)
    response = client.get("/__missing")
    assert response.status_code == 404 and "页面不存在" in response.get_data(as_text=True)


def test_api_text_with_a_nul_character_is_refused_naming_the_field(demo_app):
    # PostgreSQL text cannot hold NUL: before, /api/v1/segments?town=%00 reached it and answered 500
    from roadchief.services.accounts import create_token
    from tests.conftest import make_user

    user = make_user("city_office")
    headers = {"Authorization": f"Bearer {create_token(user.username)}"}
    client = demo_app.test_client()
    response = client.get("/api/v1/segments?town=%00", headers=headers)
    assert response.status_code == 422
    assert "town" in response.get_data(as_text=True)
    assert client.get("/api/v1/segments?town=640381100", headers=headers).status_code == 200
