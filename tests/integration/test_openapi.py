"""The OpenAPI document of /api/v1 (#16 point 3): a valid document, every route in it with an
operationId and a real response schema, and real answers — successes and errors — that match it."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import mapbox_vector_tile
import pytest
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate

from tests.integration.api_samples import collect

SKIPPED_ENDPOINTS = {"openapi.spec"}  # the document itself
OPERATION_ID = re.compile(r"^[a-z][a-zA-Z0-9]*$")  # camelCase


def spec_of(app) -> dict:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+(?:\([^)]*\))?:)?([a-z_]+)>", r"{\1}", rule)


def api_routes(app) -> list[tuple[str, str, str]]:
    """(METHOD, OpenAPI path, endpoint) of every route Flask serves under /api/v1."""
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint not in SKIPPED_ENDPOINTS:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                routes.append((method, openapi_path(rule.rule), rule.endpoint))
    return routes


def success_schema(operation: dict) -> dict | None:
    """The schema of the first success answer: JSON, or a file's own content type (GPX)."""
    for code, response in operation.get("responses", {}).items():
        if code.startswith("2"):
            return next((c["schema"] for c in response.get("content", {}).values() if c.get("schema")), None)
    return None


def is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def validator(spec: dict, schema: dict) -> OAS30Validator:
    # the schema inside a document that holds the components, so "#/components/..." resolves
    return OAS30Validator({**schema, "components": spec["components"]})


def test_document_is_valid_openapi(app):
    spec = spec_of(app)
    validate(spec)  # raises OpenAPIValidationError naming the offending part
    assert spec["openapi"].startswith("3.")


def test_every_api_route_is_documented_with_an_operation_id_and_a_schema(app):
    spec = spec_of(app)
    problems, ids = [], {}
    for method, path, endpoint in api_routes(app):
        where = f"{method} {path} (endpoint {endpoint})"
        operation = spec["paths"].get(path, {}).get(method.lower())
        if operation is None:
            problems.append(f"{where}: not in /api/v1/openapi.json")
            continue
        operation_id = operation.get("operationId")
        if not operation_id or not OPERATION_ID.match(operation_id):
            problems.append(f"{where}: no camelCase operationId — add operation_id=… to its @bp.doc")
        elif operation_id in ids:
            problems.append(f"{where}: operationId {operation_id} is also {ids[operation_id]}'s")
        ids.setdefault(operation_id, where)
        if not success_schema(operation):
            problems.append(
                f"{where}: no response schema — add one to web/api/schemas.py and responses=returns(…) to its @bp.doc"
            )
        for code in ("400", "401", "403", "404", "422"):
            schema = operation["responses"].get(code, {}).get("content", {}).get("application/json", {}).get("schema")
            if schema != {"$ref": "#/components/schemas/Error"}:
                problems.append(f"{where}: {code} does not answer with the Error schema")
    assert not problems, "OpenAPI document out of step with the routes:\n" + "\n".join(problems)
    assert len(ids) >= 32


def test_operation_ids_are_stable(app):
    """Clients generated from the document call these names: renaming one breaks them."""
    spec = spec_of(app)
    ids = {op["operationId"] for ops in spec["paths"].values() for op in ops.values() if "operationId" in op}
    assert {
        "listSegments",
        "getSegment",
        "getNetworkSummary",
        "getFundingPlan",
        "getFundingQuarter",
        "listInspections",
        "createInspection",
        "getInspection",
        "uploadInspectionPhoto",
        "nearestSegments",
        "listRectifications",
        "getRectification",
        "completeRectification",
        "verifyRectification",
        "returnRectification",
        "getDeductionCatalog",
        "getQuarterBulletin",
        "listMarkers",
        "listTowns",
        "listCoverageGaps",
        "listEvents",
        "getEvent",
        "createEvent",
        "restoreEvent",
        "repairEvent",
        "listAssets",
        "createPatrol",
        "uploadPatrolGpx",
        "listPatrols",
        "getPatrol",
        "getPatrolGpx",
        "getPatrolTrackLayer",
    } <= ids


@pytest.fixture
def calls(demo_app):
    return collect(demo_app)


