"""The portable dump shared by backup and restore: the archive's names, the exact JSON encoding
of column values, reading every table of a database in order, and the row counts, order-independent
digests and money checksums that the manifest carries and a restore is verified against."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Connection, DateTime, MetaData, Table, func, select, text

FORMAT = "roadchief-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATA_DIR = "data"
PHOTOS_DIR = "photos"
SQLITE_COPY = "database.sqlite3"
# PostGIS keeps its own table beside ours when installed in the app's schema: not ours to back up
SKIP_TABLES = frozenset({"alembic_version", "spatial_ref_sys"})
# name in the manifest → (table, column) summed
MONEY_CHECKSUMS = {
    "ledger_entry.amount_fen": ("ledger_entry", "amount_fen"),
    "quarter_score.score_centi": ("quarter_score", "score_centi"),
}
BATCH = 1000
_CHUNK = 1024 * 1024


# ---------------------------------------------------------------- value encoding


def encode_value(value: Any) -> Any:
    """A column value as JSON, exactly. Datetimes with a zone become naive UTC."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else {"$f": repr(value)}
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, time):
        return {"$t": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$dec": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (dict, list)):
        return {"$json": value}
    raise TypeError(f"无法备份的数据类型：{type(value).__name__}")


def decode_value(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((tag, payload),) = value.items()
    return {
        "$dt": datetime.fromisoformat,
        "$d": date.fromisoformat,
        "$t": time.fromisoformat,
        "$dec": Decimal,
        "$f": float,
        "$json": lambda v: v,
        "$b64": lambda v: base64.b64decode(v.encode("ascii")),
    }[tag](payload)


def _column_decoder(column, dialect: str) -> Callable[[Any], Any]:
    aware = isinstance(column.type, DateTime) and getattr(column.type, "timezone", False) and dialect != "sqlite"
    boolean = isinstance(column.type, Boolean)

    def decode(raw):
        value = decode_value(raw)
        if aware and isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # the dump writes UTC
        elif boolean and isinstance(value, int) and not isinstance(value, bool):
            value = bool(value)
        return value

    return decode


def _canonical(columns: list[str], encoded: list) -> bytes:
    """One row independent of column order, for the table digest."""
    return json.dumps(dict(zip(columns, encoded)), ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


class _Digest:
    """Order-independent digest of a table's rows (sum of row SHA-256 mod 2^256), so
    a restore into another dialect, whose row order may differ, still compares."""

    def __init__(self):
        self.total = 0

    def add(self, line: bytes) -> None:
        self.total = (self.total + int.from_bytes(hashlib.sha256(line).digest(), "big")) % (1 << 256)

    def hexdigest(self) -> str:
        return f"{self.total:064x}"


# ---------------------------------------------------------------- reading a database


def _reflect(conn: Connection) -> MetaData:
    metadata = MetaData()
    metadata.reflect(bind=conn)  # the connection's current schema (search_path on PostgreSQL)
    return metadata


def _tables(metadata: MetaData) -> list[Table]:
    """Every application table, parents before children."""
    return [t for t in metadata.sorted_tables if t.name not in SKIP_TABLES]


def _schema_revision(conn: Connection, metadata: MetaData) -> str | None:
    if "alembic_version" not in metadata.tables:
        return None
    revisions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return ",".join(sorted(revisions)) or None


def _ordered(table: Table):
    keys = list(table.primary_key.columns) or list(table.columns)
    return select(table).order_by(*keys)


def _rows(conn: Connection, table: Table) -> Iterator[tuple[list[str], list]]:
    columns = [c.name for c in table.columns]
    result = conn.execution_options(yield_per=BATCH).execute(_ordered(table))
    for row in result:
        yield columns, [encode_value(v) for v in row]


def application_tables(conn: Connection) -> list[Table]:
    """Every table of the connection's schema except alembic_version, parents first."""
    return _tables(_reflect(conn))


def table_counts(conn: Connection, tables: Iterable[Table] | None = None) -> dict[str, int]:
    """Row count of every application table (reflected from the connection's schema)."""
    tables = _tables(_reflect(conn)) if tables is None else tables
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in tables}


def money_checksums(conn: Connection, metadata: MetaData | None = None) -> dict[str, int]:
    metadata = metadata or _reflect(conn)
    sums = {}
    for name, (table_name, column) in MONEY_CHECKSUMS.items():
        table = metadata.tables.get(table_name)
        sums[name] = (
            0 if table is None else int(conn.execute(select(func.coalesce(func.sum(table.c[column]), 0))).scalar_one())
        )
    return sums


def table_digests(conn: Connection, tables: Iterable[Table]) -> dict[str, str]:
    digests = {}
    for table in tables:
        digest = _Digest()
        for columns, encoded in _rows(conn, table):
            digest.add(_canonical(columns, encoded))
        digests[table.name] = digest.hexdigest()
    return digests


def _dump_database(conn: Connection, folder: Path) -> dict:
    """Write data/<table>.jsonl for every table; return what the manifest says about them."""
    metadata = _reflect(conn)
    tables = _tables(metadata)
    (folder / DATA_DIR).mkdir(parents=True, exist_ok=True)
    counts, digests = {}, {}
    for table in tables:
        digest, count = _Digest(), 0
        with open(folder / DATA_DIR / f"{table.name}.jsonl", "w", encoding="utf-8", newline="\n") as out:
            columns = [c.name for c in table.columns]
            out.write(json.dumps({"table": table.name, "columns": columns}, ensure_ascii=False) + "\n")
            for _, encoded in _rows(conn, table):
                out.write(json.dumps(encoded, ensure_ascii=False, separators=(",", ":")) + "\n")
                digest.add(_canonical(columns, encoded))
                count += 1
        counts[table.name], digests[table.name] = count, digest.hexdigest()
    return {
        "schema_revision": _schema_revision(conn, metadata),
        "table_order": [t.name for t in tables],
        "tables": counts,
        "digests": digests,
        "checksums": money_checksums(conn, metadata),
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
