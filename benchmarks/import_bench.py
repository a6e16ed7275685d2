"""Road import benchmark: the synthetic province (``province.py``) through the real importer,
compared with a raw pyogrio read of the same file in the same run (the ratio is what to watch).

    python benchmarks/import_bench.py [--segments 60000] [--database-url URL] [--profile]

Prints the raw read (baseline), a dry run (reading + every check, nothing written), the full
import into an empty register, and each as a ratio to the baseline. Without --database-url the
import goes into a temporary SQLite file; a PostgreSQL URL gets a throwaway schema, dropped
afterwards. ``--profile`` prints the cProfile hot spots of the full import.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.map_bench import database  # noqa: E402
from benchmarks.province import EXTENT, generate  # noqa: E402


def raw_read(path: Path) -> float:
    import pyogrio

    started = time.perf_counter()
    pyogrio.read_dataframe(str(path), use_arrow=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=60_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="roadchief-import-bench-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("ROADCHIEF_INSTANCE_DIR", str(folder / "instance"))
        os.environ.setdefault("ROADCHIEF_SECRET_KEY", "bench")
        path = folder / "province.geojson"
        path.write_text(json.dumps(generate(args.segments, 7), ensure_ascii=False), encoding="utf-8")
        url, drop = database(args.database_url, folder, "import")
        from roadchief import create_app
        from roadchief.extensions import db
        from roadchief.services.admin_units import ensure_admin_units
        from roadchief.services.database import migrate_to_head
        from roadchief.services.road_import import import_roads

        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "WTF_CSRF_ENABLED": False,
                "RATELIMIT_ENABLED": False,
                "COUNTY_BBOX": ",".join(map(str, EXTENT)),  # the province is far larger than 青铜峡市
            }
        )
        try:
            with app.app_context():
                migrate_to_head()
                ensure_admin_units()
                db.session.commit()
                raw_read(path)  # warm GDAL and the imports
                # The best of three: one read swings by half on a shared machine, and a low
                # baseline only makes the ratios stricter.
                baseline = min(raw_read(path) for _ in range(3))
                started = time.perf_counter()
                import_roads(path, create_villages=True, dry_run=True)
                dry = time.perf_counter() - started
                profiler = None
                if args.profile:
                    import cProfile

                    profiler = cProfile.Profile()
                    profiler.enable()
                started = time.perf_counter()
                report = import_roads(path, create_villages=True)
                full = time.perf_counter() - started
                if profiler:
                    import pstats

                    profiler.disable()
                    pstats.Stats(profiler).sort_stats(os.environ.get("BENCH_PROFILE_SORT", "cumulative")).print_stats(
                        int(os.environ.get("BENCH_PROFILE_LINES", "40"))
                    )
                db.session.remove()
        finally:
            drop()
        kind = url.split("://")[0]
        print(f"{args.segments} segments, {kind}: created {report.created}, roads {report.roads_created}")
        print(f"{'step':<22}{'seconds':>9}{'× raw read':>12}")
        for label, seconds in (("raw pyogrio read", baseline), ("dry run (checks)", dry), ("full import", full)):
            print(f"{label:<22}{seconds:>9.2f}{seconds / baseline:>12.1f}")


if __name__ == "__main__":
    main()
