"""API fuzzing with schemathesis against /api/v1/openapi.json, as an authenticated
client and anonymously: no 5xx, and every response conforms to the documented spec.

The operations are driven through hypothesis directly (bounded examples per
operation) rather than through schemathesis' pytest plugin."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from roadchief.services.accounts import create_token
from tests.conftest import make_user

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), database=None)


def _operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the OpenAPI document lists no operation"
    return operations


def test_api_fuzz_authenticated(demo_app):
    # identity: the WSGI test client does not undo gzip as a real HTTP client does
    headers = {
        "Authorization": f"Bearer {create_token(make_user('city_office').username)}",
        "Accept-Encoding": "identity",
    }
    for operation in _operations(demo_app):

        @FUZZ
        @given(case=operation.as_strategy())
        def check(case):
            case.call_and_validate(headers=headers, checks=CHECKS)

        check()


def test_api_fuzz_anonymous_is_refused(demo_app):
    for operation in _operations(demo_app):

        @settings(FUZZ, max_examples=3)
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call()
            # 404 only where the URL matches no route at all (an id past the integer range)
            assert response.status_code in (401, 404), (case.method, case.formatted_path, response.status_code)
            assert "features" not in response.text and "units" not in response.text

        check()
