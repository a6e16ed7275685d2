"""Funding benchmark: the annual plan (年度养护经费计划), a quarter's disbursement and the
quarterly PDF of all paid units on a synthetic province, each compared with a baseline
measured in the same run — a plain ``SELECT count(*) FROM segment`` plus fetching every
segment's listed metres and summing them in Python (what any per-segment computation costs
at least). Also ``roadchief --help`` against ``python -c "import click"``.

    python benchmarks/funding_bench.py [--segments 60000] [--database-url URL] [--repeat 5]
                                       [--keep NAME]

Without --database-url the province goes into a temporary SQLite file. A PostgreSQL URL
(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) gets a throwaway schema, dropped
afterwards. ``--keep NAME`` keeps the database (SQLite file /tmp/NAME.db, or PostgreSQL schema
NAME) and reuses it on the next run, so the slow import is done once when comparing code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, event, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.map_bench import database  # noqa: E402
from benchmarks.province import EXTENT, generate  # noqa: E402

TARGETS = {"annual_plan": 200.0, "quarter_pdf": 1500.0, "help": 1000.0}


def _kept(base_url: str | None, name: str) -> tuple[str, bool]:
    if not base_url:
        path = Path(tempfile.gettempdir()) / f"{name}.db"
        return f"sqlite:///{path}", path.exists()
    engine = create_engine(base_url)
    with engine.begin() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    joiner = "&" if "?" in base_url else "?"
    return f"{base_url}{joiner}options=-csearch_path%3D{name}", bool(exists)


def build(url: str, segments: int, folder: Path, ready: bool):
    from roadchief import create_app
    from roadchief.services.database import migrate_to_head

    # the synthetic province is far larger than 青铜峡市: tell the importer's county check so
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "COUNTY_BBOX": ",".join(map(str, EXTENT)),
        }
    )
    seconds = 0.0
    if not ready:
        from roadchief.extensions import db
        from roadchief.services.admin_units import ensure_admin_units
        from roadchief.services.road_import import import_roads

        with app.app_context():
            migrate_to_head()
            started = time.perf_counter()
            path = folder / "province.geojson"
            path.write_text(json.dumps(generate(segments, 7), ensure_ascii=False), encoding="utf-8")
            ensure_admin_units()
            import_roads(path, create_villages=True)
            seconds = time.perf_counter() - started
            db.session.remove()
    return app, seconds


def timed(fn, repeat: int) -> tuple[float, object]:
    """Median milliseconds over ``repeat`` runs, and the last result."""
    timings, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings) * 1000, result


class QueryCount:
    def __init__(self, engine):
        self.engine, self.count = engine, 0

    def _on(self, *args, **kwargs):
        self.count += 1

    def __enter__(self):
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._on)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._on)


def measure(app, repeat: int) -> dict:
    from roadchief.extensions import db
    from roadchief.models import MileageVersion
    from roadchief.reports.funding_pdf import quarter_pdf
    from roadchief.services.funding_plan import annual_plan
    from roadchief.services.funding_quarter import compute_quarter, quarter_report

    with app.app_context():
        year = db.session.scalar(text("SELECT max(effective_from) FROM mileage_version"))
        year = int(str(year)[:4]) if year else db.session.query(MileageVersion).first().effective_from.year

        def baseline():
            count = db.session.execute(text("SELECT count(*) FROM segment")).scalar_one()
            total = sum(m for (m,) in db.session.execute(text("SELECT listed_m FROM segment")))
            return count, total

        out = {"year": year}
        out["baseline_ms"], (out["segments"], _) = timed(baseline, repeat)
        out["annual_plan_ms"], plan = timed(lambda: annual_plan(year), repeat)
        out["units_plan"] = sum(1 + len(t["villages"]) for t in plan["towns"])
        out["compute_quarter_ms"], report = timed(lambda: compute_quarter(year, 1), repeat)
        out["units"] = len(report["units"])
        out["quarter_pdf_ms"], pdf = timed(lambda: quarter_pdf(quarter_report(year, 1)), max(3, repeat // 2))
        out["pdf_kb"] = len(pdf) / 1024
        with QueryCount(db.engine) as counted:
            compute_quarter(year, 1)
        out["quarter_queries"] = counted.count
        db.session.remove()
    return out


def cli_help(repeat: int) -> tuple[float, float]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def run(args):
        return lambda: subprocess.run([sys.executable, *args], env=env, check=True, capture_output=True)

    help_ms, _ = timed(
        run(["-c", "import sys; from roadchief.cli import main; sys.argv[0]='roadchief'; main()", "--help"]), repeat
    )
    click_ms, _ = timed(run(["-c", "import click"]), repeat)
    return help_ms, click_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=60_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", help="keep and reuse the database (SQLite /tmp/NAME.db or PostgreSQL schema NAME)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roadchief-bench-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("ROADCHIEF_INSTANCE_DIR", str(folder / "instance"))
        os.environ.setdefault("ROADCHIEF_SECRET_KEY", "bench")
        if args.keep:
            (url, ready), drop = _kept(args.database_url, args.keep), (lambda: None)
        else:
            (url, drop), ready = database(args.database_url, folder, "funding"), False
        app, seconds = build(url, args.segments, folder, ready)
        kind = url.split("://")[0]
        print(f"province: {'reused' if ready else f'imported in {seconds:.1f} s'} ({kind})")
        r = measure(app, args.repeat)
        base = r["baseline_ms"]
        print(
            f"year {r['year']}: {r['segments']} segments, {r['units_plan']} plan units, {r['units']} paid units; "
            f"compute_quarter ran {r['quarter_queries']} SQL statements; PDF {r['pdf_kb']:.0f} KB"
        )
        print(f"\n{'what':<32}{'ms':>10}{'× baseline':>12}{'target ms':>11}")
        print(f"{'baseline (count + sum listed_m)':<32}{base:>10.1f}{1:>12.2f}{'':>11}")
        for key, label in (
            ("annual_plan", "annual_plan"),
            ("compute_quarter", "compute_quarter"),
            ("quarter_pdf", "quarter report + PDF"),
        ):
            ms = r[f"{key}_ms"]
            target = TARGETS.get(key)
            print(f"{label:<32}{ms:>10.1f}{ms / base:>12.2f}{(f'{target:.0f}' if target else ''):>11}")
        help_ms, click_ms = cli_help(args.repeat)
        print(f"{'roadchief --help':<32}{help_ms:>10.1f}{help_ms / click_ms:>12.2f}{TARGETS['help']:>11.0f}")
        print(f"{'  baseline python -c import click':<32}{click_ms:>10.1f}{1:>12.2f}{'':>11}")
        drop()


if __name__ == "__main__":
    main()
