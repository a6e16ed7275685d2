"""导出Excel on the list pages, and the register's lossless download; each on its page's blueprint.

Every route has the access rule of its page and applies the page's filters (the query string
the page's own form produced); the work is in ``services.list_exports`` / ``services.network_export``.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, request
from flask_login import current_user

from roadchief.domain import clock
from roadchief.domain.permissions import OFFICES, READ, roles_for
from roadchief.services import list_exports
from roadchief.web.access import allow
from roadchief.web.funding import MANAGERS
from roadchief.web.funding import bp as funding_bp
from roadchief.web.inspections import bp as inspections_bp
from roadchief.web.operations import bp as operations_bp
from roadchief.web.public import HANDLERS
from roadchief.web.public import bp as public_bp
from roadchief.web.registry import bp as registry_bp

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(data: bytes, name: str, mimetype: str = XLSX, ascii_name: str = "export.xlsx") -> Response:
    """A download with its Chinese file name (RFC 5987) and an ASCII fallback."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"
    response.headers["Content-Length"] = str(len(data))
    return response


def _xlsx(result: tuple[bytes, str], ascii_name: str) -> Response:
    data, name = result
    return attachment(data, f"{name}.xlsx", ascii_name=f"{ascii_name}.xlsx")


@registry_bp.route("/export.xlsx")
@allow(*roles_for(READ))
def segments_xlsx():
    args = request.args
    result = list_exports.segments_xlsx(
        current_user, args.get("town", ""), args.get("village", ""), args.get("class", ""), args.get("q", "").strip()
    )
    return _xlsx(result, "segments")


@registry_bp.route("/download")
@allow(*OFFICES)
def network_download():
    """The register (the office's scope) as GeoPackage / zipped Shapefile / GeoJSON / XLSX, re-importable."""
    from roadchief.services.network_export import export_bytes

    fmt = request.args.get("format", "gpkg")
    data, name, mimetype = export_bytes(fmt, current_user)
    return attachment(data, name, mimetype, ascii_name="network." + name.rsplit(".", 1)[1])


@funding_bp.route("/<int:year>/ledger.xlsx")
@allow(*MANAGERS)
def ledger_xlsx(year: int):
    from roadchief.web.funding_admin import KIND_LABELS

    return _xlsx(list_exports.ledger_xlsx(year, KIND_LABELS), f"ledger-{year}")


@inspections_bp.route("/rectifications.xlsx")
@allow(*roles_for(READ))
def rectifications_xlsx():
    view = request.args.get("view", "active")
    return _xlsx(list_exports.rectifications_xlsx(current_user, view, clock.beijing_today()), "rectifications")


@public_bp.route("/reports.xlsx")
@allow(*HANDLERS)
def reports_xlsx():
    return _xlsx(list_exports.reports_xlsx(current_user, request.args.get("status", "open")), "public-reports")


@operations_bp.route("/events.xlsx")
@allow(*roles_for(READ))
def events_xlsx():
    return _xlsx(list_exports.events_xlsx(current_user, request.args.get("state", "open")), "events")
