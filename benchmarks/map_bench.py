"""Map data path benchmark: GET /api/v1/segments server time and bytes for the county
demo and a synthetic province, each compared with serialising the same features from
memory in the same run (the ratio is what to watch; absolute times vary by machine).

    python benchmarks/map_bench.py [--segments 60000] [--database-url URL] [--repeat 7]

Without --database-url each network goes into its own temporary SQLite file.
A PostgreSQL URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) gets a
throwaway schema per network, dropped afterwards.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.province import generate  # noqa: E402

# Viewports at zoom 13 around 小坝镇: a 360×740 phone screen covers about 0.03°×0.05°…0.09°×0.06°
# with margins; a 1280×800 desktop screen about 0.22°×0.11°.
PHONE_VIEW = (106.03, 37.99, 106.12, 38.05)
DESKTOP_VIEW = (105.96, 37.965, 106.18, 38.075)
COUNTY_VIEW = (105.80, 37.80, 106.35, 38.25)  # the demo network's extent, roughly
PHONE_VIEW_Z10 = (105.80, 37.78, 106.34, 38.30)  # a 390×844 phone at zoom 10 (≈ 0.54°×0.52°)


def database(base_url: str | None, folder: Path, name: str) -> tuple[str, callable]:
    if not base_url:
        return f"sqlite:///{folder / (name + '.db')}", lambda: None
    schema = f"bench_{name}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(base_url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop():
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()

    joiner = "&" if "?" in base_url else "?"
    return f"{base_url}{joiner}options=-csearch_path%3D{schema}", drop


def build(url: str, network: str, segments: int, folder: Path):
    from benchmarks.province import EXTENT
    from roadchief import create_app
    from roadchief.extensions import db
    from roadchief.services.accounts import create_user
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
    with app.app_context():
        migrate_to_head()
        started = time.perf_counter()
        if network == "county":
            from roadchief.services.demo import load_demo_network

            load_demo_network()
        else:
            from roadchief.services.admin_units import ensure_admin_units
            from roadchief.services.road_import import import_roads

            path = folder / "province.geojson"
            path.write_text(json.dumps(generate(segments, 7), ensure_ascii=False), encoding="utf-8")
            ensure_admin_units()
            import_roads(path, create_villages=True)
        load_seconds = time.perf_counter() - started
        create_user("bench", "city_office", "Bench-pass-1")
        db.session.remove()
    return app, load_seconds


def measure(app, query: str, repeat: int) -> dict:
    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": "Bench-pass-1"})
    timings = []
    bodies = app.extensions.get("roadchief_bodies")
    for _ in range(repeat):  # built each time: the cache of bodies per data version emptied first
        if bodies is not None:
            bodies.clear()
        started = time.perf_counter()
        response = client.get("/api/v1/segments" + query)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200, response.status_code
        bodies = app.extensions.get("roadchief_bodies")
    raw = response.data
    cached, revalidated = [], []
    for _ in range(repeat):  # the same data version: the cached body, then the 304 of a client holding it
        started = time.perf_counter()
        again = client.get("/api/v1/segments" + query)
        cached.append(time.perf_counter() - started)
        started = time.perf_counter()
        unchanged = client.get("/api/v1/segments" + query, headers={"If-None-Match": again.headers["ETag"]})
        revalidated.append(time.perf_counter() - started)
        assert unchanged.status_code == 304, unchanged.status_code
    features = json.loads(raw)["features"]
    service = []  # the data path alone: SQL + assembling the text, without Flask's per-request work
    from urllib.parse import parse_qs

    from roadchief.extensions import db
    from roadchief.models import User
    from roadchief.services.map_data import segments_geojson_text

    params = {k: v[0] for k, v in parse_qs(query.lstrip("?")).items()}
    bbox = tuple(map(float, params["bbox"].split(","))) if "bbox" in params else None
    user = db.session.query(User).filter_by(username="bench").one()
    for _ in range(repeat):
        started = time.perf_counter()
        segments_geojson_text(user, bbox=bbox, zoom=int(params.get("zoom", 12)))
        service.append(time.perf_counter() - started)
    baseline = []
    for _ in range(repeat):  # the same features serialised from memory
        started = time.perf_counter()
        json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":"))
        baseline.append(time.perf_counter() - started)
    server = statistics.median(timings)
    memory = statistics.median(baseline)
    return {
        "features": len(features),
        "server_ms": server * 1000,
        "cached_ms": statistics.median(cached) * 1000,
        "not_modified_ms": statistics.median(revalidated) * 1000,
        "memory_ms": memory * 1000,
        "service_ms": statistics.median(service) * 1000,
        "ratio": server / memory if memory else float("nan"),
        "raw_kb": len(raw) / 1024,
        "gzip_kb": len(gzip.compress(raw, 6)) / 1024,
    }


def view_tiles(z: int, bbox) -> list[tuple[int, int]]:
    from roadchief.domain.tiles import tile_for

    x0, y0 = tile_for(bbox[0], bbox[3], z)
    x1, y1 = tile_for(bbox[2], bbox[1], z)
    return [(x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def measure_tiles(app, z: int, bbox, repeat: int) -> dict:
    """The vector tiles of one view (`GET /api/v1/tiles/roads/z/x/y.mvt`): each built cold (cache
    emptied), then cached, then 304; bytes as sent (gzip) against the GeoJSON of the same roads."""
    import mapbox_vector_tile

    from roadchief.services.road_tiles import builder

    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": "Bench-pass-1"})
    wanted = view_tiles(z, bbox)
    cold, cached, revalidated, sent, raw, features, segments = [], [], [], 0, 0, 0, set()
    for _ in range(max(1, repeat // 2)):
        app.extensions.get("roadchief_tiles", None) and app.extensions["roadchief_tiles"].clear()
        started = time.perf_counter()
        bodies = [
            client.get(f"/api/v1/tiles/roads/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"}) for x, y in wanted
        ]
        cold.append(time.perf_counter() - started)
    for response in bodies:
        assert response.status_code == 200, response.status_code
        sent += len(response.data)
        body = gzip.decompress(response.data) if response.headers.get("Content-Encoding") == "gzip" else response.data
        raw += len(body)
        drawn = mapbox_vector_tile.decode(body).get("roads", {}).get("features", []) if body else []
        features += len(drawn)  # a merged overview feature stands for many segments and has no id
        segments |= {f["id"] for f in drawn if f.get("id")}
    for _ in range(repeat):
        started = time.perf_counter()
        again = [
            client.get(f"/api/v1/tiles/roads/{z}/{x}/{y}.mvt", headers={"Accept-Encoding": "gzip"}) for x, y in wanted
        ]
        cached.append(time.perf_counter() - started)
        started = time.perf_counter()
        for response, (x, y) in zip(again, wanted, strict=True):
            unchanged = client.get(
                f"/api/v1/tiles/roads/{z}/{x}/{y}.mvt", headers={"If-None-Match": response.headers["ETag"]}
            )
            assert unchanged.status_code == 304
        revalidated.append(time.perf_counter() - started)
    with app.app_context():
        how = builder()
    return {
        "tiles": len(wanted),
        "features": features,
        "segments": len(segments),
        "cold_ms": statistics.median(cold) * 1000,
        "cached_ms": statistics.median(cached) * 1000,
        "not_modified_ms": statistics.median(revalidated) * 1000,
        "raw_kb": raw / 1024,
        "gzip_kb": sent / 1024,
        "builder": how,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--segments", type=int, default=60_000)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    box = lambda b: "bbox=" + ",".join(map(str, b))  # noqa: E731
    cases = [
        ("county", "full extent, zoom 10", "?zoom=10"),
        ("county", "phone view, zoom 13", f"?zoom=13&{box(PHONE_VIEW)}"),
        ("county", "desktop view, zoom 13", f"?zoom=13&{box(DESKTOP_VIEW)}"),
        ("province", "full extent, zoom 7", "?zoom=7"),
        ("province", "phone view, zoom 13", f"?zoom=13&{box(PHONE_VIEW)}"),
        ("province", "desktop view, zoom 13", f"?zoom=13&{box(DESKTOP_VIEW)}"),
    ]
    with tempfile.TemporaryDirectory(prefix="roadchief-bench-") as tmp:
        folder = Path(tmp)
        os.environ.setdefault("ROADCHIEF_INSTANCE_DIR", str(folder / "instance"))
        os.environ.setdefault("ROADCHIEF_SECRET_KEY", "bench")
        apps, cleanups = {}, []
        for network in ("county", "province"):
            url, drop = database(args.database_url, folder, network)
            cleanups.append(drop)
            apps[network], seconds = build(url, network, args.segments, folder)
            print(f"{network}: loaded in {seconds:.1f} s ({url.split('?')[0].split('://')[0]})")
        print(
            f"\n{'network':<9}{'request':<24}{'features':>9}{'server ms':>11}{'data ms':>9}{'memory ms':>11}"
            f"{'ratio':>7}{'data/mem':>9}{'cached ms':>11}{'304 ms':>8}{'raw KB':>9}{'gzip KB':>9}"
        )
        for network, label, query in cases:
            with apps[network].app_context():
                r = measure(apps[network], query, args.repeat)
            print(
                f"{network:<9}{label:<24}{r['features']:>9}{r['server_ms']:>11.2f}{r['service_ms']:>9.2f}{r['memory_ms']:>11.2f}"
                f"{r['ratio']:>7.2f}{r['service_ms'] / r['memory_ms']:>9.2f}{r['cached_ms']:>11.2f}"
                f"{r['not_modified_ms']:>8.2f}{r['raw_kb']:>9.0f}{r['gzip_kb']:>9.0f}"
            )
        # the province overview as the map draws it: vector tiles instead of one GeoJSON body
        geojson = {}
        for network, _label, query in cases:
            if query.startswith(("?zoom=7", "?zoom=10")):
                with apps[network].app_context():
                    geojson[network] = measure(apps[network], query, 1)
        from benchmarks.province import EXTENT

        tile_cases = [
            ("county", "whole county, zoom 10", 10, COUNTY_VIEW),
            ("province", "whole province, zoom 7", 7, EXTENT),
            ("province", "phone view, zoom 10", 10, PHONE_VIEW_Z10),
        ]
        print(
            f"\n{'network':<9}{'tiles for':<24}{'tiles':>6}{'features':>9}{'segments':>9}{'cold ms':>9}{'cached ms':>10}{'304 ms':>8}"
            f"{'raw KB':>8}{'gzip KB':>8}{'GeoJSON gzip KB':>16}{'ratio':>7}  builder"
        )
        for network, label, z, bbox in tile_cases:
            with apps[network].app_context():
                r = measure_tiles(apps[network], z, bbox, args.repeat)
            whole = geojson[network]["gzip_kb"]
            print(
                f"{network:<9}{label:<24}{r['tiles']:>6}{r['features']:>9}{r['segments']:>9}{r['cold_ms']:>9.1f}{r['cached_ms']:>10.2f}"
                f"{r['not_modified_ms']:>8.2f}{r['raw_kb']:>8.0f}{r['gzip_kb']:>8.0f}{whole:>16.0f}"
                f"{r['gzip_kb'] / whole:>7.2f}  {r['builder']}"
            )
        print("(ratio = the view's tiles as sent ÷ the whole network's GeoJSON as sent; GeoJSON at zoom 7/10;")
        print(" features: summed over the view's tiles; segments: distinct ids, none in a merged overview)")
        for drop in cleanups:
            drop()


if __name__ == "__main__":
    main()
