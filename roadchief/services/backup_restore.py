"""Restoring a backup archive: every member checked against the manifest before the database is
touched, then all rows loaded into an empty database in one transaction and verified, then the photos.

Restore goes into an empty database only: the ledger and the audit log are
append-only (triggers refuse UPDATE and DELETE), so there is no "merge". The target
is migrated to head, or — when it is empty and the backup was made by an older
roadchief — to the backup's revision and to head after the rows are in. A target
holding rows, or of another revision, is refused. Every table is inserted in
foreign-key order with its own primary keys in one transaction, PostgreSQL sequences
are set past the restored ids, and counts, digests and money checksums are checked
against the manifest before the commit; then the photos are copied, never over a
different file of the same name. Any failure rolls the transaction back and removes
the photos already copied: the target stays empty. A damaged archive (truncated,
altered, not ours) is detected before the database is touched.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path, PurePosixPath

from sqlalchemy import Connection, MetaData, Table, func, select, text
from sqlalchemy import inspect as sa_inspect

from roadchief.extensions import db
from roadchief.services import ServiceError
from roadchief.services.backup import summary, upload_dir
from roadchief.services.backup_dump import (
    _CHUNK,
    BATCH,
    DATA_DIR,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    PHOTOS_DIR,
    _column_decoder,
    _reflect,
    _schema_revision,
    _sha256,
    _tables,
    money_checksums,
    table_counts,
    table_digests,
)

# ---------------------------------------------------------------- reading an archive


def _corrupt(path: Path, reason: str) -> ServiceError:
    return ServiceError(f"备份文件已损坏或不完整：{path.name}（{reason}），未写入任何数据")


def _safe_member_path(name: str) -> PurePosixPath | None:
    pure = PurePosixPath(name)
    if pure.is_absolute() or ".." in pure.parts or "\\" in name or not pure.parts:
        return None
    return pure


def _extract(path: Path, folder: Path) -> dict:
    """Unpack every member into ``folder`` and check it against the manifest."""
    if not path.is_file():
        raise ServiceError(f"备份文件不存在：{path}")
    hashes: dict[str, tuple[str, int]] = {}
    try:
        with tarfile.open(path, "r:gz") as archive:
            for member in archive:
                if member.isdir():
                    continue
                pure = _safe_member_path(member.name)
                if pure is None or not member.isfile():
                    raise _corrupt(path, f"不允许的成员 {member.name!r}")
                target = folder.joinpath(*pure.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                source = archive.extractfile(member)
                with open(target, "wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                if size != member.size:
                    raise _corrupt(path, f"{member.name} 不完整")
                hashes[pure.as_posix()] = (digest.hexdigest(), size)
    except ServiceError:
        raise
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise _corrupt(path, f"{type(error).__name__}: {error}") from None
    if MANIFEST not in hashes:
        raise _corrupt(path, "缺少 manifest.json")
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _corrupt(path, f"manifest.json 无法解析：{error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ServiceError(f"{path.name} 不是 roadchief 备份文件")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ServiceError(f"备份格式版本 {manifest.get('format_version')} 不受支持（本程序支持 {FORMAT_VERSION}）")
    try:
        expected = {name: (f["sha256"], f["size"]) for name, f in manifest["files"].items()}
        expected.update({f"{PHOTOS_DIR}/{p['path']}": (p["sha256"], p["size"]) for p in manifest["photos"]})
        for name in manifest["table_order"]:
            if (
                f"{DATA_DIR}/{name}.jsonl" not in expected
                or name not in manifest["tables"]
                or name not in manifest["digests"]
            ):
                raise _corrupt(path, f"清单中缺少表 {name} 的数据文件或行数")
        {str(k): int(v) for k, v in manifest["checksums"].items()}
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise _corrupt(path, f"manifest.json 内容不完整：{type(error).__name__}: {error}") from None
    missing = sorted(set(expected) - set(hashes))
    if missing:
        raise _corrupt(path, f"缺少 {len(missing)} 个文件：{'、'.join(missing[:5])}")
    unexpected = sorted(set(hashes) - set(expected) - {MANIFEST})
    if unexpected:
        raise _corrupt(path, f"清单之外的文件：{'、'.join(unexpected[:5])}")
    damaged = sorted(name for name, value in expected.items() if hashes[name] != value)
    if damaged:
        raise _corrupt(path, f"{len(damaged)} 个文件校验和不符：{'、'.join(damaged[:5])}")
    return manifest


def read_manifest(path) -> dict:
    """Check the whole archive (every member's SHA-256) and return its manifest."""
    with tempfile.TemporaryDirectory(prefix="roadchief-restore-") as work:
        return _extract(Path(path), Path(work))


# ---------------------------------------------------------------- restore


def _check_target(conn: Connection, metadata: MetaData, manifest: dict) -> list[Table]:
    revision = _schema_revision(conn, metadata)
    if revision != manifest["schema_revision"]:
        raise ServiceError(
            f"备份的数据库结构版本为 {manifest['schema_revision']}，目标数据库为 {revision}："
            "请用同一版本的 roadchief 恢复（恢复后再升级）"
        )
    tables = {t.name: t for t in _tables(metadata)}
    missing = [name for name in manifest["table_order"] if name not in tables]
    extra = [name for name in tables if name not in manifest["tables"]]
    if missing or extra:
        raise ServiceError(f"备份与目标数据库的表不一致：缺少 {missing or '无'}，多出 {extra or '无'}")
    occupied = [name for name, table in tables.items() if conn.execute(select(1).select_from(table).limit(1)).first()]
    if occupied:
        raise ServiceError(
            f"目标数据库不是空库（{'、'.join(occupied[:8])} 等 {len(occupied)} 个表已有数据）："
            "恢复只能写入新建的空库，已有数据不会被覆盖；请新建数据库（roadchief init-db）后再恢复"
        )
    return [t for t in _tables(metadata)]


def _load_table(conn: Connection, table: Table, data_file: Path) -> int:
    dialect = conn.dialect.name
    with open(data_file, encoding="utf-8") as handle:
        header = json.loads(handle.readline())
        columns = header["columns"]
        if header.get("table") != table.name or set(columns) != {c.name for c in table.columns}:
            raise ServiceError(
                f"表 {table.name} 的列与目标数据库不一致：备份 {sorted(columns)}，"
                f"目标 {sorted(c.name for c in table.columns)}"
            )
        decoders = [_column_decoder(table.c[name], dialect) for name in columns]
        batch, count = [], 0
        for line in handle:
            values = json.loads(line)
            batch.append({name: decode(v) for name, decode, v in zip(columns, decoders, values)})
            if len(batch) >= BATCH:
                conn.execute(table.insert(), batch)
                count += len(batch)
                batch = []
        if batch:
            conn.execute(table.insert(), batch)
            count += len(batch)
    return count


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """Restored rows carry their ids; PostgreSQL sequences must continue after them."""
    if conn.dialect.name != "postgresql":
        return
    for table in tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1:
            continue
        column = keys[0]
        sequence = conn.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": f'"{table.name}"', "column": column.name}
        ).scalar()
        if sequence is None:
            continue
        highest = conn.execute(select(func.max(column))).scalar()
        conn.execute(
            text("SELECT setval(CAST(:sequence AS regclass), :value, :called)"),
            {"sequence": sequence, "value": highest or 1, "called": highest is not None},
        )


