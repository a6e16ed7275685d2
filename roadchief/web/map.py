"""The map is the front page of the signed-in; an anonymous visitor to / gets the public page."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, url_for
from flask_login import current_user

from roadchief.domain.clock import beijing_today
from roadchief.domain.permissions import READ, roles_for
from roadchief.services import permissions
from roadchief.web.access import PUBLIC, admits, allow

bp = Blueprint("map", __name__)


@bp.route("/")
@allow(PUBLIC, *roles_for(READ))
def index():
    if not current_user.is_authenticated:
        # the public 公示 page (search, 反馈, 进度查询) with a staff sign-in link (第七条 社会监督)
        return redirect(url_for("public.index"))
    from roadchief.services.road_tiles import scope_extent

    config = current_app.config
    count, extent = scope_extent(current_user)
    tiled = count > config.get("MAP_TILES_ABOVE", 5000)
    return render_template(
        "map/index.html",
        tiled=tiled,
        extent=",".join(f"{v:.5f}" for v in extent) if extent else "",
        scope_count=count,
        tile_url=config.get("TILE_URL", ""),
        tile_label_url=config.get("TILE_LABEL_URL", ""),
        tile_subdomains=config.get("TILE_SUBDOMAINS", "abc"),
        tile_attribution=config.get("TILE_ATTRIBUTION", ""),
        my_chief_id=permissions.own_chief_id(current_user),
    )


def has_endpoint(name: str) -> bool:
    """True when a view of this name is registered (blueprints written by others may not exist yet)."""
    return name in current_app.view_functions


def can_visit(name: str) -> bool:
    """True when the endpoint exists and its access rule lets the current user in — the nav uses it
    so a link is shown exactly when following it would not be refused."""
    view = current_app.view_functions.get(name)
    rule = getattr(view, "access", None)
    if not rule:
        return False
    return admits(rule)


def position_name(code: str) -> str:
    from roadchief.services.chiefs import POSITION_NAMES

    return POSITION_NAMES.get(code, code)


@bp.app_context_processor
def template_helpers():
    return {
        "has_endpoint": has_endpoint,
        "can_visit": can_visit,
        "position_name": position_name,
        "today": beijing_today(),
        "map_tiles": {
            "url": current_app.config.get("TILE_URL", ""),
            "attribution": current_app.config.get("TILE_ATTRIBUTION", ""),
        },
    }
