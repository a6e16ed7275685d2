"""The installable field app (issue #14, 第二十二条 手机APP): the web app manifest and the
service worker, served from the site root so its scope is the whole site.

The worker's cache names carry a version: the first 12 hex digits of a SHA-256 over every
file under static/ (path and content), computed once when the app starts; any change to a
static file makes a new worker, which drops the old caches. The worker's code is
static/js/service-worker.js; /sw.js serves it after one line of settings (the version, the
static files to precache, the field pages). What it caches and why is in that file.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import Blueprint, Response, current_app, url_for

from roadchief.web.access import public
from roadchief.web.assets import BUNDLES

bp = Blueprint("pwa", __name__)

WORKER = "js/service-worker.js"
FIELD_PAGES = ("inspections.new", "operations.event_new")  # open with no network after one visit
DATA_PREFIXES = ("inspections.nearest", "inspections.assets")  # the field form's lookups, kept per user


def static_files(folder: str | Path) -> list[str]:
    """Every file under static/ (POSIX paths relative to it), sorted."""
    root = Path(folder)
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def static_version(folder: str | Path) -> str:
    """A hash of the static files' names and contents: the worker's cache version."""
    digest = hashlib.sha256()
    root = Path(folder)
    for name in static_files(root):
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@bp.record_once
def _version_at_start(state) -> None:
    app = state.app
    app.extensions["pwa_version"] = static_version(app.static_folder)
    app.extensions["pwa_files"] = [f for f in static_files(app.static_folder) if f != WORKER]


@bp.route("/sw.js")
@public
def service_worker():
    settings = {
        "version": current_app.extensions["pwa_version"],
        "precache": [url_for("static", filename=f) for f in current_app.extensions["pwa_files"]]
        + [url_for("static", filename=name) for name in BUNDLES]  # built from those files (web/assets.py)
        + [url_for("pwa.manifest")],
        "pages": [url_for(e) for e in FIELD_PAGES],
        "data": [url_for(e) for e in DATA_PREFIXES],
        "static": url_for("static", filename=""),
    }
    code = (Path(current_app.static_folder) / WORKER).read_text(encoding="utf-8")
    body = f"self.ROADCHIEF_SW = {json.dumps(settings, ensure_ascii=False)};\n{code}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"  # the browser checks for a new worker on every visit
    return response


@bp.route("/manifest.webmanifest")
@public
def manifest():
    icon = lambda name, size, purpose="any": {  # noqa: E731
        "src": url_for("static", filename=f"img/{name}"),
        "sizes": f"{size}x{size}",
        "type": "image/png",
        "purpose": purpose,
    }
    data = {
        "name": "青铜峡市农村公路路长制",
        "short_name": "路长制",
        "description": "农村公路路长制巡查、督查与突发事件登记（可离线填写）",
        "lang": "zh-CN",
        "dir": "ltr",
        "start_url": url_for("map.index"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#f3f5f8",
        "theme_color": "#173d63",
        "icons": [icon("icon-192.png", 192), icon("icon-512.png", 512), icon("icon-maskable-512.png", 512, "maskable")],
        "shortcuts": [
            {"name": "新建检查记录", "url": url_for("inspections.new")},
            {"name": "登记突发事件", "url": url_for("operations.event_new")},
        ],
    }
    response = Response(json.dumps(data, ensure_ascii=False), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    return response
