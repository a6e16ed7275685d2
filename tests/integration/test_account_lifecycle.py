"""Account lifecycle (issue #13 point 6): sessions that end on logout, password reset and
disable (a captured cookie is refused), disabled accounts, API tokens that expire or are
revoked, bulk 路长 accounts with one-time passwords and their printed slips."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from roadchief.cli import main
from roadchief.domain import clock
from roadchief.extensions import db
from roadchief.models import ApiToken, AuditEntry, Chief, ChiefAssignment, User
from roadchief.services import ServiceError
from roadchief.services.account_admin import list_tokens, revoke_token, set_active
from roadchief.services.accounts import create_token
from roadchief.services.audit import Actor, acting_as, set_actor
from roadchief.services.chief_accounts import chiefs_without_account, create_chief_accounts
from tests.conftest import PASSWORD, login, make_user

XIAOBA = "640381100"


def _steal(client, app):
    """A second browser holding a copy of the client's session cookie (a captured cookie)."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _signed_in(client) -> bool:
    response = client.get("/account/password")
    return response.status_code == 200


def _refused(client) -> bool:
    response = client.get("/account/password")
    return response.status_code == 302 and "/login" in response.headers["Location"]


# ------------------------------------------------------------------ sessions


def test_a_captured_cookie_is_refused_after_logout(app):
    user = make_user("city_office")
    client = app.test_client()
    login(client, user)
    thief = _steal(client, app)
    assert _signed_in(thief)  # the copy works while the session lives
    client.post("/logout")
    assert _refused(client) and _refused(thief)
    # the API refuses the old cookie with its error JSON too
    response = thief.get("/api/v1/segments")
    body = response.get_json()
    assert response.status_code == 401 and body["error"] == "需要登录（Bearer 令牌）" and body["status"] == 401


