"""The installable field app's server side (issue #14 point 1): the manifest and the service
worker are public, served from the site root with the headers a worker needs, and the
worker's cache version is a hash of the static files' contents (any change → a new version)."""

from __future__ import annotations

import json
import re

from roadchief.web.pwa import static_files, static_version
from tests.conftest import login, make_user


def _settings(body: str) -> dict:
    first = body.split("\n", 1)[0]
    assert first.startswith("self.ROADCHIEF_SW = ") and first.endswith(";")
    return json.loads(first[len("self.ROADCHIEF_SW = ") : -1])


def test_worker_and_manifest_are_public_at_the_root_with_worker_headers(client):
    worker = client.get("/sw.js")  # signed out: the browser re-checks the worker on any page
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/" and worker.headers["Cache-Control"] == "no-cache"
    body = worker.get_data(as_text=True)
    settings = _settings(body)
    assert re.fullmatch(r"[0-9a-f]{12}", settings["version"])
    assert settings["version"] == static_version(client.application.static_folder)
    assert settings["pages"] == ["/inspections/new", "/ops/events/new"]
    # static names are content-hashed (web/assets.py): compare the names as the templates write them
    precache = {re.sub(r"\.[0-9a-f]{10}(\.[A-Za-z0-9]+)$", r"\1", url) for url in settings["precache"]}
    for needed in (
        "/static/js/inspect.js",
        "/static/js/offline-queue.js",
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/css/app.css",
        "/static/js/detour.js",
        "/static/img/icon-192.png",
        "/manifest.webmanifest",
        "/static/js/map.bundle.js",
    ):
        assert needed in precache, needed
    assert "/static/js/service-worker.js" not in precache  # the worker itself is never cached by itself
    assert "roadchief-static-" in body and "roadchief-user-" in body

    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    data = manifest.get_json(force=True)
    assert data["name"] == "青铜峡市农村公路路长制" and data["lang"] == "zh-CN" and data["display"] == "standalone"
    assert {i["sizes"] for i in data["icons"]} >= {"192x192", "512x512"}
    assert any(i["purpose"] == "maskable" for i in data["icons"])
    for icon in data["icons"]:
        image = client.get(icon["src"])
        assert image.status_code == 200 and image.mimetype == "image/png" and image.data[:8] == b"\x89PNG\r\n\x1a\n"
    csp = worker.headers["Content-Security-Policy"]
    assert "worker-src 'self'" in csp and "manifest-src 'self'" in csp


def test_pages_link_the_manifest_and_only_field_pages_register_the_worker(demo_app):
    client = demo_app.test_client()
    login(client, make_user("city_office"))
    home = client.get("/inspections/").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.webmanifest"' in home and "js/pwa." in home
    assert 'name="roadchief-sw"' not in home and 'name="roadchief-user"' in home
    for path in ("/inspections/new", "/ops/events/new"):
        page = client.get(path).get_data(as_text=True)
        assert '<meta name="roadchief-sw" content="/sw.js">' in page, path
    login_page = demo_app.test_client().get("/login").get_data(as_text=True)
    assert 'name="roadchief-user"' not in login_page  # signed out: the worker drops the cached pages


def test_static_version_follows_the_files_contents(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("one", encoding="utf-8")
    (tmp_path / "b.css").write_text("two", encoding="utf-8")
    first = static_version(tmp_path)
    assert static_files(tmp_path) == ["b.css", "js/a.js"] and static_version(tmp_path) == first
    (tmp_path / "js" / "a.js").write_text("one!", encoding="utf-8")
    changed = static_version(tmp_path)
    assert changed != first
    (tmp_path / "js" / "a.js").rename(tmp_path / "js" / "c.js")  # same content, other name
    assert static_version(tmp_path) not in (first, changed)
