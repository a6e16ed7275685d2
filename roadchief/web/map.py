"""The map is the front page."""
from __future__ import annotations

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from roadchief.web.access import READERS, allow

bp = Blueprint("map", __name__)


@bp.route("/")
@allow(*READERS)
def index():
    return render_template("map/index.html", tile_url=current_app.config["TILE_URL"],
                           tile_attribution=current_app.config["TILE_ATTRIBUTION"],
                           my_chief_id=current_user.chief_id if current_user.role == "chief" else None)
