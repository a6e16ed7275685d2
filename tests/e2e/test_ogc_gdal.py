"""GDAL's OAPIF driver against the real server: it finds the collections and pages
through every segment (ogrinfo, ogr2ogr). Skipped when gdal-bin is not installed."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from sqlalchemy import func, select

pytestmark = pytest.mark.skipif(
    shutil.which("ogrinfo") is None or shutil.which("ogr2ogr") is None,
    reason="gdal-bin (ogrinfo, ogr2ogr) is not installed: apt-get install gdal-bin",
)

# page size small enough that GDAL has to follow several next links
GDAL_ENV = {"GDAL_HTTP_TIMEOUT": "60", "CPL_DEBUG": "OFF", "GDAL_HTTP_MAX_RETRY": "0"}


def _run(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        args,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **GDAL_ENV, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
    )


def test_ogrinfo_lists_the_collections(live_server):
    result = _run("ogrinfo", "-ro", "-so", f"OAPIF:{live_server.url}/ogc")
    assert result.returncode == 0, result.stderr
    for layer in ("segments", "assets", "events", "reports"):
        assert f": {layer}" in result.stdout, result.stdout
    detail = _run("ogrinfo", "-ro", "-so", f"OAPIF:{live_server.url}/ogc", "segments")
    assert detail.returncode == 0, detail.stderr
    assert "listed_km: Real" in detail.stdout and "start_m: Integer" in detail.stdout, detail.stdout


def test_ogr2ogr_pages_through_every_segment(live_server, tmp_path):
    from roadchief.models import Segment

    with live_server.context() as session:
        total = session.scalar(select(func.count()).select_from(Segment))
        listed_m = session.scalar(select(func.sum(Segment.listed_m)))
    out = tmp_path / "segments.json"
    # a page of 50 makes GDAL walk the next links (365 demo segments: 8 pages)
    result = _run(
        "ogr2ogr",
        "-f",
        "GeoJSON",
        str(out),
        f"OAPIF:{live_server.url}/ogc",
        "segments",
        "-oo",
        "PAGE_SIZE=50",
        "--debug",
        "ON",
    )
    assert result.returncode == 0, result.stderr
    pages = [line for line in result.stderr.splitlines() if "Fetch(" in line and "/segments/items?" in line]
    assert len({line for line in pages}) == -(-total // 50), pages
    features = json.loads(out.read_text(encoding="utf-8"))["features"]
    assert len(features) == total
    keys = {(f["properties"]["road_code"], f["properties"]["start_m"]) for f in features}
    assert len(keys) == total  # every segment once, none twice
    assert all(isinstance(f["properties"]["listed_km"], float) for f in features)
    assert round(sum(f["properties"]["listed_km"] for f in features) * 1000) == listed_m
