"""Photo uploads (services/uploads.py): only real JPEG/PNG/WebP images are kept, under
generated names outside the web root, with a re-encoded thumbnail and the EXIF time."""

from __future__ import annotations

import io
import re
from datetime import datetime
from pathlib import Path

import pytest
from PIL import Image
from werkzeug.datastructures import FileStorage

from roadchief.services import ServiceError
from roadchief.services.uploads import (
    DEFAULT_MAX_BYTES,
    THUMB_SIZE,
    delete_stored,
    inspect_photo,
    mimetype_for,
    resolve_stored,
    save_photo,
)

NOW = datetime(2024, 5, 3, 10, 0)


def image_bytes(
    fmt: str = "JPEG", size=(800, 600), mode: str = "RGB", taken: str | None = None, orientation: int | None = None
) -> bytes:
    image = Image.new(mode, size, (200, 40, 40, 128) if mode == "RGBA" else "red" if mode == "RGB" else 0)
    out = io.BytesIO()
    kwargs = {}
    if taken or orientation:
        exif = Image.Exif()
        if taken:
            exif.get_ifd(0x8769)[36867] = taken
        if orientation:
            exif[274] = orientation
        kwargs["exif"] = exif
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def upload(data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=filename, content_type=content_type)


def test_jpeg_is_stored_under_a_generated_name_with_thumbnail_and_exif_time(tmp_path):
    stored = save_photo(
        upload(image_bytes(taken="2024:05:01 08:30:00"), filename="../../evil.php.jpg"), tmp_path, now=NOW
    )
    assert re.fullmatch(r"2024/05/[0-9a-f]{32}\.jpg", stored.path)
    assert stored.thumb_path == stored.path.replace(".jpg", "_thumb.jpg")
    assert stored.taken_at == datetime(2024, 5, 1, 8, 30)
    assert stored.mimetype == "image/jpeg" and (stored.width, stored.height) == (800, 600)
    original = tmp_path / stored.path
    assert original.read_bytes() == image_bytes(taken="2024:05:01 08:30:00")  # kept as sent
    assert not list(tmp_path.rglob("*evil*"))
    with Image.open(tmp_path / stored.thumb_path) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) == THUMB_SIZE


def test_thumbnail_follows_exif_orientation(tmp_path):
    stored = save_photo(upload(image_bytes(size=(800, 400), orientation=6)), tmp_path, now=NOW)
    with Image.open(tmp_path / stored.thumb_path) as thumb:
        assert thumb.size[1] > thumb.size[0]  # rotated to portrait as the phone showed it


@pytest.mark.parametrize("fmt, ext, mode", [("PNG", "png", "RGBA"), ("WEBP", "webp", "RGB"), ("PNG", "png", "P")])
def test_png_and_webp_accepted_and_named_by_their_real_format(tmp_path, fmt, ext, mode):
    data = image_bytes(fmt, mode=mode)
    stored = save_photo(upload(data, filename="photo.jpg"), tmp_path, now=NOW)  # the name lies; the bytes decide
    assert stored.path.endswith("." + ext)
    assert stored.taken_at is None
    with Image.open(tmp_path / stored.thumb_path) as thumb:
        assert thumb.format == "JPEG" and thumb.mode == "RGB"


def test_text_named_png_is_refused(tmp_path):
    with pytest.raises(ServiceError, match="不是有效的图片"):
        save_photo(upload(b"this is not an image at all\n" * 20, "photo.png", "image/png"), tmp_path)
    assert not list(tmp_path.rglob("*.*"))


def test_html_with_png_magic_is_refused(tmp_path):
    with pytest.raises(ServiceError, match="不是有效的图片"):
        save_photo(upload(b"\x89PNG\r\n\x1a\n<script>alert(1)</script>", "x.png", "image/png"), tmp_path)


def test_truncated_jpeg_is_refused(tmp_path):
    data = image_bytes(size=(1200, 900))
    with pytest.raises(ServiceError, match="不是有效的图片"):
        save_photo(upload(data[: len(data) // 2]), tmp_path)


def test_gif_is_refused_as_unsupported_format(tmp_path):
    with pytest.raises(ServiceError, match="格式不支持"):
        save_photo(upload(image_bytes("GIF", mode="P"), "a.gif", "image/gif"), tmp_path)


def test_empty_file_is_refused(tmp_path):
    with pytest.raises(ServiceError, match="为空"):
        save_photo(upload(b""), tmp_path)


def test_oversized_file_is_refused_before_decoding(tmp_path):
    data = image_bytes()
    with pytest.raises(ServiceError, match="照片过大"):
        save_photo(upload(data), tmp_path, max_bytes=len(data) - 1)
    assert DEFAULT_MAX_BYTES == 8 * 1024 * 1024
    with pytest.raises(ServiceError, match="不能超过 8 MB"):
        save_photo(upload(b"\xff\xd8\xff" + b"\0" * DEFAULT_MAX_BYTES), tmp_path)
    assert not list(tmp_path.rglob("*.*"))


def test_too_many_pixels_is_refused_from_the_header(tmp_path):
    # 8000 × 6000 = 48 megapixels, a few kilobytes as a flat PNG
    data = image_bytes("PNG", size=(8000, 6000), mode="1")
    assert len(data) < 200_000
    with pytest.raises(ServiceError, match="尺寸"):
        save_photo(upload(data, "big.png", "image/png"), tmp_path)
    with pytest.raises(ServiceError, match="尺寸"):
        inspect_photo(image_bytes(size=(100, 100)), max_pixels=9_999)


def test_decompression_bomb_is_refused(tmp_path):
    # far past Pillow's own bomb limit: must be refused without decoding
    data = image_bytes("PNG", size=(20000, 20000), mode="1")
    with pytest.raises(ServiceError, match="尺寸"):
        inspect_photo(data, max_pixels=10**12)


def test_resolve_stored_refuses_paths_leaving_the_folder(tmp_path):
    stored = save_photo(upload(image_bytes()), tmp_path / "up", now=NOW)
    assert resolve_stored(tmp_path / "up", stored.path).is_file()
    (tmp_path / "secret.txt").write_text("x")
    for bad in ("../secret.txt", "/etc/passwd", "2024/../../secret.txt", "2024/05/missing.jpg"):
        with pytest.raises(FileNotFoundError):
            resolve_stored(tmp_path / "up", bad)
    delete_stored(tmp_path / "up", stored.path, stored.thumb_path, None)
    assert not Path(tmp_path / "up" / stored.path).exists()


def test_mimetypes():
    assert mimetype_for("2024/05/x.jpg") == "image/jpeg"
    assert mimetype_for("2024/05/x.png") == "image/png"
    assert mimetype_for("2024/05/x.webp") == "image/webp"
    assert mimetype_for("2024/05/x.html") == "application/octet-stream"
