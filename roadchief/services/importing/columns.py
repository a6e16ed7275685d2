"""The road layer's columns: field specs with their accepted names (pinyin included) and mapping files."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roadchief.services import ServiceError
from roadchief.services.importing.results import MAPPING_LABEL, ImportFailed, RowError


@dataclass(frozen=True)
class FieldSpec:
    label: str  # what the office calls the column; used in every error
    aliases: tuple[str, ...]  # accepted source names, earlier ones win when several are present
    required: bool = False


# Earlier aliases win, so 列养里程 is used over a plain 里程 column in the same file.
FIELDS: dict[str, FieldSpec] = {
    "road_code": FieldSpec("路线编码", ("路线编码", "LXBM", "road_code", "code", "route_code"), True),
    "road_name": FieldSpec("路线名称", ("路线名称", "LXMC", "road_name", "name")),
    "road_class": FieldSpec("行政等级", ("行政等级", "XZDJ", "road_class", "class", "admin_class")),
    "start_stake": FieldSpec("起点桩号", ("起点桩号", "QDZH", "start_stake", "start", "from_stake", "start_m"), True),
    "end_stake": FieldSpec("止点桩号", ("止点桩号", "ZDZH", "end_stake", "end", "to_stake", "end_m"), True),
    "listed_km": FieldSpec("列养里程", ("列养里程", "LYLC", "里程", "LC", "listed_km", "length_km", "length"), True),
    "tech_grade": FieldSpec("技术等级", ("技术等级", "JSDJ", "tech_grade")),
    "surface": FieldSpec("路面类型", ("路面类型", "LMLX", "surface")),
    "width": FieldSpec("路面宽度", ("路面宽度", "LMKD", "width", "width_m")),
    "town": FieldSpec("所属乡镇", ("所属乡镇", "SSXZ", "XZMC", "乡镇", "town"), True),
    "village": FieldSpec("所属村", ("所属村", "SSC", "CMC", "行政村", "village")),
    "is_listed": FieldSpec("是否列养", ("是否列养", "SFLY", "is_listed", "listed")),
    "station": FieldSpec("公路站", ("公路站", "GLZ", "station", "station_code")),
}

# Stake columns holding whole metres (the API's start_m/end_m) rather than K-form text or km numbers:
# reading 1200 (m) as 1200 km multiplied every stake by 1000.
METRE_STAKE_COLUMNS = frozenset({"start_m", "end_m", "起点桩号米", "止点桩号米"})


def is_metre_column(column: str | None) -> bool:
    return column is not None and _column_key(column) in METRE_STAKE_COLUMNS


def load_mapping(path) -> dict[str, str]:
    """Read a JSON column mapping {"road_code": "MYCOL", ...} (canonical field → source column)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ServiceError(f"映射文件不存在：{path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ServiceError(f"映射文件 {path.name} 不是有效的 JSON：{exc}") from None
    return check_mapping(data, ServiceError)


def check_mapping(data: Any, error: type[ServiceError]) -> dict[str, str]:
    if not isinstance(data, dict):
        raise error('映射须为 JSON 对象，如 {"road_code": "MYCOL"}')
    unknown = [key for key in data if key not in FIELDS]
    if unknown:
        raise error(f"映射中有未知字段：{'、'.join(map(str, unknown))}（可用：{'、'.join(FIELDS)}）")
    bad = [key for key, value in data.items() if not isinstance(value, str) or not value.strip()]
    if bad:
        raise error(f"映射字段须对应非空的列名：{'、'.join(bad)}")
    return {key: value.strip() for key, value in data.items()}


class MappingFailed(ImportFailed):
    """A bad mapping handed straight to import_roads (the web form), reported like any other input error."""

    def __init__(self, message: str):
        super().__init__(f"导入失败：{message}", [RowError(0, MAPPING_LABEL, message)])


def _column_key(name: Any) -> str:
    # Headers typed by hand carry full-width letters, stray spaces and mixed case.
    return "".join(unicodedata.normalize("NFKC", str(name)).split()).casefold()


def resolve_columns(columns: Iterable[str], mapping: dict[str, str]) -> dict[str, str]:
    """Canonical field → source column present in the file."""
    by_key = {}
    for column in columns:
        by_key.setdefault(_column_key(column), column)
    resolved: dict[str, str] = {}
    errors: list[RowError] = []
    for name, spec in FIELDS.items():
        if name in mapping:
            column = by_key.get(_column_key(mapping[name]))
            if column is None:
                errors.append(RowError(0, spec.label, f"映射指定的列“{mapping[name]}”在文件中不存在"))
            else:
                resolved[name] = column
            continue
        for alias in spec.aliases:
            column = by_key.get(_column_key(alias))
            if column is not None:
                resolved[name] = column
                break
        else:
            if spec.required:
                errors.append(
                    RowError(0, spec.label, f"缺少必需的列“{spec.label}”（可用列名：{'、'.join(spec.aliases)}）")
                )
    if errors:
        raise ImportFailed(f"导入失败：文件缺少必需的列或映射有误（{len(errors)} 处）", errors)
    return resolved
