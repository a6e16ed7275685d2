"""Frozen means frozen (issue #11 point 9): quarter closes and the scores of approved quarters
are append-only in the database, TRUNCATE is refused on every append-only table (PostgreSQL),
and the application's own database role cannot get around the triggers."""

from __future__ import annotations

import importlib.util
import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from roadchief import MIGRATIONS_DIR
from roadchief.cli import main
from roadchief.extensions import db
from roadchief.models import LedgerEntry, QuarterClose, QuarterScore
from roadchief.services import ServiceError
from roadchief.services.scores import import_scores
from tests.conftest import ON_POSTGRES

APPEND_ONLY = ("ledger_entry", "audit_entry", "quarter_close", "quarter_score")
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL only (roles, TRUNCATE)")


@pytest.fixture
def closed_q1(app):
    """2022 Q1 approved (a quarter_close row), Q2 still open; one unit scored in both."""
    db.session.add_all(
        [
            QuarterClose(year=2022, quarter=1, closed_by="审定人", snapshot_json="{}"),
            QuarterScore(year=2022, quarter=1, unit_key="town:640381100", score_centi=8800),
            QuarterScore(year=2022, quarter=2, unit_key="town:640381100", score_centi=8800),
            LedgerEntry(
                year=2022, quarter=1, unit_key="town:640381100", kind="payment", amount_fen=123456, created_by="t"
            ),
        ]
    )
    db.session.commit()
    return app


def refused(statement: str, match: str = "append-only") -> None:
    with pytest.raises(Exception, match=match):
        db.session.execute(text(statement))
        db.session.flush()
    db.session.rollback()


def score_of(quarter: int) -> int | None:
    return db.session.scalar(
        select(QuarterScore.score_centi).where(QuarterScore.year == 2022, QuarterScore.quarter == quarter)
    )


def test_quarter_close_refuses_update_and_delete(closed_q1):
    refused("UPDATE quarter_close SET closed_by = 'x'")
    refused("UPDATE quarter_close SET snapshot_json = '{\"units\": []}'")
    refused("DELETE FROM quarter_close")
    close = db.session.scalar(select(QuarterClose))
    db.session.delete(close)
    with pytest.raises(Exception, match="append-only"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(QuarterClose.closed_by)) == "审定人"


def test_scores_of_a_closed_quarter_refuse_update_and_delete(closed_q1):
    refused("UPDATE quarter_score SET score_centi = 10000 WHERE quarter = 1")
    refused("DELETE FROM quarter_score WHERE quarter = 1")
    # nor can an open quarter's row be moved into the closed one
    refused("UPDATE quarter_score SET quarter = 1, unit_key = 'town:other' WHERE quarter = 2")
    assert score_of(1) == 8800


def test_scores_of_an_open_quarter_can_still_be_replaced(closed_q1, tmp_path):
    db.session.execute(text("UPDATE quarter_score SET score_centi = 7000 WHERE quarter = 2"))
    db.session.commit()
    assert score_of(2) == 7000
    db.session.execute(text("DELETE FROM quarter_score WHERE quarter = 2"))
    db.session.commit()
    assert score_of(2) is None


def test_score_import_replaces_open_quarter_and_refuses_closed_one(demo_app, tmp_path):
    db.session.add(QuarterClose(year=2022, quarter=1, closed_by="审定人", snapshot_json="{}"))
    db.session.commit()
    path = tmp_path / "s.csv"
    path.write_text("year,quarter,town,score\n2022,2,小坝镇,88\n", encoding="utf-8")
    import_scores(path)
    path.write_text("year,quarter,town,score\n2022,2,小坝镇,72.5\n", encoding="utf-8")
    assert import_scores(path, replace=True)["replaced"] == 1
    assert score_of(2) == 7250
    path.write_text("year,quarter,town,score\n2022,1,小坝镇,72.5\n", encoding="utf-8")
    with pytest.raises(ServiceError) as error:
        import_scores(path, replace=True)
    assert "已审定" in error.value.errors[0]
    assert score_of(1) is None


