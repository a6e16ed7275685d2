"""Photos of inspections, findings and rectifications: storing the uploads of a form (at most
six each), attaching one to a recorded inspection, and who may see a photo."""
from __future__ import annotations

from pathlib import Path

from roadchief.extensions import db
from roadchief.models.inspections import Inspection, InspectionPhoto, Rectification
from roadchief.services import ServiceError
from roadchief.services.inspection_scope import can_see_inspection, can_see_rectification
from roadchief.services.uploads import DEFAULT_MAX_BYTES, delete_stored, save_photo


MAX_PHOTOS = 6


def _save_photos(files, upload_dir, what: str, stored: list) -> list:
    files = [f for f in files or [] if getattr(f, "filename", None) or getattr(f, "stream", None)]
    if len(files) > MAX_PHOTOS:
        raise ServiceError(f"{what}：照片最多 {MAX_PHOTOS} 张")
    saved = []
    for number, file in enumerate(files, start=1):
        try:
            photo = save_photo(file, upload_dir, max_bytes=_photo_limit())
        except ServiceError as error:
            raise ServiceError(f"{what}第 {number} 张照片：{error}") from None
        stored.append(photo)
        saved.append(photo)
    return saved


def _photo_limit() -> int:
    from flask import current_app
    return current_app.config.get("PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)


def _photo_row(photo, user, **links) -> InspectionPhoto:
    return InspectionPhoto(path=photo.path, thumb_path=photo.thumb_path, mimetype=photo.mimetype, width=photo.width,
                           height=photo.height, taken_at=photo.taken_at, user_id=user.id, **links)


def add_photo(user, inspection: Inspection, file, upload_dir: str | Path, finding_id: int | None = None) -> InspectionPhoto:
    """Attach a photo to an inspection (or one of its findings) after it was recorded — the
    API's way to send photos apart from the JSON. Only the recorder, and not once frozen."""
    if inspection.user_id != user.id:
        raise PermissionError("photo")
    if inspection.frozen:
        raise ServiceError("该检查记录所在季度已定稿，不能再添加照片")
    finding = next((f for f in inspection.findings if f.id == finding_id), None) if finding_id else None
    if finding_id and finding is None:
        raise ServiceError(f"问题 {finding_id} 不属于该检查记录")
    count = sum(1 for p in inspection.photos if p.finding_id == finding_id and p.rectification_id is None)
    if count >= MAX_PHOTOS:
        raise ServiceError(f"照片最多 {MAX_PHOTOS} 张")
    stored: list = []
    saved = _save_photos([file], upload_dir, "照片", stored)
    if not saved:
        raise ServiceError("请选择照片文件")
    row = _photo_row(saved[0], user, inspection_id=inspection.id, finding_id=finding_id)
    try:
        db.session.add(row)
        db.session.commit()
    except Exception:
        db.session.rollback()
        delete_stored(upload_dir, saved[0].path, saved[0].thumb_path)
        raise
    return row


def can_see_photo(user, photo: InspectionPhoto) -> bool:
    if photo.rectification_id is not None:
        rect = db.session.get(Rectification, photo.rectification_id)
        if rect is not None and can_see_rectification(user, rect):
            return True
    return can_see_inspection(user, photo.inspection)
