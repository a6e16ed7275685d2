"""Faults: an import, a quarter close and an inspection save that fail or are killed half-way
leave nothing behind (every table's row count unchanged, no stray photo) and the next
normal call succeeds; two users closing the same quarter at once end with one winner
and a clear message for the other.

Row counts are read on a connection of their own, so they show what is committed,
not what a failed session still holds.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from flask import current_app
from importer_fixtures import network_rows, seed_register, write_layer  # tests/integration is on sys.path
from sqlalchemy import event, func, select

from roadchief.extensions import db
from roadchief.models import LedgerEntry, QuarterClose, QuarterScore, Segment, SegmentMileage, User
from roadchief.services import ServiceError, funding_params, funding_quarter, scores, settlement
from roadchief.services.audit import Actor, acting_as
from roadchief.services.backup_dump import table_counts
from roadchief.services.funding_ledger import ledger
from roadchief.services.funding_params import set_params
from roadchief.services.funding_quarter import close_quarter, compute_quarter, quarter_report
from roadchief.services.importing import writing
from roadchief.services.road_import import import_roads
from roadchief.services.scores import import_scores
from tests.conftest import make_user

EFFECTIVE = date(2024, 1, 1)


class InjectedFault(Exception):
    """The failure a test plants inside a service."""


def committed_counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        return table_counts(conn)


def files_under(folder) -> dict[str, bytes]:
    root = Path(folder)
    return (
        {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else {}
    )


def end_of_request() -> None:
    """What Flask does after every request and CLI command: drop the session."""
    db.session.remove()


def fail_on_insert(table: str, after: int = 0):
    """A database-level fault: raise when the (after+1)-th INSERT into ``table`` is about to run."""
    seen = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()} "):
            seen.append(statement)
            if len(seen) > after:
                raise InjectedFault(f"disk failure while writing {table}")

    return hook


@pytest.fixture
def db_fault():
    """Install a before_cursor_execute hook on the app's engine for the test's duration."""
    installed = []

    def install(hook):
        event.listen(db.engine, "before_cursor_execute", hook)
        installed.append((db.engine, hook))

    yield install
    for engine, hook in installed:
        if event.contains(engine, "before_cursor_execute", hook):  # the test may have removed it already
            event.remove(engine, "before_cursor_execute", hook)


KILL_SCRIPT = r"""
import os, signal, sys
from datetime import date
from sqlalchemy import event
from roadchief import create_app
from roadchief.extensions import db