def _verify(conn: Connection, tables: list[Table], manifest: dict) -> dict:
    counts = table_counts(conn, tables)
    checksums = money_checksums(conn)
    digests = table_digests(conn, tables)
    problems = [
        f"{name}：应有 {manifest['tables'][name]} 行，恢复 {counts[name]} 行"
        for name in manifest["table_order"]
        if counts[name] != manifest["tables"][name]
    ]
    problems += [
        f"{name}：校验和应为 {value}，恢复后为 {checksums.get(name)}"
        for name, value in manifest["checksums"].items()
        if checksums.get(name) != value
    ]
    problems += [
        f"{name}：内容摘要不符" for name in manifest["table_order"] if digests[name] != manifest["digests"][name]
    ]
    if problems:
        raise ServiceError("恢复后的数据与备份清单不符，已撤销恢复", problems)
    return {"counts": counts, "checksums": checksums}


def _photo_plan(folder: Path, manifest: dict, root: Path) -> tuple[list[dict], list[dict]]:
    """Photos to copy and photos already present byte for byte; refuse to overwrite others."""
    to_copy, present, conflicts = [], [], []
    for entry in manifest["photos"]:
        pure = _safe_member_path(entry["path"])
        if pure is None:
            raise ServiceError(f"备份中的照片路径不允许：{entry['path']!r}")
        target = root.joinpath(*pure.parts)
        if target.exists() or target.is_symlink():
            if target.is_file() and _sha256(target) == entry["sha256"]:
                present.append(entry)
            else:
                conflicts.append(entry["path"])
        else:
            to_copy.append(entry)
    if conflicts:
        raise ServiceError(
            f"照片目录 {root} 中已有 {len(conflicts)} 个同名但内容不同的文件，不会覆盖，未写入任何数据", conflicts[:20]
        )
    return to_copy, present


