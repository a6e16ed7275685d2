"""The inspection POST may take its bearer token from the worker's cache (services.token_cache,
issue #15 point 4), but revocation and every account change must still take effect at once:
each test warms the cache with a working POST, changes the token or the user in the database,
and checks the next POST is answered as the fresh full lookup would answer it, with nothing
written on the stale identity."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from roadchief.domain import clock
from roadchief.extensions import db
from roadchief.models import ApiToken, Town, User
from roadchief.models.inspections import Inspection
from roadchief.services import account_admin, token_cache
from roadchief.services.accounts import _digest
from tests.conftest import make_user
from tests.integration.test_inspection_statements import office_with_token, typical_body
from tests.integration.test_inspections import DABA, XIAOBA, village_segment


def stored(client_uuid: str) -> int:
    db.session.remove()
    return db.session.scalar(select(func.count()).select_from(Inspection).where(Inspection.client_uuid == client_uuid))


def invalid_token_answer(client, body) -> tuple:
    """What a token that never worked gets: the answer a revoked one must get too."""
    response = client.post("/api/v1/inspections", json=body, headers={"Authorization": "Bearer rc_never-issued"})
    return response.status_code, response.get_json(), response.headers.get("WWW-Authenticate")


def assert_refused_as_invalid(client, headers, first, second) -> None:
    """The next POST with ``headers`` gets exactly a never-issued token's 401 and writes nothing."""
    body = typical_body(first, second)
    response = client.post("/api/v1/inspections", json=body, headers=headers)
    assert response.status_code == 401
    assert (response.status_code, response.get_json(), response.headers.get("WWW-Authenticate")) == (
        invalid_token_answer(client, typical_body(first, second))
    )
    assert stored(body["client_uuid"]) == 0


@pytest.fixture
def warm(demo_app):
    """A town office's token, its segments, and a worker (app) that has the token cached."""
    client = demo_app.test_client()
    headers, first, second = office_with_token()
    response = client.post("/api/v1/inspections", json=typical_body(first, second), headers=headers)
    assert response.status_code == 201, response.get_json()
    token = headers["Authorization"][7:]
    assert token_cache.cache().get(_digest(token)) is not None  # the full lookup remembered it
    db.session.remove()
    return client, headers, token, first, second


def office_user(token: str) -> User:
    return db.session.scalar(select(ApiToken).where(ApiToken.token_digest == _digest(token))).user


def test_revoked_token_refused_at_once(warm):
    client, headers, token, first, second = warm
    account_admin.revoke_token(
        str(db.session.scalar(select(ApiToken.id).where(ApiToken.token_digest == _digest(token))))
    )
    db.session.remove()
    assert_refused_as_invalid(client, headers, first, second)
    assert token_cache.cache().get(_digest(token)) is None  # dropped, not tried again


def test_token_expired_in_the_database_refused(warm):
    """Changed behind the app's back (no audit entry, no ORM): the segments query still sees it."""
    client, headers, token, first, second = warm
    now = clock.utcnow()
    db.session.execute(
        update(ApiToken)
        .where(ApiToken.token_digest == _digest(token))
        .values(created_at=now - timedelta(days=2), expires_at=now - timedelta(days=1))
    )
    db.session.commit()
    assert_refused_as_invalid(client, headers, first, second)


def test_token_past_its_cached_expiry_refused(demo_app, monkeypatch):
    from roadchief.services.accounts import create_token

    client = demo_app.test_client()
    _, first, second = office_with_token()
    office = make_user("town_office", town=XIAOBA)
    headers = {"Authorization": f"Bearer {create_token(office.username, expires_days=1)}"}
    assert client.post("/api/v1/inspections", json=typical_body(first, second), headers=headers).status_code == 201
    later = clock.utcnow() + timedelta(days=2)
    monkeypatch.setattr(clock, "_now", lambda: later)
    body = typical_body(first, second)
    response = client.post("/api/v1/inspections", json=body, headers=headers)
    assert response.status_code == 401
    assert stored(body["client_uuid"]) == 0


def test_disabled_user_refused_at_once(warm):
    client, headers, token, first, second = warm
    account_admin.set_active(office_user(token).username, False)
    db.session.remove()
    assert_refused_as_invalid(client, headers, first, second)


def test_user_changed_without_audit_refused_at_once(warm):
    """Disabled by a bare UPDATE (no audit entry, so the reference version does not move): the
    verification compares the user's row itself."""
    client, headers, token, first, second = warm
    db.session.execute(update(User).where(User.id == office_user(token).id).values(is_active_flag=False))
    db.session.commit()
    body = typical_body(first, second)
    assert client.post("/api/v1/inspections", json=body, headers=headers).status_code == 401
    assert stored(body["client_uuid"]) == 0


def test_role_change_takes_effect_at_once(warm):
    """Now finance, who records nothing: the 403 a finance token gets, not a record as the old office."""
    client, headers, token, first, second = warm
    user = office_user(token)
    user.role, user.town = "finance", None
    db.session.commit()
    body = typical_body(first, second)
    response = client.post("/api/v1/inspections", json=body, headers=headers)
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["code"] == "forbidden"
    assert stored(body["client_uuid"]) == 0