url, upload_dir, table, count_table, job = sys.argv[1:6]
app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "UPLOAD_DIR": upload_dir})
with app.app_context():
    def die(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO " + table.upper() + " "):
            cursor.execute("SELECT count(*) FROM " + count_table)  # inside the doomed transaction
            print("partial", cursor.fetchone()[0], flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
    event.listen(db.engine, "before_cursor_execute", die)
    if job == "close":
        from roadchief.services.funding_quarter import close_quarter
        close_quarter(2022, 1)
    else:
        from roadchief.services.road_import import import_roads
        import_roads(job, effective=date(2024, 1, 1))
print("survived", flush=True)
"""


def run_and_kill(table: str, count_table: str, job: str) -> int:
    """Run a service in another process and SIGKILL it as it is about to INSERT into ``table``;
    return how many ``count_table`` rows its open transaction held at that moment."""
    url = db.engine.url.render_as_string(hide_password=False)
    done = subprocess.run(
        [sys.executable, "-c", KILL_SCRIPT, url, current_app.config["UPLOAD_DIR"], table, count_table, job],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == -signal.SIGKILL, (done.returncode, done.stdout, done.stderr[-3000:])
    assert "survived" not in done.stdout
    return int(done.stdout.split("partial", 1)[1].split()[0])


# ---------------------------------------------------------------- road import


@pytest.fixture
def register(app):
    seed_register()
    return app


@pytest.fixture
def layer(tmp_path):
    return write_layer(network_rows(), tmp_path / "network.geojson")


def assert_import_then_works(layer, before):
    report = import_roads(layer, effective=EFFECTIVE)
    assert report.created == 6 and report.mileage_written == 6
    after = committed_counts()
    assert after["segment"] == before["segment"] + 6 and after["segment_mileage"] == before["segment_mileage"] + 6


def test_import_interrupted_during_writing_leaves_nothing(register, layer):
    before = committed_counts()

    def progress(done, total, stage):
        if stage == "导入" and done == 3:
            raise KeyboardInterrupt  # Ctrl-C half-way through writing the segments

    with pytest.raises(KeyboardInterrupt):
        import_roads(layer, effective=EFFECTIVE, progress=progress)
    assert committed_counts() == before
    assert not db.session.new and not db.session.dirty  # the service rolled its session back itself
    assert_import_then_works(layer, before)


def test_import_failing_after_some_mileage_rows_leaves_nothing(register, layer, monkeypatch):
    before = committed_counts()
    original = writing.write_mileage
    flushed = []

    def three_rows_then_fail(written, version, counts, **options):
        original(written[:3], version, counts, **options)  # roads, segments and 3 mileage rows reach the database
        flushed.append(db.session.scalar(select(func.count()).select_from(SegmentMileage)))
        raise InjectedFault("lost the connection")

    monkeypatch.setattr(writing, "write_mileage", three_rows_then_fail)
    with pytest.raises(InjectedFault):
        import_roads(layer, effective=EFFECTIVE)
    assert flushed == [before["segment_mileage"] + 3]  # they really were written, then undone
    assert committed_counts() == before
    monkeypatch.undo()
    assert_import_then_works(layer, before)


def test_import_failing_in_the_database_leaves_nothing(register, layer, db_fault):
    before = committed_counts()
    hook = fail_on_insert("segment_mileage")  # roads and segments are in, the mileage rows fail
    db_fault(hook)
    with pytest.raises(InjectedFault):
        import_roads(layer, effective=EFFECTIVE)
    assert committed_counts() == before
    assert not db.session.new and not db.session.dirty
    event.remove(db.engine, "before_cursor_execute", hook)
    assert_import_then_works(layer, before)


def test_import_killed_half_way_leaves_nothing(register, layer):
    before = committed_counts()
    end_of_request()
    segments_in_doomed_transaction = run_and_kill("segment_mileage", "segment", str(layer))
    assert segments_in_doomed_transaction == before["segment"] + 6
    assert committed_counts() == before
    assert_import_then_works(layer, before)


# ---------------------------------------------------------------- quarter close


def write_scores(path: Path, year: int, quarter: int, score: str = "88") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["year", "quarter", "town", "village", "chief_id", "score"])
        writer.writeheader()
        for unit in compute_quarter(year, quarter)["units"]:
            if unit["kind"] == "station":
                writer.writerow({"year": year, "quarter": quarter, "chief_id": unit["chief_id"], "score": score})
            else:
                writer.writerow(
                    {
                        "year": year,
                        "quarter": quarter,
                        "town": unit["town"],
                        "village": unit["village"] or "",
                        "score": score,
                    }
                )
    return path


@pytest.fixture
def scored(demo_app, tmp_path):
    """The demo with every unit scored for 2022 Q1 (one below the pass mark, so deductions exist)."""
    path = write_scores(tmp_path / "q1.csv", 2022, 1)
    text = path.read_text(encoding="utf-8").splitlines()
    text[1] = text[1].rsplit(",", 1)[0] + ",61.5"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    import_scores(path)
    end_of_request()
    return demo_app


def assert_close_then_works(before):
    report = close_quarter(2022, 1)
    assert report["status"] == "closed"
    after = committed_counts()
    units = len(report["units"])
    assert after["quarter_close"] == before["quarter_close"] + 1
    assert after["ledger_entry"] == before["ledger_entry"] + 2 * units  # a payment and a deduction per unit
    book = ledger(2022)
    assert book["reconciles"] is True


def test_close_failing_while_posting_ledger_leaves_nothing(scored, monkeypatch):
    before = committed_counts()
    made = []

    def entry_or_fault(**values):
        made.append(values)
        if len(made) == 7:
            raise InjectedFault("crash after six ledger entries")
        return LedgerEntry(**values)

    monkeypatch.setattr(funding_quarter, "LedgerEntry", entry_or_fault)
    with pytest.raises(InjectedFault):
        close_quarter(2022, 1)
    assert committed_counts() == before
    monkeypatch.undo()
    end_of_request()
    assert_close_then_works(before)


def test_close_failing_in_the_database_after_ledger_rows_leaves_nothing(scored, db_fault):
    before = committed_counts()
    written = []

    def fault(conn, cursor, statement, parameters, context, executemany):
        # the audit rows go in last, after quarter_close and every ledger_entry row
        if statement.lstrip().upper().startswith("INSERT INTO AUDIT_ENTRY "):
            cursor.execute("SELECT count(*) FROM ledger_entry")
            written.append(cursor.fetchone()[0])
            raise InjectedFault("disk failure while writing the audit log")

    db_fault(fault)
    with pytest.raises(InjectedFault):
        close_quarter(2022, 1)
    assert written and written[0] > before["ledger_entry"]  # the ledger rows were in, uncommitted
    assert committed_counts() == before
    event.remove(db.engine, "before_cursor_execute", fault)
    end_of_request()
    assert_close_then_works(before)


def test_close_killed_half_way_leaves_nothing(scored):
    before = committed_counts()
    ledger_rows_in_doomed_transaction = run_and_kill("audit_entry", "ledger_entry", "close")
    assert ledger_rows_in_doomed_transaction > before["ledger_entry"]
    assert committed_counts() == before
    assert quarter_report(2022, 1)["status"] == "open"  # nothing half-closed is visible
    assert_close_then_works(before)


def test_failed_close_leaves_no_pending_work_for_the_next_commit(scored, monkeypatch):
    before = committed_counts()
    made = []

    def entry_or_fault(**values):
        made.append(values)
        if len(made) == 7:
            raise InjectedFault("crash after six ledger entries")
        return LedgerEntry(**values)

    monkeypatch.setattr(funding_quarter, "LedgerEntry", entry_or_fault)
    with pytest.raises(InjectedFault):
        close_quarter(2022, 1)
    monkeypatch.undo()
    set_params(2023, {"local_share": "0.65"})  # same session, no request boundary in between
    after = committed_counts()
    assert (after["quarter_close"], after["ledger_entry"]) == (before["quarter_close"], before["ledger_entry"])


# ---------------------------------------------------------------- inspection save


def inspections_module():
    if importlib.util.find_spec("roadchief.services.inspections") is None:
        pytest.skip("inspections module not available")  # activates by itself once the module exists
    from roadchief.services import inspections

    return inspections


def png(color=(180, 40, 40)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "PNG")
    return out.getvalue()


def make_inspection(photos: int = 2):
    """A city-office 督查 of the first demo segment with one finding and its photos (the
    round-trip test in test_backup uses it too)."""
    from werkzeug.datastructures import FileStorage

    inspections = inspections_module()
    user = db.session.scalar(select(User).where(User.username == "fault-office")) or make_user(
        "city_office", username="fault-office"
    )
    segment = db.session.scalar(select(Segment).order_by(Segment.id).limit(1))
    files = [
        FileStorage(io.BytesIO(png((40 * i % 256, 90, 120))), filename=f"现场{i}.png", content_type="image/png")
        for i in range(photos)
    ]
    data = inspections.InspectionInput(
        kind="supervision",
        segment_ids=[segment.id],
        inspected_at=datetime(2022, 5, 10, 2, 30, tzinfo=UTC),
        note="故障注入测试",
        findings=[
            inspections.FindingInput(
                item_code="LM03", quantity=2, segment_id=segment.id, note="裂缝未灌缝", photos=files
            )
        ],
    )
    return inspections.create_inspection(user, data, current_app.config["UPLOAD_DIR"])


@pytest.fixture
def inspecting(demo_app_with, tmp_path):
    inspections_module()
    app = demo_app_with(UPLOAD_DIR=str(tmp_path / "uploads"))
    make_user("city_office", username="fault-office")
    inspections_module().catalog_for(2022)  # the year's catalog exists before the faulty save
    return app


def assert_inspection_then_works(before):
    recorded = make_inspection()
    assert recorded.created
    after = committed_counts()
    assert after["inspection"] == before["inspection"] + 1 and after["finding"] == before["finding"] + 1
    assert after["inspection_photo"] == before["inspection_photo"] + 2
    assert len(files_under(current_app.config["UPLOAD_DIR"])) == 4  # two photos, two thumbnails


def test_inspection_save_failing_at_the_second_photo_leaves_nothing(inspecting, monkeypatch):
    inspections_module()
    from roadchief.services import uploads

    before = committed_counts()
    original = uploads.save_photo
    saved = []

    def second_fails(*args, **kwargs):
        if saved:
            raise InjectedFault("disk full at the second photo")
        saved.append(original(*args, **kwargs))
        return saved[-1]

    monkeypatch.setattr(uploads, "save_photo", second_fails)
    with pytest.raises(InjectedFault):
        make_inspection()
    assert len(saved) == 1  # one photo and its thumbnail had been stored …
    assert files_under(inspecting.config["UPLOAD_DIR"]) == {}  # … and were removed again
    assert committed_counts() == before
    monkeypatch.undo()
    assert_inspection_then_works(before)


def test_inspection_save_failing_in_the_database_leaves_nothing(inspecting, db_fault):
    before = committed_counts()
    hook = fail_on_insert("rectification")  # inspection, segment links and finding already inserted
    db_fault(hook)
    with pytest.raises(InjectedFault):
        make_inspection()
    assert committed_counts() == before
    assert files_under(inspecting.config["UPLOAD_DIR"]) == {}
    event.remove(db.engine, "before_cursor_execute", hook)
    assert_inspection_then_works(before)


# ---------------------------------------------------------------- two users at once


def at_once(app, *jobs):
    """Run each job in its own thread with its own app context (own session and connection),
    as two web requests would; return ("ok", value) or ("refused", message) or ("error", exc)."""
    results: list = [None] * len(jobs)

    def run(index, job):
        with app.app_context():
            try:
                results[index] = ("ok", job())
            except ServiceError as error:
                results[index] = ("refused", str(error))
            except Exception as error:
                results[index] = ("error", error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert all(r is not None for r in results), "a thread hung"
    return results


def hold_year_lock(monkeypatch, seconds: float = 0.6):
    """Keep whoever takes the year lock inside its transaction for a while, so the other
    thread surely arrives while the lock is held: the lock, not luck, must order them."""
    from roadchief.services import transactions

    original = transactions.lock_year

    def slow(year):
        original(year)
        time.sleep(seconds)

    for module in (funding_params, funding_quarter, settlement, scores):
        monkeypatch.setattr(module, "lock_year", slow)


def test_two_users_closing_the_same_quarter_one_wins(scored, monkeypatch):
    before = committed_counts()
    hold_year_lock(monkeypatch)

    def close_as(name):
        def job():
            with acting_as(Actor(name=name)):
                return close_quarter(2022, 1)["closed_by"]

        return job

    results = at_once(scored, close_as("财政甲"), close_as("财政乙"))
    outcomes = sorted(r[0] for r in results)
    assert outcomes == ["ok", "refused"], results
    winner = next(r[1] for r in results if r[0] == "ok")
    message = next(r[1] for r in results if r[0] == "refused")
    assert "已审定" in message  # the second waited for the lock, then found the quarter closed
    monkeypatch.undo()
    after = committed_counts()
    units = len(compute_quarter(2022, 1)["units"])
    assert after["quarter_close"] == before["quarter_close"] + 1
    assert after["ledger_entry"] == before["ledger_entry"] + 2 * units  # the loser posted nothing
    report = quarter_report(2022, 1)
    assert report["closed_by"] == winner and ledger(2022)["reconciles"] is True
    closes = db.session.scalars(select(QuarterClose)).all()
    assert [(c.year, c.quarter, c.closed_by) for c in closes] == [(2022, 1, winner)]


def test_closing_an_already_closed_quarter_is_refused_plainly(scored):
    close_quarter(2022, 1)
    before = committed_counts()
    results = at_once(scored, lambda: close_quarter(2022, 1), lambda: close_quarter(2022, 1))
    assert [r[0] for r in results] == ["refused", "refused"]
    assert all("已审定，不能重复审定" in r[1] for r in results)
    assert committed_counts() == before


def test_score_import_racing_a_quarter_close_one_wins(scored, tmp_path, monkeypatch):
    late = write_scores(tmp_path / "late.csv", 2022, 1, score="50")
    hold_year_lock(monkeypatch)
    scores_before = {s.unit_key: s.score_centi for s in db.session.scalars(select(QuarterScore))}
    end_of_request()
    results = at_once(scored, lambda: close_quarter(2022, 1)["status"], lambda: import_scores(late, replace=True))
    monkeypatch.undo()
    assert sorted(r[0] for r in results) == ["ok", "refused"], results
    closed = quarter_report(2022, 1)
    assert closed["status"] == "closed"
    assert {s.unit_key: s.score_centi for s in db.session.scalars(select(QuarterScore))} == scores_before


def test_two_score_imports_of_the_same_quarter_one_wins(demo_app, tmp_path, monkeypatch):
    first = write_scores(tmp_path / "a.csv", 2022, 1, score="90")
    second = write_scores(tmp_path / "b.csv", 2022, 1, score="80")
    end_of_request()
    hold_year_lock(monkeypatch)
    results = at_once(demo_app, lambda: import_scores(first), lambda: import_scores(second))
    assert sorted(r[0] for r in results) == ["ok", "refused"], results


def test_two_parameter_edits_of_the_same_year_one_wins(demo_app, monkeypatch):
    hold_year_lock(monkeypatch)
    # both edited the page showing revision 0 (the defaults)
    results = at_once(
        demo_app,
        lambda: set_params(2023, {"local_share": "0.65"}, based_on_revision=0),
        lambda: set_params(2023, {"local_share": "0.7"}, based_on_revision=0),
    )
    assert sorted(r[0] for r in results) == ["ok", "refused"], results
