"""Static files for slow phone links: content-hashed names, long-lived caching, pre-compressed bodies.

At start-up every file under `static/` is read once and given a name carrying its content hash
(`js/map.js` → `js/map.3f9c2a71d0.js`). `url_for("static", filename=…)` writes the hashed name, so
a page always asks for the bytes it was rendered with, and those bytes can be cached by the phone
for a year (`Cache-Control: immutable`): a changed file gets a new name. The gzip and brotli
bodies of text files are made at start-up too, so a request costs no compression. An unhashed or
stale name still answers (the current file, revalidated by ETag), so old bookmarks and the service
worker's first fetch never break.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import re
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, Response, abort, request

YEAR = 365 * 24 * 3600
HASH_LENGTH = 10
_HASHED = re.compile(rf"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{{{HASH_LENGTH}}})(?P<suffix>\.[^./]+)$")
# compressing images, fonts in woff2 and the like gains nothing
_COMPRESSIBLE = {".js", ".css", ".svg", ".json", ".webmanifest", ".map", ".txt", ".html", ".xml", ".ico", ".ttf"}
_MIN_COMPRESS_BYTES = 512


# Files a page always loads together, served as one (in this order): on a 300 ms link each
# request past the browser's six connections costs another round trip.
BUNDLES = {
    "js/map.bundle.js": (
        "vendor/leaflet/leaflet.js",
        "js/leaflet-zh.js",
        "vendor/leaflet.markercluster/leaflet.markercluster.js",
        "js/map-base.js",
        "js/map-layers.js",
        "js/map-popups.js",
        "js/map-markers.js",
        "js/map-search.js",
        "js/map.js",
        "js/map-ops.js",
        "js/map-patrols.js",
    ),
}
# the province-scale map: the same parts, with vector tiles drawn below zoom 13 (map-tiles.js runs
# before map.js, which then skips loading the whole network)
_MAP = BUNDLES["js/map.bundle.js"]
_AT = _MAP.index("js/map.js")
BUNDLES["js/map-tiled.bundle.js"] = (
    _MAP[:1]
    + ("vendor/leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",)
    + _MAP[1:_AT]
    + ("js/map-tiles.js",)
    + _MAP[_AT:]
)


@dataclass(frozen=True)
class Asset:
    logical: str
    hashed: str
    digest: str
    mimetype: str
    body: bytes
    gzip_body: bytes | None
    brotli_body: bytes | None


def _brotli(data: bytes) -> bytes | None:
    try:
        import brotli
    except ImportError:  # optional: gzip alone still serves every browser
        return None
    return brotli.compress(data, quality=11)


def hashed_name(logical: str, digest: str) -> str:
    path = Path(logical)
    return str(path.with_name(f"{path.stem}.{digest[:HASH_LENGTH]}{path.suffix}")).replace("\\", "/")


def _asset(logical: str, body: bytes) -> Asset:
    path = Path(logical)
    digest = hashlib.sha256(body).hexdigest()
    compress = path.suffix.lower() in _COMPRESSIBLE and len(body) >= _MIN_COMPRESS_BYTES
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".webmanifest":
        mimetype = "application/manifest+json"
    return Asset(
        logical=logical,
        hashed=hashed_name(logical, digest),
        digest=digest,
        mimetype=mimetype,
        body=body,
        gzip_body=gzip.compress(body, compresslevel=9, mtime=0) if compress else None,
        brotli_body=_brotli(body) if compress else None,
    )


def build_manifest(root: Path, bundles: dict[str, tuple[str, ...]] | None = None) -> dict[str, Asset]:
    """Every file under `root`, keyed by its logical (unhashed) name, and the bundles made of them."""
    assets = {
        path.relative_to(root).as_posix(): _asset(path.relative_to(root).as_posix(), path.read_bytes())
        for path in sorted(p for p in root.rglob("*") if p.is_file())
    }
    for name, parts in (BUNDLES if bundles is None else bundles).items():
        missing = [part for part in parts if part not in assets]
        if missing:
            raise RuntimeError(f"bundle {name}: missing {missing}")
        # each part on its own lines, ended by ';' so a file without a final semicolon cannot join the next
        body = b"".join(b"/* " + part.encode() + b" */\n" + assets[part].body + b"\n;\n" for part in parts)
        assets[name] = _asset(name, body)
    return assets


class StaticAssets:
    """The manifest and the view that serves it, installed over Flask's own `static` endpoint."""

    def __init__(self, app: Flask):
        self.root = Path(app.static_folder or "")
        self.assets = build_manifest(self.root)
        self.by_hashed = {asset.hashed: asset for asset in self.assets.values()}
        app.extensions["roadchief_assets"] = self
        app.url_defaults(self._hash_static_urls)
        app.view_functions["static"] = self.serve

    def url_path(self, logical: str) -> str:
        """The hashed file name for `logical` (unchanged when it is not a known file)."""
        asset = self.assets.get(logical)
        return asset.hashed if asset else logical

    def _hash_static_urls(self, endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = self.url_path(values["filename"])

    def serve(self, filename: str) -> Response:
        asset = self.by_hashed.get(filename)
        immutable = asset is not None
        if asset is None:
            asset = self.assets.get(filename)
        if asset is None:
            match = _HASHED.match(filename)  # a name hashed for an older version of the file
            asset = self.assets.get(match["stem"] + match["suffix"]) if match else None
        if asset is None:
            abort(404)
        base_etag = asset.digest[:32]
        headers = {
            "Vary": "Accept-Encoding",
            "Cache-Control": f"public, max-age={YEAR}, immutable"
            if immutable
            else "public, max-age=0, must-revalidate",
        }
        if any(tag.split("-")[0] == base_etag for tag in request.if_none_match.as_set()):
            response = Response(status=304, headers=headers)
            response.set_etag(base_etag)
            return response
        accepted = request.headers.get("Accept-Encoding", "")
        body, encoding = asset.body, None
        if asset.brotli_body is not None and "br" in accepted:
            body, encoding = asset.brotli_body, "br"
        elif asset.gzip_body is not None and "gzip" in accepted:
            body, encoding = asset.gzip_body, "gzip"
        response = Response(body, mimetype=asset.mimetype, headers=headers)
        if encoding:
            response.headers["Content-Encoding"] = encoding
        # each encoding is a different byte sequence, so a different strong ETag
        response.set_etag(f"{base_etag}-{encoding}" if encoding else base_etag)
        return response


def init_app(app: Flask) -> StaticAssets:
    return StaticAssets(app)
