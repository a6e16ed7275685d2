"""Patrol pages under /patrols (第二十二条 手机APP): record a track on the phone, the list of
tracks and their flags with the 督查 suspected of being made at a desk, one track, and the
city office's yearly proof-of-patrol rules. Views parse, call the services, render."""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from roadchief.domain import clock
from roadchief.domain.patrol_proof import FLAG_LABELS
from roadchief.domain.permissions import EDIT_CATALOG, LOG_INSPECTION, READ, READ_RESULTS, roles_for
from roadchief.domain.scoring import DUTY_PHASES
from roadchief.models.patrols import PATROL_KINDS
from roadchief.services import patrol_rules, patrol_views, patrols
from roadchief.services.patrol_gpx import track_gpx
from roadchief.web.access import allow, can

bp = Blueprint("patrols", __name__, url_prefix="/patrols")


def _year() -> int:
    try:
        year = int(request.args.get("year") or clock.beijing_today().year)
    except ValueError:
        year = clock.beijing_today().year
    return min(max(year, patrol_rules.MIN_YEAR), patrol_rules.MAX_YEAR)


@bp.get("/")
@allow(*roles_for(READ))
def index():
    year = _year()
    flagged = request.args.get("flagged") == "1"
    return render_template(
        "patrols/index.html",
        year=year,
        flagged=flagged,
        tracks=patrols.tracks(current_user, flagged_only=flagged),
        show_desk=can(READ_RESULTS),
        desk=patrol_views.desk_suspects(current_user, year) if can(READ_RESULTS) else [],
        rules=patrol_rules.rules_for(year),
        flag_labels=FLAG_LABELS,
        can_record=can(LOG_INSPECTION),
        can_edit_rules=can(EDIT_CATALOG),
    )


@bp.get("/new")
@allow(*roles_for(LOG_INSPECTION))
def new():
    return render_template("patrols/new.html", kinds=PATROL_KINDS, phases=DUTY_PHASES)


@bp.get("/<int:track_id>")
@allow(*roles_for(READ))
def detail(track_id: int):
    track = patrols.get_track(current_user, track_id)
    return render_template("patrols/detail.html", track=track, data=patrol_views.track_json(track))


@bp.get("/<int:track_id>/track.gpx")
@allow(*roles_for(READ))
def gpx(track_id: int):
    track = patrols.get_track(current_user, track_id)
    text = track_gpx(f"巡查轨迹 {track.id}", patrols.points_of(track), track.patroller_name)
    return Response(
        text,
        mimetype="application/gpx+xml",
        headers={"Content-Disposition": f'attachment; filename="patrol-{track.id}.gpx"'},
    )


@bp.route("/rules", methods=["GET", "POST"])
@allow(*roles_for(EDIT_CATALOG))
def rules():
    year = _year()
    if request.method == "POST":
        year = int(request.form.get("year") or year)
        patrol_rules.set_rules(year, request.form, by=current_user.username)
        flash(f"{year} 年巡查核验规则已保存", "success")
        return redirect(url_for("patrols.rules", year=year))
    return render_template(
        "patrols/rules.html", year=year, rows=patrol_rules.rule_rows(year), default=patrol_rules.is_default(year)
    )
