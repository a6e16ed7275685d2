"""Load benchmark: the app under gunicorn (gthread workers) on 127.0.0.1 against
PostgreSQL, driven by a fixed number of requests at bounded concurrency, then an
integrity check of everything the API accepted.

    python benchmarks/load.py [--database-url URL] [--submissions 400] [--map-requests 1600]
                              [--post-only 400] [--paced 600] [--post-rate 60] [--concurrency 16] [--workers 4] [--threads 4]
                              [--time-limit 600]

1. A throwaway schema (``?options=-csearch_path%3D<schema>``) is created in the database,
   migrated and loaded with the demo network; an office user (city_office) and a bearer
   token are created. The schema is dropped at the end, whatever happens.
2. gunicorn serves ``roadchief:create_app()`` on 127.0.0.1 (a free port).
3. Phases, each at the same concurrency (asyncio + httpx, one connection pool of that size):
   - warm-up (not measured), then a serial probe at concurrency 1 (100 baseline requests,
     50 map viewports, 20 submissions — also integrity-checked): each type's service time
     without queueing, for reading the loaded figures;
   - **baseline**: ``GET /api/v1/network/summary`` — a trivial authenticated endpoint;
   - **mixed load**: N inspection submissions through ``POST /api/v1/inspections`` (each
     with its own client-generated ``client_uuid``; 5 % are sent a second time with the
     same uuid, some of them at the same moment as the first; a few deliberately invalid
     submissions whose last finding names an unknown item, which must be refused whole)
     shuffled with M map requests ``GET /api/v1/segments?bbox=…&zoom=13``;
   - **post-only**: ``--post-only`` new valid submissions and nothing else (issue #15 point 4
     is about the POST itself; in the mixed phase the map requests bound it);
   - **paced**: ``--paced`` new valid submissions offered at ``--post-rate`` per second (60:
     the target), open loop — each leaves when due, whatever the earlier ones are doing, and
     its latency counts from when it was due — so "60/s with p95 < 300 ms" is read directly.
   Prints throughput, p50/p95/p99 per request type, the error count, and each type's
   p50 as a ratio to the baseline's p50.
4. Integrity check straight in the database: every accepted submission (201/200 with an
   id) is stored exactly once under its uuid and with the id the API returned, each has
   its segment rows, its findings and a rectification per finding as sent (no
   half-written inspection), a repeated uuid returned the same id, and nothing refused
   (or never answered) exists. Prints ``INTEGRITY: PASS`` or ``INTEGRITY: FAIL``.

Every request goes to 127.0.0.1 only; counts are fixed and the whole run has a hard time
limit (``--time-limit``). Nothing here asserts a time: figures print.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
HOST = "127.0.0.1"
VIEWPORT = (0.11, 0.07)  # degrees lon × lat of a 1280×800 screen at zoom 13 near 38°N
SEED = 20221


# ---------------------------------------------------------------- setup


def with_schema(url: str, schema: str) -> str:
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}options=-csearch_path%3D{schema}"


def prepare(url: str, upload_dir: Path) -> dict:
    """Migrate, load the demo, create the office user and token; what the load needs."""
    from datetime import date

    from sqlalchemy import select

    from roadchief import create_app
    from roadchief.domain.scoring import OVERDUE_CODE
    from roadchief.extensions import db
    from roadchief.models import Segment
    from roadchief.services.accounts import create_token, create_user
    from roadchief.services.database import migrate_to_head
    from roadchief.services.deduction_catalog import catalog_for
    from roadchief.services.demo import load_demo_network

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False, "UPLOAD_DIR": str(upload_dir)})
    with app.app_context():
        migrate_to_head()
        load_demo_network()
        user = create_user("load-office", "city_office", "Load-pass-123", display_name="压测督查员")
        token = create_token(user.username, label="load benchmark")
        segments = db.session.execute(
            select(Segment.id, Segment.min_lon, Segment.min_lat, Segment.max_lon, Segment.max_lat).order_by(Segment.id)
        ).all()
        items = [
            i.code for i in catalog_for(date.today().year).items if i.code != OVERDUE_CODE and i.unit in ("处", "次")
        ]
        info = {"user_id": user.id, "token": token, "segments": [tuple(s) for s in segments], "items": items}
        db.session.remove()
        db.engine.dispose()
    return info


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int, threads: int, folder: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "ROADCHIEF_DATABASE_URL": url,
        "ROADCHIEF_SECRET_KEY": "load-benchmark",
        "ROADCHIEF_INSTANCE_DIR": str(folder / "instance"),
        "ROADCHIEF_UPLOAD_DIR": str(folder / "uploads"),
        "ROADCHIEF_REPORTS_DIR": str(folder / "reports"),
        "ROADCHIEF_TILE_URL": "",
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        "--timeout",
        "60",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
        "roadchief:create_app()",
    ]
    log = open(folder / "gunicorn.log", "wb")
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def wait_ready(port: int, process: subprocess.Popen, limit: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            if httpx.get(f"http://{HOST}:{port}/login", timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within the start-up limit")


def stop(process: subprocess.Popen | None) -> None:
    """Stop the gunicorn we started (its own process group: the arbiter and its workers)."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=5)