@postgres_only
@pytest.mark.parametrize("table", APPEND_ONLY)
def test_truncate_is_refused_on_every_append_only_table(closed_q1, table):
    refused(f"TRUNCATE {table}")
    refused(f"TRUNCATE {table} CASCADE")
    assert db.session.scalar(text(f"SELECT count(*) FROM {table}")) > 0


@postgres_only
def test_truncate_cascading_from_a_referenced_table_is_refused(closed_q1):
    refused("TRUNCATE chief CASCADE")  # would empty quarter_score (chief_id references chief)


def _migration():
    path = Path(MIGRATIONS_DIR) / "versions" / "0010_frozen_tables.py"
    spec = importlib.util.spec_from_file_location("migration_0010", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_downgrade_drops_the_triggers_and_upgrade_restores_them(closed_q1):
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    migration = _migration()
    db.session.remove()
    with db.engine.connect() as conn:
        outer = conn.begin()
        with Operations.context(MigrationContext.configure(conn)):
            migration.downgrade()
            savepoint = conn.begin_nested()
            conn.execute(text("UPDATE quarter_close SET closed_by = 'x'"))
            conn.execute(text("UPDATE quarter_score SET score_centi = 1 WHERE quarter = 1"))
            savepoint.rollback()
            migration.upgrade()
            for statement in (
                "UPDATE quarter_close SET closed_by = 'x'",
                "DELETE FROM quarter_score WHERE quarter = 1",
            ):
                savepoint = conn.begin_nested()
                with pytest.raises(Exception, match="append-only"):
                    conn.execute(text(statement))
                savepoint.rollback()
        outer.rollback()  # leave the shared schema as the migration made it


# --- the least-privilege application role (PostgreSQL) ---


@pytest.fixture
def app_role(demo_app):
    """A unique app role made by the CLI verb in this run's schema; dropped afterwards
    (roles are cluster-wide)."""
    name, password = f"rc_app_{uuid.uuid4().hex[:10]}", f"pw-{uuid.uuid4().hex}"
    runner = demo_app.test_cli_runner()
    engines = []

    def connect():
        url = make_url(str(db.engine.url)).set(username=name, password=password)
        engine = create_engine(url.render_as_string(hide_password=False))
        engines.append(engine)
        return engine

    try:
        result = runner.invoke(main, ["app-role", name, "--password", password, "--json"])
        assert result.exit_code == 0, result.output
        yield name, json.loads(result.output), connect
    finally:
        for engine in engines:
            engine.dispose()
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :n"), {"n": name}).first():
                conn.execute(text(f'DROP OWNED BY "{name}"'))
                conn.execute(text(f'DROP ROLE "{name}"'))


@postgres_only
def test_app_role_is_least_privilege(app_role):
    name, report, _connect = app_role
    assert report["created"] is True and report["login"] is True
    assert not any(report[k] for k in ("superuser", "createdb", "createrole", "bypassrls", "replication"))
    assert report["owns_tables"] == 0 and report["member_of"] == []
    assert report["can_create_in_schema"] is False


@postgres_only
def test_app_role_does_the_apps_normal_writes(app_role, demo_app, tmp_path):
    """The application itself, connected as the role: a score import (year lock upsert,
    insert, then replace = UPDATE of an open quarter), its audit rows, a ledger entry."""
    from roadchief import create_app
    from tests.conftest import TEST_CONFIG

    name, _report, connect = app_role
    role_url = connect().url.render_as_string(hide_password=False)
    role_app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": role_url})
    path = tmp_path / "s.csv"
    with role_app.app_context():
        try:
            assert db.session.scalar(text("SELECT current_user")) == name
            from roadchief.services.database import migrate_to_head

            migrate_to_head()  # what `serve` does first: at the latest version already, nothing to change
            path.write_text("year,quarter,town,score\n2022,2,小坝镇,88\n", encoding="utf-8")
            import_scores(path)
            path.write_text("year,quarter,town,score\n2022,2,小坝镇,72.5\n", encoding="utf-8")
            assert import_scores(path, replace=True)["replaced"] == 1
            db.session.add(
                LedgerEntry(
                    year=2022,
                    quarter=2,
                    unit_key="town:x",
                    kind="adjustment",
                    amount_fen=-100,
                    note="测试",
                    created_by=name,
                )
            )
            db.session.commit()
            audit_rows = db.session.scalar(text("SELECT count(*) FROM audit_entry WHERE entity = 'quarter_score'"))
            assert audit_rows == 2
        finally:
            db.session.remove()
            db.engine.dispose()
    assert db.session.scalar(select(LedgerEntry.amount_fen).where(LedgerEntry.created_by == name)) == -100


@postgres_only
@pytest.mark.parametrize(
    "statement, match",
    [
        ("UPDATE ledger_entry SET amount_fen = 0", "append-only"),
        ("DELETE FROM ledger_entry", "append-only"),
        ("UPDATE audit_entry SET actor = 'x'", "append-only"),
        ("DELETE FROM audit_entry", "append-only"),
        ("UPDATE quarter_close SET closed_by = 'x'", "append-only"),
        ("DELETE FROM quarter_close", "append-only"),
        ("DELETE FROM quarter_score WHERE quarter = 1", "append-only"),
        ("TRUNCATE ledger_entry", "permission denied"),
        ("TRUNCATE quarter_close", "permission denied"),
        ("TRUNCATE quarter_score", "permission denied"),
        ("ALTER TABLE ledger_entry DISABLE TRIGGER ALL", "must be owner"),
        ("ALTER TABLE quarter_close DISABLE TRIGGER quarter_close_append_only", "must be owner"),
        ("DROP TABLE ledger_entry", "must be owner"),
        ("SET session_replication_role = replica", "permission denied"),
        ("CREATE TABLE sneaky (id int)", "permission denied"),
        (
            "CREATE FUNCTION refuse_change() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql",
            "permission denied",
        ),
    ],
)
def test_app_role_cannot_get_past_the_triggers(app_role, statement, match):
    name, _report, connect = app_role
    db.session.add_all(
        [
            QuarterClose(year=2022, quarter=1, closed_by="审定人", snapshot_json="{}"),
            QuarterScore(year=2022, quarter=1, unit_key="town:640381100", score_centi=8800),
            LedgerEntry(year=2022, quarter=1, unit_key="town:640381100", kind="payment", amount_fen=1, created_by="t"),
        ]
    )
    db.session.commit()
    with connect().connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == name
        with pytest.raises(Exception, match=match):
            conn.execute(text(statement))
        conn.rollback()
    counts = {t: db.session.scalar(text(f"SELECT count(*) FROM {t}")) for t in APPEND_ONLY}
    assert counts["ledger_entry"] >= 1 and counts["quarter_close"] == 1 and counts["quarter_score"] == 1


@postgres_only
def test_app_role_verb_is_idempotent_and_prints_sql(app_role, demo_app):
    name, _report, _connect = app_role
    runner = demo_app.test_cli_runner()
    again = runner.invoke(main, ["app-role", name])
    assert again.exit_code == 0, again.output
    assert "已重新核定" in again.output and "不能：" in again.output
    printed = runner.invoke(main, ["app-role", "rc_someone_else", "--sql"])
    assert printed.exit_code == 0
    assert 'CREATE ROLE "rc_someone_else" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE' in printed.output
    assert "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA" in printed.output
    assert "ALTER DEFAULT PRIVILEGES" in printed.output and "TRUNCATE" not in printed.output
    assert db.session.scalar(text("SELECT count(*) FROM pg_roles WHERE rolname = 'rc_someone_else'")) == 0


@postgres_only
@pytest.mark.parametrize("bad", ["Robert'); DROP TABLE x;--", "postgres", "1abc", ""])
def test_app_role_refuses_bad_or_privileged_names(demo_app, bad):
    result = demo_app.test_cli_runner().invoke(main, ["app-role", bad])
    assert result.exit_code == 1
    assert "角色" in result.output


@pytest.mark.skipif(ON_POSTGRES, reason="the SQLite message")
def test_app_role_on_sqlite_says_why_not(runner):
    result = runner.invoke(main, ["app-role", "rc_app"])
    assert result.exit_code == 1 and "仅适用于 PostgreSQL" in result.output
