"""Photo uploads (public reports, inspections): only real JPEG/PNG/WebP images are kept,
stored outside the web root under generated names, with a re-encoded thumbnail.

Files land in UPLOAD_DIR/YYYY/MM/<uuid4>.<ext> and UPLOAD_DIR/YYYY/MM/<uuid4>_thumb.jpg;
the paths handed back are relative to UPLOAD_DIR so the folder can move. They are
served only by access-checked views (see ``open_photo``), never by a static route.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath

from PIL import Image, ImageOps, UnidentifiedImageError

from roadchief.domain import clock
from roadchief.services import ServiceError

DEFAULT_MAX_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_PIXELS = 40_000_000
THUMB_SIZE = 320
FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp")}
MIMETYPES = {ext: mime for ext, mime in FORMATS.values()}
_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL = 36867
_DATETIME = 306


@dataclass(frozen=True)
class StoredPhoto:
    path: str  # relative to the upload folder, POSIX separators
    thumb_path: str
    taken_at: datetime | None
    mimetype: str
    width: int
    height: int
    sha256: str = ""  # of the stored bytes (the field app's photo receipt)


def _read(file_storage, max_bytes: int) -> bytes:
    stream = getattr(file_storage, "stream", file_storage)
    data = stream.read(max_bytes + 1)
    if not data:
        raise ServiceError("照片文件为空")
    if len(data) > max_bytes:
        raise ServiceError(f"照片过大：不能超过 {max_bytes // (1024 * 1024)} MB")
    return data


def _exif_taken_at(image: Image.Image) -> datetime | None:
    try:
        exif = image.getexif()
        value = exif.get_ifd(_EXIF_IFD).get(_DATETIME_ORIGINAL) or exif.get(_DATETIME)
    except Exception:  # broken EXIF never blocks a photo
        return None
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value.strip().rstrip("\x00")[:19], "%Y:%m:%d %H:%M:%S")  # noqa: DTZ007  (EXIF camera time has no zone; kept as written)
    except ValueError:
        return None


def inspect_photo(data: bytes, max_pixels: int = DEFAULT_MAX_PIXELS) -> tuple[str, int, int, datetime | None]:
    """Check that the bytes are a whole JPEG/PNG/WebP image of sane size.

    Returns (format, width, height, taken_at); raises ServiceError otherwise. The
    pixel count is checked from the header before any pixel is decoded.
    """
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: make it an error
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                if fmt not in FORMATS:
                    raise ServiceError("照片格式不支持：只接受 JPEG、PNG 或 WebP 图片")
                if width < 1 or height < 1 or width * height > max_pixels:
                    raise ServiceError(f"照片尺寸异常（{width}×{height} 像素），请上传普通手机照片")
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                taken_at = _exif_taken_at(image)
        except ServiceError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ServiceError("照片尺寸过大，请上传普通手机照片") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise ServiceError("文件不是有效的图片：只接受 JPEG、PNG 或 WebP 照片") from None
    return fmt, width, height, taken_at


def _thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode not in ("RGB", "L"):
            background = Image.new("RGB", image.size, "white")
            rgba = image.convert("RGBA")
            background.paste(rgba, mask=rgba.getchannel("A"))
            image = background
        image.thumbnail((THUMB_SIZE, THUMB_SIZE))
        out = io.BytesIO()
        image.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
        return out.getvalue()


def save_photo(
    file_storage,
    upload_dir: str | Path,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    now: datetime | None = None,
) -> StoredPhoto:
    """Validate an uploaded photo and store it with a thumbnail; ServiceError on rejection.

    The client's file name and content type are ignored: the format is what Pillow
    decodes, and the stored name is a fresh uuid4.
    """
    data = _read(file_storage, max_bytes)
    fmt, width, height, taken_at = inspect_photo(data, max_pixels)
    ext, mimetype = FORMATS[fmt]
    now = clock.to_beijing(clock.as_beijing_input(now)) if now else clock.beijing_now()  # folders by Beijing year/month
    folder = PurePosixPath(f"{now:%Y}", f"{now:%m}")
    name = uuid.uuid4().hex
    relative = folder / f"{name}.{ext}"
    thumb_relative = folder / f"{name}_thumb.jpg"
    root = Path(upload_dir)
    target = root / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    thumb = _thumbnail(data)
    with open(target, "xb") as handle:
        handle.write(data)
    with open(root / thumb_relative, "xb") as handle:
        handle.write(thumb)
    return StoredPhoto(
        str(relative), str(thumb_relative), taken_at, mimetype, width, height, hashlib.sha256(data).hexdigest()
    )


def resolve_stored(upload_dir: str | Path, relative: str) -> Path:
    """The absolute path of a stored file, refusing anything that escapes the folder."""
    root = Path(upload_dir).resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        raise FileNotFoundError(relative)
    return path


def mimetype_for(relative: str) -> str:
    return MIMETYPES.get(relative.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def delete_stored(upload_dir: str | Path, *relatives: str | None) -> None:
    """Remove files of a photo whose database row was not written (best effort)."""
    for relative in relatives:
        if relative:
            try:
                resolve_stored(upload_dir, relative).unlink()
            except (FileNotFoundError, OSError):
                pass


class PhotoStage:
    """Photos written to disk before the rows naming them are committed (see staged_photos)."""

    def __init__(self, upload_dir: str | Path, max_bytes: int = DEFAULT_MAX_BYTES):
        self.upload_dir, self.max_bytes = upload_dir, max_bytes
        self.photos: list[StoredPhoto] = []

    def save(self, file_storage, max_bytes: int | None = None) -> StoredPhoto:
        """save_photo, remembered so a failed use case removes the file again."""
        photo = save_photo(file_storage, self.upload_dir, max_bytes=max_bytes or self.max_bytes)
        self.photos.append(photo)
        return photo

    def discard(self) -> None:
        for photo in self.photos:
            delete_stored(self.upload_dir, photo.path, photo.thumb_path)
        self.photos.clear()


@contextlib.contextmanager
def staged_photos(upload_dir: str | Path, max_bytes: int = DEFAULT_MAX_BYTES):
    """Stage uploaded photos for one use case: ``stage.save(file)`` stores each one; if the
    block fails (a refusal, a conflict, anything), no row points at them and they are deleted.
    Use it outside the use case's ``unit_of_work`` so the rollback comes first."""
    stage = PhotoStage(upload_dir, max_bytes)
    try:
        yield stage
    except BaseException:
        stage.discard()
        raise


def photo_columns(photo: StoredPhoto, user=None) -> dict:
    """The columns every photo row shares (inspection, event, asset photos)."""
    return {
        "path": photo.path,
        "thumb_path": photo.thumb_path,
        "mimetype": photo.mimetype,
        "width": photo.width,
        "height": photo.height,
        "taken_at": photo.taken_at,
        "user_id": getattr(user, "id", None),
    }