def test_real_answers_match_the_documented_schemas(demo_app, calls):
    spec = spec_of(demo_app)
    adapter = demo_app.url_map.bind("localhost")
    problems, answered, statuses = [], set(), set()
    for call in calls:
        rule, _ = adapter.match(call.path.split("?")[0], method=call.method, return_rule=True)
        path, status = openapi_path(rule.rule), call.response.status_code
        where = f"{call.method} {call.path} → {status}"
        operation = spec["paths"][path][call.method.lower()]
        documented = operation["responses"].get(str(status))
        if documented is None:
            problems.append(f"{where}: status not documented")
            continue
        media = call.response.mimetype
        schema = documented.get("content", {}).get(media, {}).get("schema")
        if schema is None:
            problems.append(f"{where}: answers {media}, documented {sorted(documented.get('content', {}))}")
            continue
        if is_json(media):
            body = call.response.get_json(silent=True)
            assert body is not None, where
        elif media == "application/vnd.mapbox-vector-tile":  # binary: it must decode as a tile
            decoded = mapbox_vector_tile.decode(call.response.get_data())
            if call.response.get_data() and "roads" not in decoded:
                problems.append(f"{where}: a tile without its roads layer: {sorted(decoded)}")
            body = "binary"
        else:  # a file download: text in the documented string schema, well-formed when it is XML
            body = call.response.get_data(as_text=True)
            if media.endswith(("+xml", "/xml")):
                try:
                    ET.fromstring(body.encode())
                except ET.ParseError as error:
                    problems.append(f"{where}: not well-formed XML: {error}")
        errors = sorted(validator(spec, schema).iter_errors(body), key=lambda e: list(e.absolute_path))
        problems += [f"{where}: {'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:3]]
        statuses.add(status)
        if status < 300:
            answered.add((call.method, path))
    assert not problems, "\n".join(problems)
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    assert documented == answered, f"operations never called with success: {sorted(documented - answered)}"
    assert {200, 201, 400, 401, 403, 404, 409, 422} <= statuses


def test_refusals_keep_their_status_and_the_one_error_body(calls):
    by_request = {}
    for call in calls:
        by_request.setdefault((call.method, call.path), []).append(call.response)

    def answer(method, fragment, status):
        found = [r for (m, p), responses in by_request.items() for r in responses if m == method and fragment in p]
        match = next((r for r in found if r.status_code == status), None)
        assert match is not None, (method, fragment, status, [r.status_code for r in found])
        body = match.get_json()
        assert set(body) >= {"error", "status", "code", "message", "errors", "detail"} and body["status"] == status
        return body

    body = answer("POST", "/api/v1/inspections", 400)  # a refused inspection: 400 with its reason
    assert "扣分项" in body["error"] and "扣分项" in body["message"] and body["code"] == "bad_request"
    body = answer("GET", "/api/v1/inspections/nearest", 400)
    assert "不在青铜峡市范围内" in body["error"] and body["detail"] == body["message"] == body["error"]
    body = answer("POST", "/verify", 409)  # a rectification step the state refuses
    assert "不能执行" in body["message"] and body["code"] == "conflict"
    body = answer("POST", "/api/v1/events", 422)  # 中断 without the warning sign and detour (第十四条)
    assert "绕行路线" in body["error"] and body["code"] == "invalid"
    assert "先抢通" in answer("POST", "/repair", 409)["message"]
    assert "晚于现在" in answer("POST", "/restore", 422)["message"]
    body = answer("GET", "/api/v1/segments", 422)  # a parameter outside its schema
    assert body["code"] == "validation_error" and any(e.startswith("query.zoom") for e in body["errors"])
    assert isinstance(body["detail"], dict) and "zoom" in body["detail"]["query"]
    body = answer("GET", "/api/v1/segments", 401)
    assert body["error"] == "需要登录（Bearer 令牌）" and body["code"] == "unauthorized"
    body = answer("GET", "/api/v1/funding/plan/2022", 403)
    assert body["message"] == "无权访问" and body["errors"] == []
    body = answer("GET", "/api/v1/events/999999", 404)
    assert body["code"] == "not_found" and body["message"] == "页面不存在"  # not werkzeug's English text
    body = answer("GET", "/api/v1/funding/plan/1999", 404)
    assert body["message"] == "年度不正确：1999"
    body = answer("POST", "/api/v1/patrols", 400)  # a point outside the city, named
    assert "第 2 个点" in body["message"] and "不在青铜峡市范围内" in body["message"]
    assert "他人" in answer("POST", "/api/v1/patrols", 409)["message"]
    assert "GPX 文件格式错误（第" in answer("POST", "/api/v1/patrols/gpx", 400)["message"]
    assert answer("GET", "/track.gpx", 404)["code"] == "not_found"


def test_unknown_api_urls_and_methods_answer_the_error_body(app):
    client = app.test_client()
    for path, method, status in (("/api/v1/nothing-here", "GET", 404), ("/api/v1/network/summary", "DELETE", 405)):
        response = client.open(path, method=method)
        assert response.status_code == status
        assert set(response.get_json()) >= {"error", "status", "code", "message", "errors"}