# ---------------------------------------------------------------- the workload


@dataclass
class Submission:
    client_uuid: str
    body: dict
    valid: bool
    responses: list = field(default_factory=list)  # (status, id or None)


@dataclass
class Job:
    kind: str  # "submit", "map", "summary"
    path: str
    submission: Submission | None = None


def make_submissions(
    count: int, invalid: int, info: dict, rng: random.Random, prefix: str = "压测"
) -> list[Submission]:
    ids = [s[0] for s in info["segments"]]
    items = info["items"]
    out = []
    for number in range(count + invalid):
        chosen = rng.sample(ids, rng.choice((1, 1, 2, 3)))
        findings = [
            {
                "item": rng.choice(items),
                "quantity": rng.randint(1, 4),
                "segment_id": rng.choice(chosen),
                "note": f"{prefix}问题 {number}-{n}",
            }
            for n in range(rng.choice((0, 1, 2, 2, 3)))
        ]
        valid = number < count
        if not valid:  # refused at the last finding, after the inspection and its rows were built
            findings.append({"item": "ZZ99", "quantity": 1, "segment_id": chosen[0], "note": "不存在的扣分项"})
        client_uuid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        body = {
            "client_uuid": client_uuid,
            "kind": rng.choice(("supervision", "supervision", "daily")),
            "segment_ids": chosen,
            "note": f"{prefix} {number}",
            "findings": findings,
        }
        out.append(Submission(client_uuid, body, valid))
    return out


def map_paths(count: int, info: dict, rng: random.Random) -> list[str]:
    paths = []
    for _ in range(count):
        _id, x0, y0, x1, y1 = rng.choice(info["segments"])
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        w, h = VIEWPORT
        paths.append(
            f"/api/v1/segments?bbox={cx - w / 2:.5f},{cy - h / 2:.5f},{cx + w / 2:.5f},{cy + h / 2:.5f}&zoom=13"
        )
    return paths


async def _send(client, job: Job, latencies: dict, errors: dict, since: float | None = None) -> None:
    """One request; its latency (from ``since``, default now) and any error recorded."""
    import httpx

    started = time.perf_counter() if since is None else since
    try:
        if job.kind == "submit":
            response = await client.post(job.path, json=job.submission.body)
        else:
            response = await client.get(job.path)
        await response.aread()
    except httpx.HTTPError as error:
        errors[f"{job.kind}: {type(error).__name__}"] += 1
        if job.submission:
            job.submission.responses.append((None, None))
        return
    latencies[job.kind].append(time.perf_counter() - started)
    if job.kind == "submit":
        sub = job.submission
        ident = None
        if response.status_code in (200, 201):
            try:
                ident = response.json().get("id")
            except ValueError:
                ident = None
        sub.responses.append((response.status_code, ident))
        expected = (200, 201) if sub.valid else (400,)
        if response.status_code not in expected:
            errors[f"submit: HTTP {response.status_code}"] += 1
    elif response.status_code != 200:
        errors[f"{job.kind}: HTTP {response.status_code}"] += 1


