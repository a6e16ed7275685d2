"""Photos of inspections, findings and rectifications: storing the uploads of a form (at most
six each), attaching one to a recorded inspection, the receipts the field app waits for, and
who may see a photo.

A field photo may carry the phone's client id (a UUID): it is stored once (UNIQUE), and the
receipt (client id, photo id, SHA-256 of the stored bytes) tells the phone's offline queue
(static/js/offline-queue.js) that the photo arrived, so it may forget its copy.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models.inspections import Inspection, InspectionPhoto, Rectification
from roadchief.services import ServiceError
from roadchief.services.inspection_scope import can_see_inspection, can_see_rectification
from roadchief.services.transactions import unit_of_work
from roadchief.services.uploads import DEFAULT_MAX_BYTES, PhotoStage, photo_columns, staged_photos

MAX_PHOTOS = 6


def clean_client_ids(ids, count: int, what: str) -> list[str | None]:
    """The client ids sent beside ``count`` photos (none, or one UUID per photo, in order)."""
    ids = [str(i).strip() for i in ids or []]
    if not any(ids):
        return [None] * count
    if len(ids) != count:
        raise ServiceError(f"{what}：照片编号（client_id）{len(ids)} 个，照片 {count} 张，数量不符")
    cleaned: list[str | None] = []
    for number, value in enumerate(ids, start=1):
        try:
            cleaned.append(str(uuid.UUID(value)))
        except ValueError:
            raise ServiceError(f"{what}第 {number} 张照片：照片编号（client_id）格式不正确") from None
    return cleaned


def check_unused(client_ids) -> None:
    """Refuse photo client ids already stored (a different record reusing them)."""
    wanted = [c for c in client_ids if c]
    if len(set(wanted)) != len(wanted):
        raise ServiceError("照片编号（client_id）重复")
    if wanted and (
        used := list(db.session.scalars(select(InspectionPhoto.client_id).where(InspectionPhoto.client_id.in_(wanted))))
    ):
        raise ServiceError(f"照片编号已被其他记录使用：{', '.join(sorted(used))}")


def _save_photos(files, stage: PhotoStage, what: str, client_ids=None) -> list:
    """Store a form's uploads (at most six) in the use case's photo stage; each saved photo
    carries its client id (``.client_id``, None when the form sent none)."""
    files = [f for f in files or [] if getattr(f, "filename", None) or getattr(f, "stream", None)]
    if len(files) > MAX_PHOTOS:
        raise ServiceError(f"{what}：照片最多 {MAX_PHOTOS} 张")
    ids = clean_client_ids(client_ids, len(files), what)
    saved = []
    for number, (file, client_id) in enumerate(zip(files, ids, strict=True), start=1):
        try:
            photo = stage.save(file)
        except ServiceError as error:
            raise ServiceError(f"{what}第 {number} 张照片：{error}") from None
        saved.append((photo, client_id))
    return saved


def _photo_limit() -> int:
    from flask import current_app

    return current_app.config.get("PHOTO_MAX_BYTES", DEFAULT_MAX_BYTES)


def _stage(upload_dir: str | Path):
    """staged_photos with the configured size limit."""
    return staged_photos(upload_dir, max_bytes=_photo_limit())


def _photo_row(saved, user, **links) -> InspectionPhoto:
    """The row of a photo from _save_photos (a StoredPhoto and its client id)."""
    photo, client_id = saved
    return InspectionPhoto(**photo_columns(photo, user), client_id=client_id, sha256=photo.sha256 or None, **links)


def receipts(inspection: Inspection) -> list[dict]:
    """One receipt per photo of the record (not the rectification after-photos): what the
    field app compares with its queue before it forgets a photo."""
    return [
        {"client_id": p.client_id, "photo_id": p.id, "sha256": p.sha256, "finding_id": p.finding_id}
        for p in inspection.photos
        if p.rectification_id is None
    ]


def add_photo(
    user,
    inspection: Inspection,
    file,
    upload_dir: str | Path,
    finding_id: int | None = None,
    client_id: str | None = None,
) -> InspectionPhoto:
    """Attach a photo to an inspection (or one of its findings) after it was recorded — the
    API's way to send photos apart from the JSON. Only the recorder, and not once frozen.
    A ``client_id`` already stored on this inspection returns that photo (a re-sent photo)."""
    if inspection.user_id != user.id:
        raise PermissionError("photo")
    ids = clean_client_ids([client_id] if client_id else [], 1, "照片")
    if ids[0] and (same := db.session.scalar(select(InspectionPhoto).where(InspectionPhoto.client_id == ids[0]))):
        if same.inspection_id != inspection.id:
            raise ServiceError(f"照片编号已被其他记录使用：{ids[0]}")
        same.resent = True  # not a column: tells the API to answer 200
        return same
    if inspection.frozen:
        raise ServiceError("该检查记录所在季度已定稿，不能再添加照片")
    finding = next((f for f in inspection.findings if f.id == finding_id), None) if finding_id else None
    if finding_id and finding is None:
        raise ServiceError(f"问题 {finding_id} 不属于该检查记录")
    count = sum(1 for p in inspection.photos if p.finding_id == finding_id and p.rectification_id is None)
    if count >= MAX_PHOTOS:
        raise ServiceError(f"照片最多 {MAX_PHOTOS} 张")
    with _stage(upload_dir) as stage, unit_of_work():
        saved = _save_photos([file], stage, "照片", ids if ids[0] else None)
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
