"""Backup and restore of the whole register: database rows and uploaded photos in one archive.

A backup is one ``.tar.gz`` holding

* ``manifest.json`` — format and version, when it was made, the schema revision
  (``alembic_version``), the database dialect, every table's row count and content
  digest, the money checksums (Σ ledger_entry.amount_fen, Σ quarter_score.score_centi)
  and the SHA-256 of every other member;
* ``data/<table>.jsonl`` — a logical dump of every table: a header line naming the
  columns, then one JSON array per row. Values JSON cannot carry exactly are tagged
  (``{"$d": "2024-01-01"}``, ``{"$dt": …}``, ``{"$dec": "1.50"}``, ``{"$b64": …}``),
  and datetimes with a zone are written as UTC, so a dump restores into SQLite or
  PostgreSQL alike (SQLite → PostgreSQL migration included) and into any schema;
* ``database.sqlite3`` (SQLite only) — the file copy made with SQLite's online
  backup API, from which the JSON dump itself is read, so both are one consistent
  snapshot; on PostgreSQL the dump is read in one REPEATABLE READ transaction;
* ``photos/…`` — the UPLOAD_DIR tree.

Restore (services.backup_restore) goes into an empty database only; the dump's encoding,
counts, digests and checksums are in services.backup_dump.

The archive is written beside its final name and renamed into place, mode 0600: it
holds password digests and reporters' phone numbers.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import tarfile
import tempfile
from pathlib import Path

from flask import current_app
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from roadchief.extensions import db
from roadchief.models.base import utcnow
from roadchief.services import ServiceError
from roadchief.services.backup_dump import (
    DATA_DIR,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    PHOTOS_DIR,
    SQLITE_COPY,
    _dump_database,
    _sha256,
)

# ---------------------------------------------------------------- backup


def upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


def _photo_files(root: Path) -> list[tuple[str, Path]]:
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found.append((path.relative_to(root).as_posix(), path))
    return found


def _dump_sqlite(folder: Path) -> dict:
    """Online backup of the live SQLite database, then the JSON dump read from that copy."""
    copy = folder / SQLITE_COPY
    raw = db.engine.raw_connection()
    try:
        target = sqlite3.connect(copy)
        try:
            raw.driver_connection.backup(target)
        finally:
            target.close()
    finally:
        raw.close()
    engine = create_engine(f"sqlite:///{copy}", poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return _dump_database(conn, folder)
    finally:
        engine.dispose()


def _dump_live(folder: Path) -> dict:
    """PostgreSQL (or another server database): one read-only repeatable-read snapshot."""
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SET TRANSACTION READ ONLY"))
            return _dump_database(conn, folder)


def create_backup(path, overwrite: bool = False) -> dict:
    """Write the backup archive to ``path``; return its manifest."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ServiceError(f"备份文件已存在：{path}（如需覆盖请加 --overwrite）")
    if not path.parent.is_dir():
        raise ServiceError(f"目录不存在：{path.parent}")
    root = upload_dir()
    if root.resolve() in path.parent.resolve().parents or root.resolve() == path.parent.resolve():
        raise ServiceError(f"备份文件不能放在照片目录 {root} 之内")
    dialect = db.engine.dialect.name
    with tempfile.TemporaryDirectory(prefix=".roadchief-backup-", dir=path.parent) as work:
        folder = Path(work)
        dumped = _dump_sqlite(folder) if dialect == "sqlite" else _dump_live(folder)
        if dumped["schema_revision"] is None:
            raise ServiceError("数据库尚未初始化（没有 alembic_version），请先运行 roadchief init-db")
        members = [f"{DATA_DIR}/{name}.jsonl" for name in dumped["table_order"]]
        if dialect == "sqlite":
            members.append(SQLITE_COPY)
        files = {name: {"sha256": _sha256(folder / name), "size": (folder / name).stat().st_size} for name in members}
        photos = []
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": utcnow().isoformat(timespec="seconds"),
            "dialect": dialect,
            **dumped,
            "files": files,
            "photos": photos,
        }
        partial = path.with_name(f".{path.name}.partial")
        try:
            with tarfile.open(partial, "w:gz") as archive:
                for name in members:
                    archive.add(folder / name, arcname=name, recursive=False)
                for relative, source in _photo_files(root):
                    # hash exactly the bytes archived, so a photo replaced meanwhile cannot mismatch
                    data = source.read_bytes()
                    photos.append({"path": relative, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)})
                    _add_bytes(archive, f"{PHOTOS_DIR}/{relative}", data)
                # last, so it describes exactly what went in
                _add_bytes(archive, MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2).encode())
            with open(partial, "rb+") as handle:
                os.fsync(handle.fileno())
            partial.chmod(0o600)  # password digests, reporters' phone numbers: not for every reader
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(utcnow().timestamp())
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def summary(manifest: dict) -> dict:
    """The manifest without the per-file lists, for printing."""
    return {
        "format_version": manifest["format_version"],
        "created_at": manifest["created_at"],
        "dialect": manifest["dialect"],
        "schema_revision": manifest["schema_revision"],
        "tables": manifest["tables"],
        "rows_total": sum(manifest["tables"].values()),
        "checksums": manifest["checksums"],
        "photos": len(manifest["photos"]),
        "photo_bytes": sum(p["size"] for p in manifest["photos"]),
    }