async def run_jobs(client, jobs: list[Job], concurrency: int, deadline: float) -> tuple[dict, float, int]:
    """Run the jobs at the given concurrency; latency lists per kind, wall time, errors."""
    latencies: dict[str, list[float]] = defaultdict(list)
    errors = defaultdict(int)
    queue: asyncio.Queue = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)

    async def worker():
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await _send(client, job, latencies, errors)

    started = time.perf_counter()
    tasks = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=max(1.0, deadline - time.monotonic()))
    except TimeoutError:
        errors["time limit reached: jobs not run"] += queue.qsize()
    return latencies, time.perf_counter() - started, errors


async def run_paced(client, jobs: list[Job], rate: float, deadline: float) -> tuple[dict, float, int]:
    """Send the jobs at a fixed arrival rate (open loop: the n-th leaves at n / rate seconds,
    whether or not earlier ones have been answered), each latency counted from the moment it
    was due, so a server falling behind shows as latency rather than as a slower sender
    (no "coordinated omission"). Latency lists per kind, wall time, errors."""
    latencies: dict[str, list[float]] = defaultdict(list)
    errors = defaultdict(int)
    started = time.perf_counter()

    async def one(job: Job, due: float) -> None:
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        await _send(client, job, latencies, errors, since=due)

    tasks = [asyncio.create_task(one(job, started + n / rate)) for n, job in enumerate(jobs)]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=max(1.0, deadline - time.monotonic()))
    except TimeoutError:
        errors["time limit reached: jobs not answered"] += sum(not t.done() for t in tasks)
    return latencies, time.perf_counter() - started, errors


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))  # nearest rank
    return ordered[rank]


def report(title: str, latencies: dict, wall: float, errors: dict, baseline_p50: float | None) -> None:
    total = sum(len(v) for v in latencies.values())
    print(
        f"\n{title}: {total} answered requests in {wall:.2f} s = {total / wall:.1f} req/s; "
        f"errors: {sum(errors.values())}" + (f" {dict(errors)}" if errors else "")
    )
    print(
        f"  {'type':<10} {'count':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}"
        + ("  p50/base" if baseline_p50 else "")
    )
    for kind in sorted(latencies):
        values = latencies[kind]
        p50 = statistics.median(values)
        line = (
            f"  {kind:<10} {len(values):>6} {len(values) / wall:>7.1f} {p50 * 1e3:>8.1f} "
            f"{percentile(values, 95) * 1e3:>8.1f} {percentile(values, 99) * 1e3:>8.1f} {max(values) * 1e3:>8.1f}"
        )
        if baseline_p50:
            line += f"  {p50 / baseline_p50:>8.2f}"
        print(line)


def submit_summary(posts: list[float], wall: float, base: list[float], base_wall: float, phase: str = "") -> None:
    """Issue #15 point 4 in one line: a phase's inspection POSTs per second and p95, each beside
    the trivial baseline's in the same run (the machine's load moves both alike). The mixed
    phase's line keeps its old text (other tools read it); ``phase`` names any other."""
    if not posts or not base:
        return
    rate, base_rate = len(posts) / wall, len(base) / base_wall
    p95, base_p95 = percentile(posts, 95), percentile(base, 95)
    print(
        f"  inspection POST{phase} (#15 point 4: >= 60/s, p95 < 300 ms): {rate:.1f}/s = {rate / base_rate:.2f} x baseline "
        f"{base_rate:.1f} req/s; p95 {p95 * 1e3:.1f} ms = {p95 / base_p95:.2f} x baseline p95 {base_p95 * 1e3:.1f} ms"
    )


# ---------------------------------------------------------------- integrity


