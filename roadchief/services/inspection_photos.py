"""Photos of inspections, findings and rectifications: storing the uploads of a form (at most
six each), attaching one to a recorded inspection, and who may see a photo."""

from __future__ import annotations

from pathlib import Path

from roadchief.extensions import db
from roadchief.models.inspections import Inspection, InspectionPhoto, Rectification
from roadchief.services import ServiceError
from roadchief.services.inspection_scope import can_see_inspection, can_see_rectification
from roadchief.services.transactions import unit_of_work
from roadchief.services.uploads import DEFAULT_MAX_BYTES, PhotoStage, photo_columns, staged_photos

MAX_PHOTOS = 6


def _save_photos(files, stage: PhotoStage, what: str) -> list:
    """Store a form's uploads (at most six) in the use case's photo stage."""
    files = [f for f in files or [] if getattr(f, "filename", None) or getattr(f, "stream", None)]
    if len(files) > MAX_PHOTOS:
        raise ServiceError(f"{what}：照片最多 {MAX_PHOTOS} 张")
    saved = []
    for number, file in enumerate(files, start=1):
        try:
            photo = stage.save(file)
        except ServiceError as error:
            raise ServiceError(f"{what}第 {number} 张照片：{error}") from None
        saved.append(photo)
    return saved


def _photo_limit() -> int:
    from flask import current_app

    return current_app.config.get("PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)


def _stage(upload_dir: str | Path):
    """staged_photos with the configured size limit."""
    return staged_photos(upload_dir, max_bytes=_photo_limit())


def _photo_row(photo, user, **links) -> InspectionPhoto:
    return InspectionPhoto(**photo_columns(photo, user), **links)


def add_photo(
    user, inspection: Inspection, file, upload_dir: str | Path, finding_id: int | None = None
) -> InspectionPhoto:
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
    with _stage(upload_dir) as stage, unit_of_work():
        saved = _save_photos([file], stage, "照片")
        if not saved:
            raise ServiceError("请选择照片文件")
        row = _photo_row(saved[0], user, inspection_id=inspection.id, finding_id=finding_id)
        db.session.add(row)
    return row


def can_see_photo(user, photo: InspectionPhoto) -> bool:
    if photo.rectification_id is not None:
        rect = db.session.get(Rectification, photo.rectification_id)
        if rect is not None and can_see_rectification(user, rect):
            return True
    return can_see_inspection(user, photo.inspection)
