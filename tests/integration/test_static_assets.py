"""Static files are named by content, cached for a year and sent pre-compressed (#15 point 1)."""

from __future__ import annotations

import gzip
import re

import brotli
from flask import url_for

from roadchief.web.assets import build_manifest


def test_pages_link_hashed_static_names(client):
    html = client.get("/login").get_data(as_text=True)
    links = re.findall(r'/static/([^"\']+)', html)
    assert links, html[:500]
    for link in links:
        assert re.search(r"\.[0-9a-f]{10}\.[a-z0-9]+$", link), link


def test_hashed_file_is_immutable_and_precompressed(app, client):
    with app.test_request_context():
        url = url_for("static", filename="css/app.css")
    assets = app.extensions["roadchief_assets"]
    original = assets.assets["css/app.css"].body
    response = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert brotli.decompress(response.data) == original
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers["Content-Encoding"] == "gzip" and gzip.decompress(gz.data) == original
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers and plain.data == original
    assert len({response.headers["ETag"], gz.headers["ETag"], plain.headers["ETag"]}) == 3


def test_unhashed_or_stale_names_still_answer_and_revalidate(app, client):
    original = app.extensions["roadchief_assets"].assets["js/app.js"].body
    for name in ("js/app.js", "js/app.0123456789.js"):
        response = client.get(f"/static/{name}")
        assert response.status_code == 200 and response.data == original
        assert "immutable" not in response.headers["Cache-Control"]
        again = client.get(f"/static/{name}", headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
    assert client.get("/static/js/nothing-here.js").status_code == 404
    assert client.get("/static/../config.py").status_code == 404


def test_a_changed_file_gets_a_new_name(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "a.js").write_text("var a = 1;" * 100)
    first = build_manifest(tmp_path, bundles={})["js/a.js"]
    (tmp_path / "js" / "a.js").write_text("var a = 2;" * 100)
    second = build_manifest(tmp_path, bundles={})["js/a.js"]
    assert first.hashed != second.hashed
    assert first.hashed.startswith("js/a.") and first.hashed.endswith(".js")
    assert gzip.decompress(second.gzip_body) == second.body


def test_a_bundle_joins_its_parts_in_order_and_follows_their_changes(tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "js" / "one.js").write_text("var one = 1")  # no final semicolon
    (tmp_path / "js" / "two.js").write_text("(function () { two(); }())")
    bundles = {"js/both.js": ("js/one.js", "js/two.js")}
    first = build_manifest(tmp_path, bundles)["js/both.js"].body.decode()
    assert first.index("var one = 1") < first.index("two();")
    assert "var one = 1\n;" in first  # the next part's '(' cannot call the previous line
    (tmp_path / "js" / "two.js").write_text("(function () { three(); }())")
    assert (
        build_manifest(tmp_path, bundles)["js/both.js"].hashed
        != build_manifest(tmp_path, {"js/both.js": ("js/one.js",)})["js/both.js"].hashed
    )
    import pytest

    with pytest.raises(RuntimeError, match="missing"):
        build_manifest(tmp_path, {"js/x.js": ("js/absent.js",)})
