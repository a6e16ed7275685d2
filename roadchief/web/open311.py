"""Open311 GeoReport v2 at /open311/v2 (JSON only): services, public reports as service
requests, and posting a new report. Anonymous like the 公示牌 report form, rate-limited
with it (one shared budget per address), CSRF-exempt (a machine API without cookies).
Rules: roadchief.services.open311."""

from __future__ import annotations

import json

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from roadchief.extensions import db, limiter
from roadchief.services import ServiceError, open311
from roadchief.services.audit import Actor, acting_as
from roadchief.services.public_reports import find_report, ip_digest
from roadchief.web.access import public
from roadchief.web.public import REPORT_LIMIT, TRACK_LIMIT

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")


def _answer(document, status: int = 200) -> Response:
    response = Response(json.dumps(document, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _errors(status: int, description: str) -> Response:
    """The spec's error form: a list of {code, description}."""
    return _answer([{"code": status, "description": description}], status)


@bp.errorhandler(ServiceError)
def bad_request(error):
    db.session.rollback()
    return _errors(400, str(error))


@bp.errorhandler(HTTPException)
def http_error(error):
    from roadchief.web import ERROR_TEXT

    return _errors(error.code or 500, ERROR_TEXT.get(error.code, error.name))


def _json_only(fmt: str):
    if fmt != "json":
        return _errors(400, f"仅支持 JSON 格式（.json），不支持 .{fmt}")
    return None


@bp.route("/services.<fmt>")
@public
def services(fmt: str):
    return _json_only(fmt) or _answer(open311.services())


@bp.route("/requests.<fmt>", methods=["GET", "POST"])
@public
@limiter.shared_limit(REPORT_LIMIT, scope="public-report", methods=["POST"])
def requests_(fmt: str):
    refused = _json_only(fmt)
    if refused:
        return refused
    if request.method == "POST":
        ip = request.remote_addr
        with acting_as(Actor(name=f"public:{ip_digest(ip)[:12]}")):
            report = open311.post_request(request.form, ip)
        return _answer(
            [
                {
                    "service_request_id": report.ref,
                    "service_notice": f"反馈已受理，受理编号 {report.ref}，可在 /p/t/{report.ref} 查询办理进度。",
                    "account_id": None,
                }
            ]
        )
    args = request.args
    return _answer(
        open311.find_requests(
            service_code=args.get("service_code"),
            status=args.get("status"),
            start=args.get("start_date"),
            end=args.get("end_date"),
            refs=args.get("service_request_id"),
        )
    )


@bp.route("/requests/<ref>.<fmt>")
@public
@limiter.limit(TRACK_LIMIT)
def request_detail(ref: str, fmt: str):
    refused = _json_only(fmt)
    if refused:
        return refused
    report = find_report(ref)
    if report is None:
        return _errors(404, f"没有受理编号为 {ref} 的反馈")
    return _answer([open311.request_json(report)])
