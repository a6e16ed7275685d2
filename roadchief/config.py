"""Configuration from ROADCHIEF_* environment variables, with safe defaults.

The instance folder (ROADCHIEF_INSTANCE_DIR, default ./instance) holds what must
never be committed: the embedded SQLite database, the generated secret key and,
unless ROADCHIEF_UPLOAD_DIR says otherwise, uploaded photos.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"ROADCHIEF_{name}")
    return value if value not in (None, "") else default


def instance_dir() -> Path:
    return Path(_env("INSTANCE_DIR", str(Path.cwd() / "instance"))).resolve()


def _secret_key(folder: Path) -> str:
    """Use ROADCHIEF_SECRET_KEY, else a key generated once and kept in the instance folder."""
    configured = _env("SECRET_KEY")
    if configured:
        return configured
    key_file = folder / "secret_key"
    if not key_file.exists():
        folder.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def normalise_database_url(url: str) -> str:
    # Deployments often write postgres:// or postgresql://; we ship psycopg 3.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_config() -> dict:
    folder = instance_dir()
    folder.mkdir(parents=True, exist_ok=True)
    database_url = normalise_database_url(_env("DATABASE_URL", f"sqlite:///{folder / 'roadchief.db'}"))
    upload_dir = Path(_env("UPLOAD_DIR", str(folder / "uploads"))).resolve()
    # The base map: ROADCHIEF_TILE_URL (an OSM-style {z}/{x}/{y} URL), else 天地图 when
    # ROADCHIEF_TIANDITU_KEY is set (vec_w plus the cva_w annotation layer), else none: the map
    # then draws its vector layers and town outlines alone (offline intranet). "none" = no tiles.
    tile_url, tianditu_key = _env("TILE_URL", ""), _env("TIANDITU_KEY", "")
    if tile_url.strip().lower() in ("none", "off"):
        tile_url, tianditu_key = "", ""
    tile_label_url, tile_subdomains = "", _env("TILE_SUBDOMAINS", "abc")
    tile_attribution = _env("TILE_ATTRIBUTION", "")
    if not tile_url and tianditu_key:
        from urllib.parse import quote

        wmts = (
            "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0&LAYER={layer}"
            "&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}&TILECOL={{x}}&tk={key}"
        )
        tile_url = wmts.format(layer="vec", key=quote(tianditu_key, safe=""))
        tile_label_url = wmts.format(layer="cva", key=quote(tianditu_key, safe=""))
        tile_subdomains = "01234567"
        tile_attribution = tile_attribution or "© 天地图（国家地理信息公共服务平台）"
    elif tile_url and not tile_attribution and "openstreetmap.org" in tile_url:
        tile_attribution = "© OpenStreetMap 贡献者"
    return {
        "SECRET_KEY": _secret_key(folder),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "UPLOAD_DIR": str(upload_dir),
        "REPORTS_DIR": _env("REPORTS_DIR", str(Path.cwd() / "reports")),
        "MAX_CONTENT_LENGTH": int(_env("MAX_UPLOAD_BYTES", str(12 * 1024 * 1024))),
        "PHOTO_MAX_BYTES": int(_env("PHOTO_MAX_BYTES", str(8 * 1024 * 1024))),
        "PROXY_FIX": _env("PROXY_FIX", "0") == "1",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env("COOKIE_SECURE", "0") == "1",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "SUPERVISION_PHONE": _env("SUPERVISION_PHONE", "0953-3012345"),
        "TILE_URL": tile_url,
        "TILE_LABEL_URL": tile_label_url,
        "TILE_SUBDOMAINS": tile_subdomains,
        "TILE_ATTRIBUTION": tile_attribution,
        "TIANDITU_KEY": tianditu_key,
        # Above this many segments in a user's scope the map draws vector tiles below zoom 13
        # instead of loading the whole network as GeoJSON (#15: province scale on a phone).
        "MAP_TILES_ABOVE": int(_env("MAP_TILES_ABOVE", "5000") or 5000),
        "ISSUER": _env("ISSUER", "青铜峡市路长办公室"),
        # Road lines outside this lon/lat box are refused on import (domain/county.py has the default).
        "COUNTY_BBOX": _env("COUNTY_BBOX", ""),
    }
