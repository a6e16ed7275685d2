"""Operations pages for road assets (路产): list and import, recording and editing, condition, linked inspections."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from roadchief.domain.permissions import ASSET_CONDITION, EDIT_ASSETS, IMPORT_ASSETS, READ, roles_for
from roadchief.extensions import db
from roadchief.models.operations import ASSET_CONDITIONS, ASSET_KINDS, RoadAsset, RoadAssetPhoto
from roadchief.services import ServiceError, permissions
from roadchief.services import assets as asset_service
from roadchief.services import events as service
from roadchief.web.access import allow
from roadchief.web.operations import _files, _query_segment, bp
from roadchief.web.photos import send_stored_photo


@bp.route("/assets")
@allow(*roles_for(READ))
def assets():
    kind = request.args.get("kind") or None
    return render_template(
        "operations/assets.html",
        kinds=ASSET_KINDS,
        kind=kind,
        road_code=request.args.get("road", ""),
        rows=asset_service.list_assets(current_user, kind, request.args.get("road") or None),
    )


@bp.route("/assets/import", methods=["POST"])
@allow(*roles_for(IMPORT_ASSETS))
def assets_import():
    import tempfile
    from pathlib import Path

    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash("请选择文件", "error")
        return redirect(url_for("operations.assets"))
    suffix = "".join(Path(upload.filename).suffixes[-1:]).lower()
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / f"assets{suffix}"
        upload.save(target)
        try:
            report = asset_service.import_assets(target, dry_run=bool(request.form.get("dry_run")))
            flash(report.summary().replace(str(target.name), upload.filename), "success")
        except ServiceError as error:
            errors = getattr(error, "errors", [])
            flash(str(error) + ("：" + "；".join(str(e) for e in errors[:20]) if errors else ""), "error")
    return redirect(url_for("operations.assets"))


def _asset_form() -> asset_service.AssetInput:
    form = request.form
    return asset_service.AssetInput(
        kind=form.get("kind", ""),
        code=form.get("code", ""),
        segment_id=form.get("segment_id", ""),
        name=form.get("name", ""),
        stake=form.get("stake", ""),
        condition=form.get("condition", ""),
        quantity=form.get("quantity", "1"),
        position=form.get("position", "stake"),
        lon=form.get("lon", ""),
        lat=form.get("lat", ""),
        note=form.get("note", ""),
        photos=_files("photos"),
    )


def _asset_page(form, item=None, status: int = 200):
    return render_template(
        "operations/asset_form.html",
        asset=item,
        form=form,
        kinds=ASSET_KINDS,
        conditions=ASSET_CONDITIONS,
        choices=service.segment_choices(current_user),
    ), status


@bp.route("/assets/new", methods=["GET", "POST"])
@allow(*roles_for(EDIT_ASSETS))
def asset_new():
    if request.method == "POST":
        try:
            item = asset_service.create_asset(current_user, _asset_form(), current_app.config["UPLOAD_DIR"])
        except ServiceError as error:
            flash(str(error), "error")
            return _asset_page(request.form, None, 400)
        flash(f"路产 {item.code} 已登记", "success")
        return redirect(url_for("operations.asset", asset_id=item.id))
    segment = _query_segment()
    return _asset_page(
        {"segment_id": str(segment.id) if segment else "", "condition": "good", "quantity": "1", "position": "stake"}
    )


@bp.route("/assets/<int:asset_id>/edit", methods=["GET", "POST"])
@allow(*roles_for(EDIT_ASSETS))
def asset_edit(asset_id: int):
    item = db.get_or_404(RoadAsset, asset_id)
    if not asset_service.can_manage(current_user, item.segment):
        abort(403)
    if request.method == "POST":
        try:
            asset_service.update_asset(current_user, item, _asset_form(), current_app.config["UPLOAD_DIR"])
        except ServiceError as error:
            flash(str(error), "error")
            return _asset_page(request.form, item, 400)
        flash("路产信息已保存", "success")
        return redirect(url_for("operations.asset", asset_id=item.id))
    from roadchief.domain.stakes import format_stake

    return _asset_page(
        {
            "kind": item.kind,
            "code": item.code,
            "name": item.name,
            "segment_id": str(item.segment_id),
            "stake": format_stake(item.stake_m) if item.stake_m is not None else "",
            "condition": item.condition,
            "quantity": str(item.quantity),
            "position": "keep",
            "lon": item.lon,
            "lat": item.lat,
            "note": item.note,
        },
        item,
    )


@bp.route("/assets/<int:asset_id>", methods=["GET", "POST"])
@allow(*roles_for(READ))
def asset(asset_id: int):
    item = db.get_or_404(RoadAsset, asset_id)
    if not asset_service.can_see_asset(current_user, item):
        abort(403)
    if request.method == "POST":
        try:
            asset_service.set_condition(
                current_user,
                item,
                request.form.get("condition", ""),
                request.form.get("note", ""),
                request.files.get("photo"),
                current_app.config["UPLOAD_DIR"],
            )
            flash("路产状况已更新", "success")
        except ServiceError as error:
            flash(str(error), "error")
        return redirect(url_for("operations.asset", asset_id=asset_id))
    return render_template(
        "operations/asset.html",
        asset=item,
        conditions=ASSET_CONDITIONS,
        inspections=asset_service.inspections_of_asset(item),
        can_manage=asset_service.can_manage(current_user, item.segment),
        can_edit=permissions.can(current_user, ASSET_CONDITION),
    )


@bp.route("/assets/<int:asset_id>/inspections", methods=["POST"])
@allow(*roles_for(ASSET_CONDITION))
def asset_link(asset_id: int):
    """Record that an inspection (one the user can see, on the asset's segment) looked at this asset."""
    from roadchief.models.inspections import Inspection
    from roadchief.services.inspection_scope import can_see_inspection

    item = db.get_or_404(RoadAsset, asset_id)
    if not asset_service.can_see_asset(current_user, item):
        abort(403)
    raw = request.form.get("inspection_id", "")
    inspection = db.session.get(Inspection, int(raw)) if raw.isdigit() and int(raw) < 2**31 else None
    if inspection is None or not can_see_inspection(current_user, inspection):
        flash("检查记录不存在或无权查看", "error")
        return redirect(url_for("operations.asset", asset_id=asset_id))
    try:
        asset_service.link_inspection(inspection.id, item, request.form.get("note", ""))
        flash("已关联检查记录", "success")
    except ServiceError as error:
        flash(str(error), "error")
    return redirect(url_for("operations.asset", asset_id=asset_id))


@bp.route("/asset-photos/<int:photo_id>")
@allow(*roles_for(READ))
def asset_photo(photo_id: int):
    photo = db.get_or_404(RoadAssetPhoto, photo_id)
    if not asset_service.can_see_asset(current_user, photo.asset):
        abort(403)
    return send_stored_photo(photo.thumb_path if request.args.get("thumb") else photo.path)