def _copy_photos(folder: Path, entries: list[dict], root: Path) -> list[Path]:
    created: list[Path] = []
    try:
        for entry in entries:
            target = root.joinpath(*PurePosixPath(entry["path"]).parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(folder / PHOTOS_DIR / entry["path"], "rb") as source, open(target, "xb") as out:
                created.append(target)
                shutil.copyfileobj(source, out, _CHUNK)
    except BaseException:
        _remove(created)
        raise
    return created


def _remove(paths: list[Path]) -> None:
    for path in reversed(paths):
        path.unlink(missing_ok=True)


def _database_revision() -> str | None:
    with db.engine.connect() as conn:
        if "alembic_version" not in sa_inspect(conn).get_table_names():
            return None
        return _schema_revision(conn, _reflect(conn))


def _prepare_schema(backup_revision: str | None) -> bool:
    """Bring an empty target to the backup's schema revision; returns whether an upgrade
    to head is due once the rows are in.

    A target holding rows is only migrated to head (the restore will then refuse it).
    An empty or uninitialised one is migrated up, or down, to exactly the backup's
    revision, so a backup made by an older roadchief restores into a newer one and its
    rows then go through the later migrations as a live database's would.
    """
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from roadchief import MIGRATIONS_DIR
    from roadchief.services.database import migrate_to_head

    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    head = scripts.get_current_head()
    current = _database_revision()
    if current == backup_revision:
        return current != head
    if backup_revision in (None, head):
        migrate_to_head()
        return False
    with db.engine.connect() as conn:
        empty = current is None or not any(table_counts(conn).values())
    if not empty:
        migrate_to_head()
        return False
    try:
        scripts.get_revision(backup_revision)
    except Exception:  # alembic raises several kinds for an unknown or malformed id
        raise ServiceError(
            f"备份的数据库结构版本 {backup_revision} 不是本程序的迁移版本（最新为 {head}），"
            "请用制作该备份的 roadchief 版本恢复"
        ) from None
    older = current is not None and backup_revision in {r.revision for r in scripts.iterate_revisions(current, "base")}
    (downgrade if older else upgrade)(directory=str(MIGRATIONS_DIR), revision=backup_revision)
    return True


def restore_backup(path, dry_run: bool = False, migrate: bool = True) -> dict:
    """Restore an archive into this app's (empty) database and upload folder.

    ``dry_run`` checks the archive and the target and loads everything, then rolls
    back and copies no photo.
    """
    path = Path(path)
    db.session.close()
    with tempfile.TemporaryDirectory(prefix="roadchief-restore-") as work:
        folder = Path(work)
        manifest = _extract(path, folder)  # a damaged archive stops here, before the database is touched
        upgrade_after = migrate and _prepare_schema(manifest["schema_revision"])
        root = upload_dir()
        created: list[Path] = []
        try:
            with db.engine.connect() as conn:
                with conn.begin() as transaction:
                    metadata = _reflect(conn)
                    tables = _check_target(conn, metadata, manifest)
                    to_copy, present = _photo_plan(folder, manifest, root)
                    by_name = {t.name: t for t in tables}
                    for name in manifest["table_order"]:
                        _load_table(conn, by_name[name], folder / DATA_DIR / f"{name}.jsonl")
                    _reset_sequences(conn, tables)
                    verified = _verify(conn, tables, manifest)
                    if dry_run:
                        transaction.rollback()
                    else:
                        created = _copy_photos(folder, to_copy, root)
        except BaseException:
            _remove(created)
            raise
    if upgrade_after:
        from roadchief.services.database import migrate_to_head

        migrate_to_head()  # the restored rows go through the later migrations, as a live database's would
    return {
        "archive": str(path),
        "dry_run": dry_run,
        "upgraded_from": manifest["schema_revision"] if upgrade_after and not dry_run else None,
        "manifest": summary(manifest),
        "tables": {
            name: {"expected": manifest["tables"][name], "restored": verified["counts"][name]}
            for name in manifest["table_order"]
        },
        "checksums": {
            name: {"expected": value, "restored": verified["checksums"][name]}
            for name, value in manifest["checksums"].items()
        },
        "photos": {
            "restored": 0 if dry_run else len(created),
            "already_present": len(present),
            "bytes": 0 if dry_run else sum(e["size"] for e in to_copy),
        },
    }
