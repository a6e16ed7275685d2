"""Backup and restore: the demo plus scores, a closed quarter, ledger entries, users and
photos survive `roadchief backup` → `roadchief restore` into an empty database with the
same row counts, money totals and reports; a non-empty target, a damaged archive or a
failure half-way writes nothing."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import tarfile
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import create_engine, select, text
from sqlalchemy import inspect as sa_inspect

from roadchief import create_app
from roadchief.cli import main
from roadchief.extensions import db
from roadchief.models import LedgerEntry, MileageVersion, Segment, Town, User
from roadchief.models.base import utcnow
from roadchief.services import ServiceError, backup_restore
from roadchief.services.backup import create_backup
from roadchief.services.backup_dump import (
    application_tables,
    decode_value,
    encode_value,
    money_checksums,
    table_counts,
    table_digests,
)
from roadchief.services.backup_restore import read_manifest, restore_backup
from roadchief.services.database import migrate_to_head
from roadchief.services.funding_ledger import ledger
from roadchief.services.funding_params import set_params
from roadchief.services.funding_plan import annual_plan
from roadchief.services.funding_quarter import add_adjustment, close_quarter, compute_quarter, quarter_report
from roadchief.services.scores import import_scores
from tests.conftest import BASE_URL, ON_POSTGRES, TEST_CONFIG, make_user

PHOTOS = {
    "2024/05/3f2a9c4e.jpg": bytes(range(256)) * 64 + b"\xff\xd9",
    "2024/05/3f2a9c4e_thumb.jpg": os.urandom(3000),
    "2024/06/整改后.png": b"\x89PNG\r\n\x1a\n" + os.urandom(500),
}


def with_search_path(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


# ---------------------------------------------------------------- fixtures and helpers


@pytest.fixture
def source(demo_app_with, tmp_path):
    """The demo with its own photo folder."""
    return demo_app_with(UPLOAD_DIR=str(tmp_path / "uploads"))


@pytest.fixture
def empty_target(databases, tmp_path):
    """Makes apps on new, empty databases with their own photo folders: migrated to head, or
    not even initialised (restore migrates). PostgreSQL: each in a throwaway schema."""
    apps, schemas = [], []

    def make(name: str = "target", migrated: bool = True):
        if ON_POSTGRES:
            schema = f"rc_restore_{uuid.uuid4().hex[:10]}"
            engine = create_engine(BASE_URL)
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            engine.dispose()
            schemas.append(schema)
            url = with_search_path(BASE_URL, schema)
        else:
            url = databases.fresh_url() if migrated else f"sqlite:///{tmp_path / f'{name}-{uuid.uuid4().hex[:6]}.db'}"
        app = create_app(
            {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": str(tmp_path / f"{name}-uploads")}
        )
        apps.append(app)
        if ON_POSTGRES and migrated:
            with app.app_context():
                migrate_to_head()
                db.session.remove()
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if schemas:
        engine = create_engine(BASE_URL)
        with engine.begin() as conn:
            for schema in schemas:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def write_scores(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["year", "quarter", "town", "village", "chief_id", "score"])
        writer.writeheader()
        for row in rows:
            writer.writerow({"chief_id": "", "village": "", "town": "", **row})
    return path


def score_quarter(tmp_path: Path, year: int, quarter: int, default: str = "88.5", special: dict | None = None) -> None:
    special = special or {}
    rows = []
    for unit in compute_quarter(year, quarter)["units"]:
        score = special.get(unit["unit_key"], default)
        if unit["kind"] == "station":
            rows.append({"year": year, "quarter": quarter, "chief_id": unit["chief_id"], "score": score})
        else:
            rows.append(
                {
                    "year": year,
                    "quarter": quarter,
                    "town": unit["town"],
                    "village": unit["village"] or "",
                    "score": score,
                }
            )
    import_scores(write_scores(tmp_path / f"scores-{year}-{quarter}.csv", rows))


def inspections_available() -> bool:
    return importlib.util.find_spec("roadchief.services.inspections") is not None


def build_history(tmp_path: Path) -> dict:
    """Scores, a closed quarter with its ledger, an adjustment, parameters, users, photos."""
    units = compute_quarter(2022, 1)["units"]
    villages = [u for u in units if u["kind"] == "village"]
    special = {villages[0]["unit_key"]: "61.37", villages[1]["unit_key"]: "95"}
    score_quarter(tmp_path, 2022, 1, special=special)
    closed = close_quarter(2022, 1)
    add_adjustment(2022, 1, villages[0]["unit_key"], Decimal("-12.34"), "复核后扣回")
    score_quarter(tmp_path, 2022, 2, default="72.25")  # scored, still open
    set_params(2023, {"local_share": "0.65"})
    office = make_user("city_office", username="backup-office")
    locked = make_user("inspector", username="backup-locked")
    locked.is_active_flag = False
    locked.locked_until = utcnow() + timedelta(hours=1)
    db.session.commit()
    root = Path(current_app.config["UPLOAD_DIR"])
    for relative, data in PHOTOS.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(data)
    return {"closed": closed, "office": office.username}


def state() -> dict:
    """What must survive a backup: per-table counts, digests, money sums and the reports."""
    with db.engine.connect() as conn:
        counts = table_counts(conn)
        checksums = money_checksums(conn)
        digests = table_digests(conn, application_tables(conn))
    entries = db.session.scalars(select(LedgerEntry)).all()
    return {
        "counts": counts,
        "checksums": checksums,
        "digests": digests,
        "ledger_sum": sum(e.amount_fen for e in entries),
        "ledger_by_kind": sorted((e.kind, e.unit_key, e.amount_fen) for e in entries),
        "ledger": ledger(2022),
        "closed_q1": quarter_report(2022, 1),
        "open_q2": compute_quarter(2022, 2),
        "plan_2022": annual_plan(2022)["local_total"],
        "plan_2023": annual_plan(2023)["local_total"],
    }


def photos_in(app) -> dict[str, bytes]:
    root = Path(app.config["UPLOAD_DIR"])
    return (
        {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else {}
    )


def target_rows(app) -> int:
    """Rows in every table of a target (0 when it was never even migrated)."""
    with app.app_context():
        with db.engine.connect() as conn:
            if not sa_inspect(conn).get_table_names():
                return 0
            return sum(table_counts(conn).values())


# ---------------------------------------------------------------- round trip


def test_round_trip_of_demo_with_closed_quarter_ledger_and_photos(source, empty_target, tmp_path):
    build_history(tmp_path)
    before = state()
    assert before["counts"]["ledger_entry"] > 0 and before["counts"]["quarter_score"] > 0
    assert before["checksums"]["ledger_entry.amount_fen"] == before["ledger_sum"] != 0
    assert before["ledger"]["reconciles"] is True

    archive = tmp_path / "roadchief-backup.tar.gz"
    result = source.test_cli_runner().invoke(main, ["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "已备份到" in result.stdout and "专户分录金额合计（分）：" + str(before["ledger_sum"]) in result.stdout
    assert f"照片：{len(PHOTOS)} 个文件" in result.stdout
    manifest = read_manifest(archive)
    assert manifest["tables"] == before["counts"]
    assert manifest["checksums"] == before["checksums"]
    assert manifest["schema_revision"] and manifest["dialect"] == db.engine.dialect.name
    assert sorted(p["path"] for p in manifest["photos"]) == sorted(PHOTOS)

    target = empty_target()
    with target.app_context():  # the CLI runs in the current app context, if any
        result = target.test_cli_runner().invoke(main, ["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "已恢复" in result.stdout and "✗" not in result.stdout
    assert "✓ ledger_entry" in result.stdout and f"复制 {len(PHOTOS)} 个" in result.stdout

    with target.app_context():
        after = state()
        assert after == before  # counts, digests, Σ ledger, frozen and live quarter reports, plans
        # the restored database keeps working: ids continue after the restored ones
        highest = db.session.scalar(select(LedgerEntry.id).order_by(LedgerEntry.id.desc()).limit(1))
        entry = add_adjustment(
            2022, 1, before["closed_q1"]["units"][0]["unit_key"], Decimal("-1.00"), "恢复后调整"
        )  # within the bounds: a full-paid unit can only be taken back
        assert entry.id == highest + 1
        assert make_user("finance", username="after-restore").id > 0
        with pytest.raises(ServiceError, match="已审定"):
            close_quarter(2022, 1)
    assert photos_in(target) == PHOTOS  # byte for byte


def test_values_round_trip_exactly(source, empty_target, tmp_path):
    build_history(tmp_path)
    locked = db.session.scalar(select(User).where(User.username == "backup-locked"))
    expected_user = (locked.is_active_flag, locked.locked_until, locked.created_at)
    segment = db.session.scalar(select(Segment).order_by(Segment.id).limit(1))
    expected_segment = (segment.min_lon, segment.max_lat, segment.is_listed, segment.geometry, segment.version)
    version_from = db.session.scalar(select(MileageVersion.effective_from).limit(1))
    first_entry = db.session.scalar(select(LedgerEntry).order_by(LedgerEntry.id).limit(1))
    expected_entry = (first_entry.amount_fen, first_entry.created_at, first_entry.note)
    archive = tmp_path / "b.tar.gz"
    create_backup(archive)

    target = empty_target()
    with target.app_context():
        restore_backup(archive)
        user = db.session.scalar(select(User).where(User.username == "backup-locked"))
        assert (user.is_active_flag, user.locked_until, user.created_at) == expected_user
        assert user.is_active_flag is False
        restored = db.session.get(Segment, segment.id)
        assert (
            restored.min_lon,
            restored.max_lat,
            restored.is_listed,
            restored.geometry,
            restored.version,
        ) == expected_segment
        assert db.session.scalar(select(MileageVersion.effective_from).limit(1)) == version_from
        entry = db.session.get(LedgerEntry, first_entry.id)
        assert (entry.amount_fen, entry.created_at, entry.note) == expected_entry


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        False,
        0,
        -(2**62),
        2**70,
        0.1,
        1e-300,
        -2.5e300,
        "",
        '路长制 ✓\n"quoted"',
        date(2024, 2, 29),
        datetime(2024, 5, 1, 8, 30, 15, 123456),
        Decimal("-12.340"),
        Decimal("1E+3"),
        b"\x00\xffphoto",
    ],
)
def test_value_encoding_is_exact(value):
    encoded = json.loads(json.dumps(encode_value(value)))
    decoded = decode_value(encoded)
    assert decoded == value and type(decoded) is type(value)
    if isinstance(value, Decimal):
        assert str(decoded) == str(value)


def test_aware_datetimes_are_written_as_utc():
    shanghai = timezone(timedelta(hours=8))
    encoded = encode_value(datetime(2024, 1, 1, 8, 0, tzinfo=shanghai))
    assert encoded == {"$dt": "2024-01-01T00:00:00"}


@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL as the target")
def test_sqlite_backup_restores_into_postgresql(databases, empty_target, tmp_path):
    """Moving from the embedded SQLite to PostgreSQL is a backup and a restore."""
    sqlite_url = f"sqlite:///{tmp_path / 'embedded.db'}"
    embedded = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": sqlite_url, "UPLOAD_DIR": str(tmp_path / "embedded-uploads")}
    )
    with embedded.app_context():
        from roadchief.services.database import migrate_to_head
        from roadchief.services.demo import load_demo_network

        migrate_to_head()
        load_demo_network()
        build_history(tmp_path)
        before = state()
        create_backup(tmp_path / "embedded.tar.gz")
        db.session.remove()
        db.engine.dispose()
    target = empty_target()
    with target.app_context():
        report = restore_backup(tmp_path / "embedded.tar.gz")
        assert report["manifest"]["dialect"] == "sqlite" and db.engine.dialect.name == "postgresql"
        after = state()
    # naive SQLite timestamps come back as the same UTC instants, so even the digests agree
    for key in ("counts", "checksums", "digests", "ledger_sum", "ledger_by_kind", "plan_2022", "plan_2023"):
        assert after[key] == before[key], key
    assert photos_in(target) == PHOTOS


@pytest.mark.parametrize("migrated", [True, False], ids=["target-at-head", "target-uninitialised"])
def test_backup_of_an_older_schema_restores_and_is_upgraded(empty_target, tmp_path, migrated):
    """A backup made by an older roadchief: the empty target is taken to the backup's
    revision (down from head if need be), loaded, then migrated to head."""
    from flask_migrate import upgrade

    from roadchief import MIGRATIONS_DIR

    old = create_app(
        {
            **TEST_CONFIG,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.db'}",
            "UPLOAD_DIR": str(tmp_path / "old-uploads"),
        }
    )
    with old.app_context():
        upgrade(directory=str(MIGRATIONS_DIR), revision="0002")
        db.session.add(Town(code="640381100", name="小坝镇", kind="镇"))
        db.session.commit()
        manifest = create_backup(tmp_path / "old.tar.gz")
        db.session.remove()
        db.engine.dispose()
    assert manifest["schema_revision"] == "0002" and "public_report" not in manifest["tables"]
    target = empty_target(migrated=migrated)
    with target.app_context():
        report = restore_backup(tmp_path / "old.tar.gz")
        assert report["upgraded_from"] == "0002"
        assert backup_restore._database_revision() not in (None, "0002")
        with db.engine.connect() as conn:
            counts = table_counts(conn)
        assert counts["town"] == 1 and counts["audit_entry"] == 1 and "public_report" in counts
        assert db.session.scalar(select(Town.name)) == "小坝镇"


# ---------------------------------------------------------------- refusals


def test_restore_refuses_a_non_empty_database(source, tmp_path):
    build_history(tmp_path)
    archive = tmp_path / "b.tar.gz"
    create_backup(archive)
    before = state()
    with pytest.raises(ServiceError, match="不是空库"):
        restore_backup(archive)
    assert state() == before
    result = source.test_cli_runner().invoke(main, ["restore", str(archive)])
    assert result.exit_code == 1 and "错误：目标数据库不是空库" in result.output


def test_backup_does_not_overwrite_an_existing_file(source, tmp_path):
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(b"keep me")
    with pytest.raises(ServiceError, match="已存在"):
        create_backup(archive)
    assert archive.read_bytes() == b"keep me"
    create_backup(archive, overwrite=True)
    assert read_manifest(archive)["format"] == "roadchief-backup"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


@pytest.mark.parametrize("damage", ["truncated", "flipped byte", "not an archive", "empty file"])
def test_damaged_archive_is_refused_and_writes_nothing(source, empty_target, tmp_path, damage):
    build_history(tmp_path)
    archive = tmp_path / "b.tar.gz"
    create_backup(archive)
    data = archive.read_bytes()
    broken = {
        "truncated": data[: len(data) // 2],
        "flipped byte": data[: len(data) // 2] + bytes([data[len(data) // 2] ^ 0x55]) + data[len(data) // 2 + 1 :],
        "not an archive": b"PK\x03\x04 this is not a roadchief backup",
        "empty file": b"",
    }[damage]
    archive.write_bytes(broken)
    target = empty_target(migrated=False)
    with target.app_context():
        with pytest.raises(ServiceError, match="已损坏或不完整") as refused:
            restore_backup(archive)
    assert "未写入任何数据" in str(refused.value)
    assert target_rows(target) == 0
    assert photos_in(target) == {}
    with target.app_context():
        result = target.test_cli_runner().invoke(main, ["restore", str(archive)])
    assert result.exit_code == 1 and "备份文件已损坏或不完整" in result.output


def _rewrite(archive: Path, change) -> None:
    """Repack an archive, passing each member's bytes through change(name, data)."""
    members = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            members.append((member.name, tar.extractfile(member).read()))
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in members:
            data = change(name, data)
            if data is None:
                continue
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_tampered_member_or_other_schema_revision_is_refused(source, empty_target, tmp_path):
    archive = tmp_path / "b.tar.gz"
    create_backup(archive)
    pristine = archive.read_bytes()

    def edit_ledger(name, data):
        return data.replace(b"\n", b"\n ", 1) if name == "data/town.jsonl" else data

    _rewrite(archive, edit_ledger)
    target = empty_target(migrated=False)
    with target.app_context(), pytest.raises(ServiceError, match="校验和不符"):
        restore_backup(archive)
    assert target_rows(target) == 0

    archive.write_bytes(pristine)

    def other_revision(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["schema_revision"] = "9999"
        return json.dumps(manifest).encode()

    _rewrite(archive, other_revision)
    with target.app_context(), pytest.raises(ServiceError, match="结构版本.*9999"):
        restore_backup(archive)
    assert target_rows(target) == 0

    archive.write_bytes(pristine)
    _rewrite(archive, lambda name, data: None if name == "data/segment.jsonl" else data)
    with target.app_context(), pytest.raises(ServiceError, match="缺少"):
        restore_backup(archive)
    assert target_rows(target) == 0

    archive.write_bytes(pristine)

    def no_file_list(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        del manifest["files"]
        return json.dumps(manifest).encode()

    _rewrite(archive, no_file_list)
    with target.app_context(), pytest.raises(ServiceError, match="manifest.json 内容不完整"):
        restore_backup(archive)
    assert target_rows(target) == 0


def test_restore_never_overwrites_a_different_photo(source, empty_target, tmp_path):
    build_history(tmp_path)
    archive = tmp_path / "b.tar.gz"
    create_backup(archive)
    target = empty_target()
    clash = Path(target.config["UPLOAD_DIR"]) / "2024/05/3f2a9c4e.jpg"
    clash.parent.mkdir(parents=True)
    clash.write_bytes(b"someone else's photo")
    with target.app_context(), pytest.raises(ServiceError, match="不会覆盖") as refused:
        restore_backup(archive)
    assert refused.value.errors == ["2024/05/3f2a9c4e.jpg"]
    assert target_rows(target) == 0
    assert photos_in(target) == {"2024/05/3f2a9c4e.jpg": b"someone else's photo"}

    clash.write_bytes(PHOTOS["2024/05/3f2a9c4e.jpg"])  # the same bytes are simply kept
    with target.app_context():
        report = restore_backup(archive)
    assert report["photos"] == {
        "restored": len(PHOTOS) - 1,
        "already_present": 1,
        "bytes": sum(len(d) for n, d in PHOTOS.items() if n != "2024/05/3f2a9c4e.jpg"),
    }
    assert photos_in(target) == PHOTOS


# ---------------------------------------------------------------- failure half-way


@pytest.mark.parametrize("where", ["loading segment", "copying photos", "verifying"])
def test_failure_half_way_through_restore_leaves_target_empty(source, empty_target, tmp_path, monkeypatch, where):
    build_history(tmp_path)
    archive = tmp_path / "b.tar.gz"
    create_backup(archive)
    target = empty_target()

    if where == "loading segment":
        original = backup_restore._load_table

        def load(conn, table, data_file):
            if table.name == "segment":
                raise RuntimeError("disk full")
            return original(conn, table, data_file)

        monkeypatch.setattr(backup_restore, "_load_table", load)
    elif where == "copying photos":
        original_copy = backup_restore.shutil.copyfileobj
        calls = []

        def copy(source_file, out, length=0):
            calls.append(1)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
            return original_copy(source_file, out, length)

        monkeypatch.setattr(backup_restore.shutil, "copyfileobj", copy)
    else:
        original_sums = backup_restore.money_checksums

        def wrong(conn, metadata=None):
            sums = original_sums(conn, metadata)
            sums["ledger_entry.amount_fen"] += 1
            return sums

        monkeypatch.setattr(backup_restore, "money_checksums", wrong)

    with target.app_context(), pytest.raises((RuntimeError, OSError, ServiceError)) as failure:
        restore_backup(archive)
    if where == "verifying":
        assert "与备份清单不符" in str(failure.value)
        assert any("ledger_entry.amount_fen" in e for e in failure.value.errors)
    assert target_rows(target) == 0
    assert photos_in(target) == {}
    monkeypatch.undo()
    with target.app_context():
        restore_backup(archive)  # and the same archive then restores cleanly
    assert photos_in(target) == PHOTOS


def test_dry_run_checks_everything_and_keeps_nothing(source, empty_target, tmp_path):
    build_history(tmp_path)
    archive = tmp_path / "b.tar.gz"
    create_backup(archive)
    target = empty_target()
    with target.app_context():
        result = target.test_cli_runner().invoke(main, ["restore", "--dry-run", str(archive)])
    assert result.exit_code == 0, result.output
    assert "试恢复（已撤销）" in result.stdout and "✗" not in result.stdout
    assert target_rows(target) == 0 and photos_in(target) == {}


def test_round_trip_includes_inspections(source, empty_target, tmp_path):
    if not inspections_available():
        pytest.skip(
            "inspections module not available (roadchief/services/inspections.py): "
            "the round trip then covers its tables automatically once they hold rows"
        )
    from test_faults import make_inspection  # the one place that knows its API (tests/integration is on sys.path)

    build_history(tmp_path)
    make_inspection()
    before = state()
    assert before["counts"]["inspection"] >= 1
    archive = tmp_path / "b.tar.gz"
    create_backup(archive)
    target = empty_target()
    with target.app_context():
        restore_backup(archive)
        assert state() == before
    assert photos_in(target) == photos_in(source)