def check_integrity(url: str, user_id: int, submissions: list[Submission]) -> list[str]:
    problems: list[str] = []
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, client_uuid FROM inspection WHERE user_id = :u"), {"u": user_id}).all()
        by_uuid: dict[str, list[int]] = defaultdict(list)
        for ident, client_uuid in rows:
            by_uuid[client_uuid].append(ident)
        segs = dict(
            conn.execute(
                text(
                    "SELECT i.id, count(s.id) FROM inspection i LEFT JOIN inspection_segment s ON s.inspection_id = i.id "
                    "WHERE i.user_id = :u GROUP BY i.id"
                ),
                {"u": user_id},
            ).all()
        )
        finds = dict(
            conn.execute(
                text(
                    "SELECT i.id, count(f.id) FROM inspection i LEFT JOIN finding f ON f.inspection_id = i.id "
                    "WHERE i.user_id = :u GROUP BY i.id"
                ),
                {"u": user_id},
            ).all()
        )
        rects = dict(
            conn.execute(
                text(
                    "SELECT i.id, count(r.id) FROM inspection i JOIN finding f ON f.inspection_id = i.id "
                    "LEFT JOIN rectification r ON r.finding_id = f.id WHERE i.user_id = :u GROUP BY i.id"
                ),
                {"u": user_id},
            ).all()
        )
    engine.dispose()

    accepted: set[str] = set()
    for sub in submissions:
        ids = {ident for status, ident in sub.responses if status in (200, 201) and ident is not None}
        created = sum(1 for status, _ in sub.responses if status == 201)
        stored = by_uuid.get(sub.client_uuid, [])
        if ids:
            accepted.add(sub.client_uuid)
            if not sub.valid:
                problems.append(f"{sub.client_uuid}: an invalid submission was accepted")
            if len(ids) > 1:
                problems.append(f"{sub.client_uuid}: repeated sends answered different ids {sorted(ids)}")
            if len(stored) != 1:
                problems.append(f"{sub.client_uuid}: accepted, stored {len(stored)} times")
                continue
            if stored[0] not in ids:
                problems.append(f"{sub.client_uuid}: stored as {stored[0]}, the API said {sorted(ids)}")
            if created != 1:
                problems.append(f"{sub.client_uuid}: {created} responses said 201 Created (expected exactly one)")
            ident = stored[0]
            if segs.get(ident, 0) != len(sub.body["segment_ids"]):
                problems.append(
                    f"inspection {ident}: {segs.get(ident, 0)} segment rows, sent {len(sub.body['segment_ids'])}"
                )
            if finds.get(ident, 0) != len(sub.body["findings"]):
                problems.append(f"inspection {ident}: {finds.get(ident, 0)} findings, sent {len(sub.body['findings'])}")
            if sub.body["findings"] and rects.get(ident, 0) != len(sub.body["findings"]):
                problems.append(
                    f"inspection {ident}: {rects.get(ident, 0)} rectifications for {len(sub.body['findings'])} findings"
                )
        elif stored:
            answers = [status for status, _ in sub.responses]
            problems.append(f"{sub.client_uuid}: not accepted (answers {answers}) but stored as {stored}")
    strays = set(by_uuid) - {s.client_uuid for s in submissions}
    if strays:
        problems.append(f"{len(strays)} inspections of the load user were never submitted")
    print(
        f"\nintegrity: {len(accepted)} accepted submissions, {len(rows)} stored inspections of the load user, "
        f"{sum(1 for s in submissions if len(s.responses) > 1)} sent twice, "
        f"{sum(1 for s in submissions if not s.valid)} invalid (all must be refused)"
    )
    return problems


# ---------------------------------------------------------------- main