def test_town_change_takes_effect_at_once(warm):
    """Moved to another town: the old town's segments are refused, the new town's are recorded
    for the new town's office — the fresh identity, not the cached one, was used."""
    client, headers, token, first, second = warm
    user = office_user(token)
    user.town = db.session.scalar(select(Town).where(Town.code == DABA))
    db.session.commit()
    old = typical_body(first, second)
    refused = client.post("/api/v1/inspections", json=old, headers=headers)
    assert refused.status_code == 400 and "不在本单位管辖范围内" in refused.get_json()["message"]
    assert stored(old["client_uuid"]) == 0

    new = typical_body(village_segment(DABA, index=0).id, village_segment(DABA, index=1).id)
    db.session.remove()
    created = client.post("/api/v1/inspections", json=new, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["office_key"] == f"town:{DABA}"


def test_display_name_change_reaches_the_record(warm):
    client, headers, token, first, second = warm
    office_user(token).display_name = "新名字"
    db.session.commit()
    response = client.post("/api/v1/inspections", json=typical_body(first, second), headers=headers)
    assert response.status_code == 201
    assert response.get_json()["inspector"] == "新名字"


def test_refusals_before_the_check_still_answer_401(warm):
    """An answer made before the segments query ran (input validation, a refused time) is
    checked by a full lookup before it leaves: a revoked token gets its 401, not the 422/400."""
    client, headers, token, first, second = warm
    db.session.execute(update(ApiToken).where(ApiToken.token_digest == _digest(token)).values(revoked=True))
    db.session.commit()
    invalid = client.post("/api/v1/inspections", json={"kind": "nonsense"}, headers=headers)
    assert invalid.status_code == 401
    token_cache.cache().put(_digest(token), token_cache.Snapshot.of(_token_row(token)))  # warm again
    db.session.remove()
    future = {**typical_body(first, second), "inspected_at": "2099-01-01T08:00:00+08:00"}
    refused = client.post("/api/v1/inspections", json=future, headers=headers)
    assert refused.status_code == 401


def test_still_valid_token_keeps_the_refusal(warm):
    """The same refusals with a working token: answered as before (the check did not change them)."""
    client, headers, _, first, second = warm
    assert client.post("/api/v1/inspections", json={"kind": "nonsense"}, headers=headers).status_code == 422
    future = {**typical_body(first, second), "inspected_at": "2099-01-01T08:00:00+08:00"}
    refused = client.post("/api/v1/inspections", json=future, headers=headers)
    assert refused.status_code == 400 and "检查时间" in refused.get_json()["message"]


def _token_row(token: str) -> ApiToken:
    return db.session.scalar(select(ApiToken).where(ApiToken.token_digest == _digest(token)))


def test_no_write_while_the_token_is_unverified(warm):
    """The safety net: with the request's token taken from the cache and not yet checked, the
    session refuses to flush or commit anything."""
    _, _, token, _, _ = warm
    client = warm[0]
    with client.application.test_request_context("/api/v1/inspections", method="POST"):
        assert token_cache.cached_user(_digest(token)) is not None
        db.session.add(Town(code="640381999", name="不应写入", kind="镇"))
        with pytest.raises(token_cache.UnverifiedIdentity):
            db.session.commit()
        db.session.rollback()
        db.session.add(Town(code="640381999", name="不应写入", kind="镇"))
        with pytest.raises(token_cache.UnverifiedIdentity):
            db.session.flush()
        db.session.rollback()
        token_cache.clear()
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Town).where(Town.code == "640381999")) == 0


def test_a_write_before_the_check_is_refused_end_to_end(warm, monkeypatch):
    """A future code path that writes before the segments query runs is stopped (500), nothing
    stored — and with the token revoked, the answer is still the invalid token's 401."""
    from roadchief.services import inspections

    client, headers, token, first, second = warm

    def writes_first(user, data, *args, **kwargs):
        db.session.add(Town(code="640381998", name="抢先写入", kind="镇"))
        db.session.commit()

    monkeypatch.setattr(inspections, "_create", writes_first)
    assert client.post("/api/v1/inspections", json=typical_body(first, second), headers=headers).status_code == 500
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Town).where(Town.code == "640381998")) == 0

    db.session.execute(update(ApiToken).where(ApiToken.token_digest == _digest(token)).values(revoked=True))
    db.session.commit()
    token_cache.cache().put(_digest(token), token_cache.Snapshot.of(_token_row(token)))
    db.session.remove()
    assert client.post("/api/v1/inspections", json=typical_body(first, second), headers=headers).status_code == 401
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(Town).where(Town.code == "640381998")) == 0


def test_other_endpoints_never_use_the_cache(warm):
    """Only the opted-in POST starts from the cache: a revoked token is refused by the full
    lookup everywhere else even while its entry is (artificially) still cached."""
    client, headers, token, _, _ = warm
    row = _token_row(token)
    snapshot = token_cache.Snapshot.of(row)
    row.revoked = True
    db.session.commit()
    token_cache.cache().put(_digest(token), snapshot)
    assert client.get("/api/v1/network/summary", headers=headers).status_code == 401
    assert token_cache.cache().get(_digest(token)) is None  # the full lookup forgot it