def test_a_password_reset_by_the_office_ends_sessions_and_forces_a_change(app):
    office, user = make_user("city_office"), make_user("finance")
    office_client, client = app.test_client(), app.test_client()
    login(office_client, office)
    login(client, user)
    thief = _steal(client, app)
    response = office_client.post(f"/admin/users/{user.id}/password", data={"password": "Temp-pass-456"})
    assert response.status_code == 302
    assert _refused(client) and _refused(thief)
    db.session.expire_all()
    assert db.session.get(User, user.id).must_change_password
    # the next sign-in lands on the password form and nothing else opens until the change
    response = client.post("/login", data={"username": user.username, "password": "Temp-pass-456"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
    assert client.get("/funding/").headers["Location"].endswith("/account/password")
    assert client.get("/api/v1/segments").status_code == 403
    page = client.get("/account/password").get_data(as_text=True)
    assert "一次性密码" in page
    response = client.post(
        "/account/password", data={"current": "Temp-pass-456", "new": "Mine-pass-789", "confirm": "Mine-pass-789"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert not db.session.get(User, user.id).must_change_password
    assert client.get("/funding/").status_code == 200  # this session carries on


def test_own_password_change_keeps_this_session_and_ends_the_others(app):
    user = make_user("city_office")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, user)
    login(phone, user)
    response = laptop.post(
        "/account/password", data={"current": PASSWORD, "new": "New-pass-321", "confirm": "New-pass-321"}
    )
    assert response.status_code == 302
    assert _signed_in(laptop) and _refused(phone)
    same = laptop.post(
        "/account/password", data={"current": "New-pass-321", "new": "New-pass-321", "confirm": "New-pass-321"}
    )
    assert "新密码不能与当前密码相同" in same.get_data(as_text=True)


def test_the_office_disables_a_user_on_the_page(app):
    office, user = make_user("city_office"), make_user("inspector")
    office_client, client = app.test_client(), app.test_client()
    login(office_client, office)
    login(client, user)
    thief = _steal(client, app)
    token = create_token(user.username)
    page = office_client.get("/admin/users").get_data(as_text=True)
    assert f'data-user="{user.username}">停用</button>' in page
    assert f'data-user="{office.username}"' not in page  # no button against oneself

    response = office_client.post(f"/admin/users/{user.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "已停用" in response.get_data(as_text=True)
    assert _refused(client) and _refused(thief)
    refused = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert refused.status_code == 200 and "该账号已被停用" in refused.get_data(as_text=True)
    wrong = client.post("/login", data={"username": user.username, "password": "Wrong-pass-1"})
    assert "该账号已被停用" not in wrong.get_data(as_text=True)  # no hint to whoever guesses
    api = app.test_client().get("/api/v1/segments", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 401 and api.get_json()["status"] == 401
    events = db.session.execute(
        select(AuditEntry.note, AuditEntry.actor, AuditEntry.user_id).where(AuditEntry.entity == "app_user")
    ).all()
    assert (f"停用账号 {user.username}", office.username, office.id) in events  # attributed to the office

    office_client.post(f"/admin/users/{user.id}/active", data={"active": "1"})
    login(client, user)
    assert _signed_in(client)


@pytest.fixture(autouse=True)
def no_leftover_actor():
    """Web requests of earlier tests set the audit actor in this thread; a command starts as nobody."""
    set_actor(None)


def test_disable_rules_and_cli(runner, app):
    office = make_user("city_office", username="office-a")
    user = make_user("finance", username="fin-a")
    with acting_as(Actor(name=office.username, user_id=office.id)):
        with pytest.raises(ServiceError, match="不能停用自己"):
            set_active(office.username, False)
    with pytest.raises(ServiceError, match="最后一个启用的市路长办公室账号"):
        set_active(office.username, False)
    result = runner.invoke(main, ["disable-user", "fin-a"])
    assert result.exit_code == 0 and "已停用用户 fin-a" in result.output, result.output
    result = runner.invoke(main, ["disable-user", "fin-a"])
    assert result.exit_code == 1 and "已是停用状态" in result.output
    assert runner.invoke(main, ["disable-user", "nobody"]).exit_code == 1
    db.session.expire_all()
    assert not db.session.get(User, user.id).is_active
    result = runner.invoke(main, ["enable-user", "fin-a"])
    assert result.exit_code == 0
    db.session.expire_all()
    assert db.session.get(User, user.id).is_active


# ------------------------------------------------------------------ tokens


def test_tokens_expire_and_are_revoked(app):
    user = make_user("finance")
    client = app.test_client()
    old = create_token(user.username, "旧对接", expires_days=1, now=clock.utcnow() - timedelta(days=2))
    fresh = create_token(user.username, "对接", expires_days=30)
    forever = create_token(user.username)

    def status(token):
        return client.get("/api/v1/segments", headers={"Authorization": f"Bearer {token}"})

    expired = status(old)
    body = expired.get_json()
    assert expired.status_code == 401 and body["error"] == "需要登录（Bearer 令牌）" and body["status"] == 401
    assert status(fresh).status_code == 200 and status(forever).status_code == 200
    rows = {r.label: r for r in list_tokens()}
    assert rows["旧对接"].status == "已过期" and rows["对接"].status == "有效" and rows[""].expires_at is None
    assert rows["对接"].prefix == fresh[:11] and fresh not in str(rows)

    revoke_token(fresh[:9])  # by prefix
    assert status(fresh).status_code == 401
    with pytest.raises(ServiceError, match="已于此前撤销"):
        revoke_token(str(rows["对接"].id))
    with pytest.raises(ServiceError, match="至少 7 个字符"):
        revoke_token("rc_")
    with pytest.raises(ServiceError, match="1–3660"):
        create_token(user.username, expires_days=0)
    row = db.session.get(ApiToken, rows["对接"].id)
    assert row.revoked and row.revoked_at is not None and row.token_digest != fresh
    # created and revoked in the audit log, never with the digest
    logged = db.session.scalars(select(AuditEntry).where(AuditEntry.entity == "api_token")).all()
    assert {e.action for e in logged} >= {"create", "update", "event"}
    assert all("token_digest" not in (e.after or "") + (e.before or "") for e in logged)


def test_account_forms_need_csrf(demo_app_with):
    app = demo_app_with(WTF_CSRF_ENABLED=True)
    office, user = make_user("city_office"), make_user("finance")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/login", data={"username": office.username, "password": PASSWORD, "csrf_token": token})
    for url in (f"/admin/users/{user.id}/active", "/admin/tokens", "/admin/tokens/1/revoke", "/admin/chief-accounts"):
        assert client.post(url, data={"active": "0", "username": user.username}).status_code == 400, url
    db.session.expire_all()
    assert db.session.get(User, user.id).is_active and db.session.scalar(select(func.count(ApiToken.id))) == 0


def test_token_cli_and_page(runner, app):
    user = make_user("finance", username="fin-b")
    result = runner.invoke(main, ["create-token", "fin-b", "--label", "省厅", "--expires-days", "7"])
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[-1]
    assert token.startswith("rc_")
    listing = runner.invoke(main, ["list-tokens", "--json"])
    assert listing.exit_code == 0 and '"status": "有效"' in listing.output and token not in listing.output
    assert '"prefix": "' + token[:11] + '"' in listing.output
    result = runner.invoke(main, ["revoke-token", token[:11]])
    assert result.exit_code == 0 and "已撤销令牌" in result.output
    assert "已撤销" in runner.invoke(main, ["list-tokens"]).output
    assert runner.invoke(main, ["revoke-token", "999"]).exit_code == 1

    office = make_user("city_office")
    client = app.test_client()
    login(client, office)
    page = client.post("/admin/tokens", data={"username": user.username, "label": "网页", "expires_days": "3"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    new = html.split('id="new-token"')[1].split("<code")[1].split(">")[1].split("<")[0]
    assert app.test_client().get("/api/v1/segments", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    bad = client.post("/admin/tokens", data={"username": user.username, "expires_days": "x"}, follow_redirects=True)
    assert "有效天数须为整数" in bad.get_data(as_text=True)
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.label == "网页"))
    client.post(f"/admin/tokens/{token_id}/revoke")
    assert app.test_client().get("/api/v1/segments", headers={"Authorization": f"Bearer {new}"}).status_code == 401
    assert "已撤销" in client.get("/admin/tokens").get_data(as_text=True)


# ------------------------------------------------------------------ bulk chief accounts


def _serving_chiefs() -> int:
    today = clock.beijing_today()
    return db.session.scalar(
        select(func.count(func.distinct(ChiefAssignment.chief_id))).where(
            ChiefAssignment.start_date <= today,
            (ChiefAssignment.end_date.is_(None)) | (ChiefAssignment.end_date >= today),
        )
    )


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_bulk_chief_accounts_from_the_cli(demo_runner, demo_app, tmp_path):
    first = db.session.scalar(select(Chief).order_by(Chief.id))
    make_user("chief", chief_id=first.id)  # already has an account: skipped
    town_only = chiefs_without_account(XIAOBA)
    assert town_only and len(town_only) < _serving_chiefs() - 1
    path = tmp_path / "slips.pdf"
    result = demo_runner.invoke(main, ["create-chief-accounts", "--town", XIAOBA, "--pdf", str(path)])
    assert result.exit_code == 0, result.output
    assert "ROADCHIEF_PUBLIC_BASE_URL" in result.stderr  # the default 127.0.0.1 address is warned about
    assert f"已创建 {len(town_only)} 个路长账号" in result.output
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    users = db.session.scalars(select(User).where(User.must_change_password.is_(True))).all()
    assert len(users) == len(town_only) and {u.role for u in users} == {"chief"}
    assert {u.chief_id for u in users} == {c.id for c, _ in town_only}
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    chief, scope = town_only[0]
    account = next(u for u in users if u.chief_id == chief.id)
    assert chief.name in text and account.username in text and "http://127.0.0.1:5000" in text
    assert "沿虚线剪开" in text and "一次性密码" in text and scope[:10] in text.replace("\n", "")
    # the one-time password on the slip signs in; the database holds only its hash
    line = next(row for row in text.splitlines() if account.username in row and "一次性密码" in row)
    password = line.split("一次性密码")[1].split()[0]
    assert check_password_hash(account.password_hash, password) and password not in account.password_hash
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts) and "WenQuanYi" in fonts[0]

    again = demo_runner.invoke(main, ["create-chief-accounts", "--town", XIAOBA, "--pdf", str(tmp_path / "b.pdf")])
    assert again.exit_code == 1 and "都已有账号" in again.output and not (tmp_path / "b.pdf").exists()
    exists = demo_runner.invoke(main, ["create-chief-accounts", "--pdf", str(path)])
    assert exists.exit_code == 1 and "文件已存在" in exists.output
    assert (
        demo_runner.invoke(
            main, ["create-chief-accounts", "--town", "nowhere", "--pdf", str(tmp_path / "c.pdf")]
        ).exit_code
        == 1
    )


def test_bulk_chief_accounts_from_the_page_stream_the_pdf(demo_app):
    office = make_user("city_office")
    client = demo_app.test_client()
    login(client, office)
    page = client.get("/admin/chief-accounts").get_data(as_text=True)
    expected = _serving_chiefs()
    assert f'id="pending-count">{expected}<' in page and 'id="url-warning"' in page
    response = client.post("/admin/chief-accounts", data={"town": ""})
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Cache-Control"] == "no-store" and "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"%PDF")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", "-"], input=response.data, capture_output=True, check=True).stdout.decode()
        assert f"Pages:           {-(-expected // 4)}" in info  # four slips a page
    assert db.session.scalar(select(func.count(User.id)).where(User.role == "chief")) == expected
    again = client.post("/admin/chief-accounts", data={"town": ""}, follow_redirects=True)
    assert "都已有账号" in again.get_data(as_text=True)
    assert 'id="pending-count">0<' in client.get("/admin/chief-accounts").get_data(as_text=True)


def test_a_bulk_created_chief_must_change_the_one_time_password(demo_app):
    [slip, *_] = create_chief_accounts(XIAOBA)
    client = demo_app.test_client()
    response = client.post("/login", data={"username": slip.username, "password": slip.password})
    assert response.status_code == 302 and response.headers["Location"].endswith("/account/password")
    assert client.get("/").headers["Location"].endswith("/account/password")
    client.post("/account/password", data={"current": slip.password, "new": "Chief-pass-1", "confirm": "Chief-pass-1"})
    home = client.get("/")
    assert home.status_code == 200 and slip.name in home.get_data(as_text=True)  # the header shows the name


# ------------------------------------------------------------------ the database keeps the rules too


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE api_token SET expires_at = created_at",
        "UPDATE api_token SET revoked_at = created_at, revoked = :false",
        "UPDATE app_user SET session_epoch = -1",
    ],
)
def test_database_constraints(app, statement):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    user = make_user("finance")
    create_token(user.username)
    with pytest.raises(IntegrityError):
        db.session.execute(text(statement), {"false": False})
        db.session.flush()
    db.session.rollback()


def test_migration_0013_downgrades_and_upgrades(app):
    import importlib.util
    from pathlib import Path

    from alembic.migration import MigrationContext
    from alembic.operations import Operations
    from sqlalchemy import inspect, text

    from tests.conftest import ON_POSTGRES

    if not ON_POSTGRES:
        pytest.skip("transactional DDL to roll back: PostgreSQL only")
    path = Path(__file__).resolve().parents[2] / "roadchief/migrations/versions/0013_account_lifecycle.py"
    spec = importlib.util.spec_from_file_location("migration_0013", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    db.session.remove()
    with db.engine.connect() as conn:
        outer = conn.begin()
        with Operations.context(MigrationContext.configure(conn)):
            migration.downgrade()
            assert "session_epoch" not in {c["name"] for c in inspect(conn).get_columns("app_user")}
            migration.upgrade()
            assert {"token_prefix", "expires_at", "revoked_at"} <= {
                c["name"] for c in inspect(conn).get_columns("api_token")
            }
            conn.execute(text("SELECT session_epoch, must_change_password FROM app_user"))
        outer.rollback()