async def drive(args, port: int, info: dict, rng: random.Random, deadline: float):
    import httpx

    headers = {"Authorization": f"Bearer {info['token']}", "Accept": "application/json", "Accept-Encoding": "gzip"}
    limits = httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://{HOST}:{port}", headers=headers, limits=limits, timeout=httpx.Timeout(30.0), trust_env=False
    ) as client:
        # warm-up: every worker process imports, connects and fills its caches
        warm = [Job("summary", "/api/v1/network/summary") for _ in range(4 * args.concurrency)]
        warm += [Job("map", p) for p in map_paths(4 * args.concurrency, info, rng)]
        await run_jobs(client, warm, args.concurrency, deadline)

        probes = make_submissions(20, 0, info, rng, prefix="单发")
        serial_jobs = [Job("summary", "/api/v1/network/summary") for _ in range(100)]
        serial_jobs += [Job("map", p) for p in map_paths(50, info, rng)]
        serial_jobs += [Job("submit", "/api/v1/inspections", s) for s in probes]
        serial, serial_wall, serial_err = await run_jobs(client, serial_jobs, 1, deadline)
        serial_p50 = statistics.median(serial["summary"]) if serial.get("summary") else None
        report(
            "serial probe (concurrency 1: service time without queueing)", serial, serial_wall, serial_err, serial_p50
        )

        base_lat, base_wall, base_err = await run_jobs(
            client,
            [Job("summary", "/api/v1/network/summary") for _ in range(args.baseline_requests)],
            args.concurrency,
            deadline,
        )
        baseline_p50 = statistics.median(base_lat["summary"]) if base_lat.get("summary") else None
        report("baseline (GET /api/v1/network/summary)", base_lat, base_wall, base_err, baseline_p50)

        submissions = make_submissions(args.submissions, args.invalid, info, rng)
        jobs = [Job("submit", "/api/v1/inspections", s) for s in submissions]
        jobs += [Job("map", p) for p in map_paths(args.map_requests, info, rng)]
        rng.shuffle(jobs)
        valid = [s for s in submissions if s.valid]
        twice = rng.sample(valid, max(1, round(len(valid) * args.duplicate_rate)))
        for number, sub in enumerate(twice):
            position = next(i for i, j in enumerate(jobs) if j.submission is sub)
            # half of the repeats right behind the first send (they race it), half much later
            offset = 1 if number % 2 == 0 else rng.randint(len(jobs) // 4, len(jobs) // 2)
            jobs.insert(min(len(jobs), position + offset), Job("submit", "/api/v1/inspections", sub))
        mixed_lat, mixed_wall, mixed_err = await run_jobs(client, jobs, args.concurrency, deadline)
        report(
            f"mixed load ({len(jobs)} requests: {len(submissions)} submissions + {len(twice)} repeats, "
            f"{args.map_requests} map viewports)",
            mixed_lat,
            mixed_wall,
            mixed_err,
            baseline_p50,
        )
        submit_summary(mixed_lat.get("submit", []), mixed_wall, base_lat.get("summary", []), base_wall)
        statuses = defaultdict(int)
        for sub in submissions:
            for status, _ in sub.responses:
                statuses[status] += 1
        print(f"  submission answers by status: {dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))}")

        # inspection submissions only, at the same concurrency: the #15 point 4 figure itself,
        # not bounded by the map requests that share the server in the mixed phase
        only = make_submissions(args.post_only, 0, info, rng, prefix="纯提交")
        only_lat, only_wall, only_err = await run_jobs(
            client, [Job("submit", "/api/v1/inspections", s) for s in only], args.concurrency, deadline
        )
        if only:
            report(f"post-only ({len(only)} submissions, nothing else)", only_lat, only_wall, only_err, baseline_p50)
            submit_summary(
                only_lat.get("submit", []), only_wall, base_lat.get("summary", []), base_wall, phase=", post-only"
            )
        # the same at a fixed offered rate: does the server answer R POSTs a second, and how
        # fast, when they arrive as field phones send them rather than 16 at a time?
        paced = make_submissions(args.paced, 0, info, rng, prefix="定速提交")
        paced_lat, paced_wall, paced_err = await run_paced(
            client, [Job("submit", "/api/v1/inspections", s) for s in paced], args.post_rate, deadline
        )
        if paced:
            answered = paced_lat.get("submit", [])
            report(
                f"paced ({len(paced)} submissions offered at {args.post_rate:g}/s, open loop)",
                paced_lat,
                paced_wall,
                paced_err,
                baseline_p50,
            )
            print(
                f"  inspection POST, offered {args.post_rate:g}/s (#15 point 4: >= 60/s, p95 < 300 ms): answered "
                f"{len(answered) / paced_wall:.1f}/s, p50 {statistics.median(answered) * 1e3:.1f} ms, "
                f"p95 {percentile(answered, 95) * 1e3:.1f} ms from each request's due time; "
                f"errors {sum(paced_err.values())}"
            )
        errors = sum(e for phase in (serial_err, base_err, mixed_err, only_err, paced_err) for e in phase.values())
        return probes + submissions + only + paced, errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("ROADCHIEF_LOAD_DATABASE_URL", DEFAULT_URL),
        help="PostgreSQL URL; a throwaway schema is created in it and dropped (default: %(default)s)",
    )
    parser.add_argument("--submissions", type=int, default=400)
    parser.add_argument("--invalid", type=int, default=16, help="extra submissions that must be refused whole")
    parser.add_argument("--duplicate-rate", type=float, default=0.05)
    parser.add_argument("--map-requests", type=int, default=1600)
    parser.add_argument("--baseline-requests", type=int, default=800)
    parser.add_argument(
        "--post-only", type=int, default=400, help="submissions of the post-only phase after the mixed one (0: none)"
    )
    parser.add_argument(
        "--paced", type=int, default=600, help="submissions offered at --post-rate after the post-only phase (0: none)"
    )
    parser.add_argument("--post-rate", type=float, default=60.0, help="offered submissions per second when paced")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--time-limit", type=float, default=600, help="hard limit for the whole run, seconds")
    args = parser.parse_args(argv)

    from roadchief.config import normalise_database_url

    base_url = normalise_database_url(args.database_url)
    if not base_url.startswith("postgresql"):
        parser.error("the load benchmark runs against PostgreSQL (several worker processes write at once)")
    if shutil.which("gunicorn") is None and not _has_module("gunicorn"):
        parser.error("gunicorn is not installed (pip install -e '.[test]')")

    started = time.monotonic()
    deadline = started + args.time_limit
    rng = random.Random(SEED)
    folder = Path(tempfile.mkdtemp(prefix="roadchief-load-"))
    schema = f"rc_load_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = with_schema(base_url, schema)
    process = None
    passed, errors = False, 0
    # the hard limit holds even if something below blocks outside the event loop
    signal.signal(signal.SIGALRM, _time_is_up)
    signal.alarm(int(args.time_limit) + 60)
    try:
        from importlib.metadata import version

        print(
            f"database: {base_url.split('@')[-1]} schema {schema}; gunicorn {version('gunicorn')} {args.workers} workers × {args.threads} "
            f"threads (gthread); concurrency {args.concurrency}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs"
        )
        t = time.perf_counter()
        info = prepare(url, folder / "uploads")
        print(
            f"prepared (migrate + demo network + user/token) in {time.perf_counter() - t:.1f} s: "
            f"{len(info['segments'])} segments, {len(info['items'])} catalog items"
        )
        port = free_port()
        process = start_gunicorn(url, port, args.workers, args.threads, folder)
        wait_ready(port, process)
        print(f"gunicorn up on http://{HOST}:{port}")
        submissions, errors = asyncio.run(drive(args, port, info, rng, deadline))
        problems = check_integrity(url, info["user_id"], submissions)
        for problem in problems[:20]:
            print("  -", problem)
        if len(problems) > 20:
            print(f"  … and {len(problems) - 20} more")
        passed = not problems
        print(f"INTEGRITY: {'PASS' if passed else 'FAIL'}" + ("" if passed else f" ({len(problems)} problems)"))
        print(f"unexpected request errors: {errors}")
        print(f"total run time {time.monotonic() - started:.1f} s")
    finally:
        signal.alarm(0)
        stop(process)
        if process is not None and (errors or not passed):
            log = (folder / "gunicorn.log").read_text(errors="replace")[-3000:]
            if log.strip():
                print("gunicorn log (tail):\n" + log)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    return 0 if passed else 1


def _time_is_up(signum, frame):
    raise TimeoutError("load benchmark time limit reached")


def _has_module(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    sys.exit(main())
