"""OGC API – Features (Part 1 core, GeoJSON) at /ogc: public, read-only, anonymous.

GDAL's OAPIF driver, QGIS and other clients browse the collections and page through the
items with ``limit``/``offset`` and the ``next`` links. Rules on what is public:
roadchief.services.ogc_features.
"""

from __future__ import annotations

from flask import Blueprint, Response, request, url_for
from werkzeug.exceptions import HTTPException

from roadchief.domain.clock import iso_beijing, utcnow
from roadchief.services import ServiceError
from roadchief.services import ogc_features as ogc
from roadchief.web.access import public

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

JSON = "application/json"
GEOJSON = "application/geo+json"
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]


def _answer(document, status: int = 200, mimetype: str = JSON) -> Response:
    response = Response(ogc.dumps(document), status=status, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"  # public open data: browser clients on other hosts
    return response


def _error(status: int, title: str, detail: str) -> Response:
    return _answer({"code": status, "title": title, "description": detail}, status)


@bp.errorhandler(ServiceError)
def bad_parameter(error):
    return _error(400, "请求参数有误", str(error))


@bp.errorhandler(HTTPException)
def http_error(error):
    return _error(error.code or 500, error.name, error.description or "")


def _format():
    f = request.args.get("f")
    if f not in (None, "", "json", "geojson", "application/json", GEOJSON):
        raise ServiceError(f"仅支持 JSON / GeoJSON 格式（f={f!r}）")


def _link(href: str, rel: str, type_: str, title: str) -> dict:
    return {"href": href, "rel": rel, "type": type_, "title": title}


def _collection(collection: ogc.Collection) -> dict:
    items = url_for("ogc.items", collection_id=collection.id, _external=True)
    box = ogc.extent(collection.id)
    return {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "extent": {"spatial": {"bbox": [box] if box else [], "crs": CRS84}},
        "links": [
            _link(
                url_for("ogc.collection", collection_id=collection.id, _external=True), "self", JSON, collection.title
            ),
            _link(items, "items", GEOJSON, f"{collection.title}（GeoJSON）"),
        ],
    }


def _collection_or_404(collection_id: str) -> ogc.Collection:
    collection = ogc.COLLECTIONS.get(collection_id)
    if collection is None:
        from flask import abort

        abort(404, f"没有名为 {collection_id!r} 的数据集（可用：{', '.join(ogc.COLLECTIONS)}）")
    return collection


@bp.route("", strict_slashes=False)
@public
def landing():
    _format()
    return _answer(
        {
            "title": "青铜峡市农村公路路长制 开放数据（OGC API – Features）",
            "description": "路段、路产、未修复突发事件与群众反馈的公开信息，GeoJSON，坐标 CRS84（经纬度）。",
            "links": [
                _link(url_for("ogc.landing", _external=True), "self", JSON, "本页"),
                _link(url_for("ogc.conformance", _external=True), "conformance", JSON, "符合的标准"),
                _link(url_for("ogc.collections", _external=True), "data", JSON, "数据集"),
                _link(url_for("ogc.api", _external=True), "service-desc", OPENAPI, "OpenAPI 3.0 接口说明"),
            ],
        }
    )


@bp.route("/conformance")
@public
def conformance():
    _format()
    return _answer({"conformsTo": CONFORMANCE})


@bp.route("/api")
@public
def api():
    return _answer(_openapi(), mimetype="application/vnd.oai.openapi+json")


@bp.route("/collections")
@public
def collections():
    _format()
    return _answer(
        {
            "links": [_link(url_for("ogc.collections", _external=True), "self", JSON, "数据集")],
            "collections": [_collection(c) for c in ogc.COLLECTIONS.values()],
        }
    )


@bp.route("/collections/<collection_id>")
@public
def collection(collection_id: str):
    _format()
    return _answer(_collection(_collection_or_404(collection_id)))


@bp.route("/collections/<collection_id>/items")
@public
def items(collection_id: str):
    collection = _collection_or_404(collection_id)
    _format()
    limit = ogc.parse_limit(request.args.get("limit"))
    offset = ogc.parse_offset(request.args.get("offset"))
    bbox_text = request.args.get("bbox")
    bbox = ogc.parse_bbox(bbox_text)
    features, matched = ogc.items(collection.id, limit=limit, offset=offset, bbox=bbox)

    def page(at: int) -> str:
        args = {"limit": limit, "offset": at}
        if bbox_text:
            args["bbox"] = bbox_text
        return url_for("ogc.items", collection_id=collection.id, _external=True, **args)

    links = [
        _link(page(offset), "self", GEOJSON, "本页"),
        _link(
            url_for("ogc.collection", collection_id=collection.id, _external=True), "collection", JSON, collection.title
        ),
    ]
    if offset + len(features) < matched:
        links.append(_link(page(offset + limit), "next", GEOJSON, "下一页"))
    if offset > 0:
        links.append(_link(page(max(0, offset - limit)), "prev", GEOJSON, "上一页"))
    return _answer(
        {
            "type": "FeatureCollection",
            "timeStamp": iso_beijing(utcnow()),
            "numberMatched": matched,
            "numberReturned": len(features),
            "features": features,
            "links": links,
        },
        mimetype=GEOJSON,
    )


@bp.route("/collections/<collection_id>/items/<fid>")
@public
def feature(collection_id: str, fid: str):
    collection = _collection_or_404(collection_id)
    _format()
    found = ogc.item(collection.id, fid)
    if found is None:
        from flask import abort

        abort(404, f"数据集 {collection.id} 中没有编号为 {fid!r} 的要素")
    found["links"] = [
        _link(url_for("ogc.feature", collection_id=collection.id, fid=fid, _external=True), "self", GEOJSON, "本要素"),
        _link(
            url_for("ogc.collection", collection_id=collection.id, _external=True), "collection", JSON, collection.title
        ),
    ]
    return _answer(found, mimetype=GEOJSON)


def _openapi() -> dict:
    """A minimal OpenAPI 3.0 description of the /ogc paths (the landing page's service-desc)."""

    def op(summary: str, content: str, params=()):
        return {
            "get": {
                "summary": summary,
                "parameters": list(params),
                "responses": {
                    "200": {"description": "成功", "content": {content: {"schema": {"type": "object"}}}},
                    "400": {"description": "参数有误"},
                    "404": {"description": "不存在"},
                },
            }
        }

    cid = {
        "name": "collectionId",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "enum": list(ogc.COLLECTIONS)},
    }
    fid = {"name": "featureId", "in": "path", "required": True, "schema": {"type": "string"}}
    limit = {
        "name": "limit",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": ogc.MAX_LIMIT, "default": ogc.DEFAULT_LIMIT},
    }
    offset = {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "default": 0},
    }
    bbox = {
        "name": "bbox",
        "in": "query",
        "required": False,
        "style": "form",
        "explode": False,
        "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "青铜峡市农村公路路长制 OGC API – Features", "version": "1.0.0"},
        "servers": [{"url": url_for("ogc.landing", _external=True)}],
        "paths": {
            "/": op("着陆页", JSON),
            "/conformance": op("符合的标准", JSON),
            "/api": op("本接口说明（OpenAPI 3.0）", "application/vnd.oai.openapi+json"),
            "/collections": op("数据集列表", JSON),
            "/collections/{collectionId}": op("数据集说明", JSON, [cid]),
            "/collections/{collectionId}/items": op("要素（分页，GeoJSON）", GEOJSON, [cid, limit, offset, bbox]),
            "/collections/{collectionId}/items/{featureId}": op("单个要素", GEOJSON, [cid, fid]),
        },
    }
