"""The county map on a phone over 3G: real Chromium (Playwright), throttled through the DevTools
protocol as the field users' phones are (390×844, 300 ms latency, 200 KB/s down, CPU 4× slower).

    python benchmarks/phone_bench.py [--repeat 3] [--database-url URL]

For each case a fresh browser context (cold cache) signs in, then the cache is cleared and the
timer starts at navigation to the map; it stops when the roads are painted (the map's
`data-loads` attribute, set after drawing, and SVG paths on screen). A warm visit (same context,
cache kept) follows. Baseline, measured in the same run and throttled the same way: the cold
load of the sign-in page, the smallest page the app serves, so the ratio shows what the map adds
to a page load on the same link. Goals (#15): own roads < 2 s cold, county < 3 s cold.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "Bench-pass-1"
NETWORK = {"offline": False, "latency": 300, "downloadThroughput": 200 * 1024, "uploadThroughput": 100 * 1024}
GOALS = {"chief (own roads)": 2.0, "city office (county)": 3.0, "city office (province)": 5.0}


def serve(database_url: str | None, folder: Path):
    from waitress.server import create_server

    from benchmarks.map_bench import database
    from roadchief import create_app
    from roadchief.extensions import db
    from roadchief.services.accounts import create_user
    from roadchief.services.chiefs import AssignmentIndex
    from roadchief.services.database import migrate_to_head
    from roadchief.services.demo import load_demo_network

    url, drop = database(database_url, folder, "phone")  # a throwaway schema on PostgreSQL
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
    with app.app_context():
        migrate_to_head()
        load_demo_network()
        from sqlalchemy import select

        from roadchief.domain.clock import beijing_today
        from roadchief.models import Road, Segment

        create_user("bench-office", "city_office", PASSWORD)
        segment = db.session.scalars(select(Segment).join(Road).where(Road.road_class == "村道")).first()
        chief = next(c.chief for c in AssignmentIndex(beijing_today()).chiefs_for(segment) if c.position == "village")
        create_user("bench-chief", "chief", PASSWORD, chief_id=chief.id)
        db.session.commit()
        db.session.remove()
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server, drop


def serve_province(database_url: str | None, folder: Path, segments: int):
    """A synthetic province (benchmarks/province.py) through the real importer: its map draws tiles."""
    from waitress.server import create_server

    from benchmarks.map_bench import build, database

    url, drop = database(database_url, folder, "phoneprov")
    app, _seconds = build(url, "province", segments, folder)
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server, drop


def throttle(context, page):
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", NETWORK)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    return cdp


def new_phone(browser):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    page = context.new_page()
    return context, page, throttle(context, page)


def painted(page) -> None:
    """Roads on screen: SVG lines (GeoJSON) or, at province scale, every visible tile loaded."""
    page.wait_for_function(
        "() => { const m = document.getElementById('map');"
        " if (m.hasAttribute('data-road-tiles')) { return m.getAttribute('data-tiles') === 'loaded'; }"
        " return Number(m.getAttribute('data-loads') || 0) >= 1"
        " && document.querySelectorAll('.leaflet-overlay-pane path').length > 0; }",
        timeout=60000,
    )


def map_visit(browser, base: str, username: str, password: str = PASSWORD) -> tuple[float, float, int]:
    """Cold and warm seconds to roads painted, and bytes received on the cold visit."""
    context, page, cdp = new_phone(browser)
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)  # offices land on 总览, chiefs on the map
    page.goto(base + "/")
    painted(page)
    cdp.send("Network.clearBrowserCache")
    received = []
    page.on("response", lambda r: received.append(int(r.headers.get("content-length") or 0)))
    started = time.perf_counter()
    page.goto(base + "/")
    painted(page)
    cold = time.perf_counter() - started
    cold_bytes = sum(received)
    started = time.perf_counter()
    page.goto(base + "/")
    painted(page)
    warm = time.perf_counter() - started
    context.close()
    return cold, warm, cold_bytes


def login_page(browser, base: str) -> float:
    context, page, _cdp = new_phone(browser)
    started = time.perf_counter()
    page.goto(base + "/login", wait_until="load")
    seconds = time.perf_counter() - started
    context.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"))
    parser.add_argument(
        "--province", type=int, default=10_000, help="segments of the synthetic province (0: skip; #15 target: 60000)"
    )
    args = parser.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is not installed: pip install playwright")
        return
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing: apt-get install chromium")
        return
    with tempfile.TemporaryDirectory() as tmp:
        base, server, drop = serve(args.database_url, Path(tmp))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox"])
                baseline = statistics.median(login_page(browser, base) for _ in range(args.repeat))
                rows = []
                for label, user in (("chief (own roads)", "bench-chief"), ("city office (county)", "bench-office")):
                    runs = [map_visit(browser, base, user) for _ in range(args.repeat)]
                    cold = statistics.median(r[0] for r in runs)
                    warm = statistics.median(r[1] for r in runs)
                    rows.append((label, cold, warm, statistics.median(r[2] for r in runs)))
                if args.province:
                    os.environ.setdefault("ROADCHIEF_INSTANCE_DIR", str(Path(tmp) / "instance"))
                    pbase, pserver, pdrop = serve_province(args.database_url, Path(tmp), args.province)
                    try:
                        runs = [map_visit(browser, pbase, "bench", "Bench-pass-1") for _ in range(args.repeat)]
                    finally:
                        pserver.close()
                        pdrop()
                    cold = statistics.median(r[0] for r in runs)
                    warm = statistics.median(r[1] for r in runs)
                    label = "city office (province)"
                    rows.append((label, cold, warm, statistics.median(r[2] for r in runs)))
                browser.close()
        finally:
            server.close()
            if drop:
                drop()
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"Phone over 3G (390×844, 300 ms, 200 KB/s, CPU 4×), {database}, median of {args.repeat}")
    print(f"baseline: sign-in page cold {baseline:.2f} s")
    if args.province:
        print(f"province: {args.province} synthetic segments, vector tiles below zoom 13 (MAP_TILES_ABOVE)")
    print("| view | cold s | warm s | cold KB | cold / baseline | goal | met |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for label, cold, warm, size in rows:
        goal = GOALS[label]
        met = "yes" if cold < goal else "no"
        print(
            f"| {label} | {cold:.2f} | {warm:.2f} | {size / 1024:.0f} | {cold / baseline:.2f} | < {goal:.0f} s | {met} |"
        )


if __name__ == "__main__":
    main()
