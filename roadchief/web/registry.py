"""Registry pages: roads and segments by town/village/class, a segment's chiefs,
the organisation tree (组织体系图) and the coverage report."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from roadchief.domain.clock import beijing_today
from roadchief.domain.permissions import READ, READ_COVERAGE, roles_for
from roadchief.domain.roads import CHIEF_POSITIONS, ROAD_CLASSES
from roadchief.domain.stakes import format_stake
from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, Road, Segment, Town, Village
from roadchief.services import permissions
from roadchief.services.chiefs import AssignmentIndex, coverage_gaps
from roadchief.services.list_exports import registry_query
from roadchief.services.network import network_summary
from roadchief.services.permissions import can_see_segment, segment_condition
from roadchief.web.access import allow

bp = Blueprint("registry", __name__, url_prefix="/registry")
PAGE_SIZE = 50


@bp.app_template_filter("stake")
def stake_filter(metres: int) -> str:
    return format_stake(metres)


def _day() -> date:
    try:
        return date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return beijing_today()


@bp.route("/")
@allow(*roles_for(READ))
def segments():
    town_code = request.args.get("town", "")
    village_code = request.args.get("village", "")
    road_class = request.args.get("class", "")
    text = request.args.get("q", "").strip()
    page = max(1, request.args.get("page", 1, type=int))
    query = registry_query(current_user, town_code, village_code, road_class, text)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(Road.code, Segment.start_m).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    listed = query.where(Segment.is_listed.is_(True)).with_only_columns(Segment.listed_m).subquery()
    listed_m = db.session.scalar(select(func.coalesce(func.sum(listed.c.listed_m), 0)))
    towns = db.session.scalars(select(Town).order_by(Town.code)).all()
    villages = (
        db.session.scalars(select(Village).join(Town).where(Town.code == town_code).order_by(Village.code)).all()
        if town_code
        else []
    )
    return render_template(
        "registry/segments.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        towns=towns,
        villages=villages,
        classes=ROAD_CLASSES,
        listed_km=f"{listed_m / 1000:.3f}",
        args=request.args,
    )


@bp.route("/segments/<int:segment_id>")
@allow(*roles_for(READ))
def segment(segment_id: int):
    segment = db.get_or_404(Segment, segment_id)
    if not can_see_segment(current_user, segment):
        abort(403)
    day = _day()
    index = AssignmentIndex(day)
    history = db.session.scalars(
        select(ChiefAssignment)
        .options(selectinload(ChiefAssignment.chief))
        .where(
            (ChiefAssignment.segment_id == segment.id)
            | (ChiefAssignment.road_id == segment.road_id)
            | (ChiefAssignment.town_id == segment.town_id)
            | ((ChiefAssignment.village_id == segment.village_id) if segment.village_id else False)
            | ((ChiefAssignment.station_id == segment.station_id) if segment.station_id else False)
        )
        .order_by(ChiefAssignment.start_date)
    ).all()
    return render_template(
        "registry/segment.html",
        segment=segment,
        chiefs=index.chiefs_for(segment),
        missing=index.missing_levels(segment),
        history=history,
        day=day,
    )


@bp.route("/roads/<code>")
@allow(*roles_for(READ))
def road(code: str):
    road = db.session.scalar(select(Road).where(Road.code == code)) or abort(404)
    visible = db.session.scalars(
        select(Segment).where(Segment.road_id == road.id, segment_condition(current_user)).order_by(Segment.start_m)
    ).all()
    if not visible:
        abort(403)
    return render_template("registry/road.html", road=road, segments=visible)


@bp.route("/chiefs")
@allow(*roles_for(READ))
def org_tree():
    """组织体系图: positions from 总路长 down to the village chiefs and maintainers."""
    day = _day()
    rows = db.session.scalars(
        select(ChiefAssignment).options(
            selectinload(ChiefAssignment.chief),
            selectinload(ChiefAssignment.town),
            selectinload(ChiefAssignment.village),
            selectinload(ChiefAssignment.station),
            selectinload(ChiefAssignment.segment),
        )
    ).all()
    active = [a for a in rows if a.active_on(day)]
    if permissions.is_town_office(current_user):
        active = [
            a
            for a in active
            if a.scope_kind == "city"
            or a.town_id == current_user.town_id
            or (a.village and a.village.town_id == current_user.town_id)
            or (a.segment and a.segment.town_id == current_user.town_id)
        ]
    by_position = {p.code: [] for p in CHIEF_POSITIONS}
    for a in active:
        by_position[a.chief.position].append(a)
    towns = db.session.scalars(select(Town).options(selectinload(Town.villages)).order_by(Town.code)).all()
    village_chiefs = {a.village_id: a.chief for a in by_position["village"]}
    town_chiefs = {a.town_id: a.chief for a in by_position["town"]}
    return render_template(
        "registry/org_tree.html",
        positions=CHIEF_POSITIONS,
        by_position=by_position,
        towns=towns,
        town_chiefs=town_chiefs,
        village_chiefs=village_chiefs,
        day=day,
        own_town=permissions.office_town_id(current_user),
    )


@bp.route("/chiefs/<int:chief_id>")
@allow(*roles_for(READ))
def chief(chief_id: int):
    chief = db.get_or_404(Chief, chief_id)
    if not permissions.is_own_chief(current_user, chief.id):
        abort(403)
    return render_template("registry/chief.html", chief=chief)


@bp.route("/coverage")
@allow(*roles_for(READ_COVERAGE))
def coverage():
    day = _day()
    town_id = permissions.office_town_id(current_user)
    gaps = coverage_gaps(day, town_id=town_id)
    return render_template("registry/coverage.html", gaps=gaps, day=day)


@bp.route("/summary")
@allow(*roles_for(READ))
def summary():
    town_id = permissions.office_town_id(current_user)
    return render_template("registry/summary.html", summary=network_summary(town_id=town_id))
