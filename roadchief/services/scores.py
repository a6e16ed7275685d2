"""Quarterly scores: imported from CSV/XLSX by offices that assess on paper, and
written by the inspection module when a quarter is finalised (第二十一条)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, QuarterScore, Town, Village
from roadchief.services import Conflict, ServiceError
from roadchief.services.funding_params import check_period, closed_quarters, quarter_end
from roadchief.services.transactions import lock_year, unit_of_work

REQUIRED = ("year", "quarter", "score")


@dataclass(frozen=True)
class ScoreRow:
    row: int
    year: int
    quarter: int
    unit_key: str
    chief_id: int | None
    score_centi: int


def _rows_from_file(path: Path, content: bytes | None = None) -> list[dict]:
    suffix = path.suffix.lower()
    data = content if content is not None else path.read_bytes()
    if suffix == ".csv":
        text = None
        for encoding in ("utf-8-sig", "gbk"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise ServiceError("无法识别 CSV 文件编码（应为 UTF-8 或 GBK）")
        return [dict(r) for r in csv.DictReader(io.StringIO(text))]
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
        except Exception:
            raise ServiceError("无法读取 XLSX 文件") from None
        values = list(sheet.iter_rows(values_only=True))
        if not values:
            return []
        header = [str(h).strip() if h is not None else "" for h in values[0]]
        return [
            {header[i]: ("" if v is None else str(v)) for i, v in enumerate(r) if i < len(header)}
            for r in values[1:]
            if any(v not in (None, "") for v in r)
        ]
    raise ServiceError(f"不支持的文件类型：{suffix or path.name}（应为 .csv 或 .xlsx）")


def _quarter_start(year: int, quarter: int) -> date:
    return date(year, 3 * quarter - 2, 1)


def _assignment_dates(chief: Chief, kinds=("town", "village", "station")) -> str:
    spans = [
        f"{a.start_date.isoformat()} 至 {a.end_date.isoformat() if a.end_date else '今'}"
        for a in sorted(chief.assignments, key=lambda a: a.start_date)
        if a.scope_kind in kinds
    ]
    return "、".join(spans) or "无任职记录"


def _unit_of(a: ChiefAssignment, chief: Chief) -> str | None:
    if a.scope_kind in ("town", "village", "station") and chief.position == a.scope_kind:
        return f"{a.scope_kind}:{getattr(a, a.scope_kind).code}"
    return None


def _unit_for_chief(chief: Chief, year: int, quarter: int) -> str | None:
    """The paid unit the chief held on some day of the quarter (the latest one if several);
    None when his dated assignments do not reach into the quarter (第二十条)."""
    first, last = _quarter_start(year, quarter), quarter_end(year, quarter)
    for a in db.session.scalars(
        select(ChiefAssignment).where(ChiefAssignment.chief_id == chief.id).order_by(ChiefAssignment.start_date.desc())
    ):
        if a.start_date <= last and (a.end_date is None or a.end_date >= first) and _unit_of(a, chief):
            return _unit_of(a, chief)
    return None


def check_chief_held(chief_id: int, unit_key: str, year: int, quarter: int) -> None:
    """Refuse a score for a chief who did not hold the unit on any day of the quarter,
    naming his assignment dates (第二十条: the score is the chief's who served)."""
    chief = db.session.get(Chief, chief_id)
    if chief is None:
        raise ServiceError(f"未知路长：{chief_id}")
    first, last = _quarter_start(year, quarter), quarter_end(year, quarter)
    for a in chief.assignments:
        if _unit_of(a, chief) == unit_key and a.start_date <= last and (a.end_date is None or a.end_date >= first):
            return
    raise ServiceError(
        f"{chief.name} 在 {year} 年第 {quarter} 季度（{first.isoformat()} 至 {last.isoformat()}）"
        f"未担任 {unit_key} 的路长，其任职日期：{_assignment_dates(chief)}"
    )


def parse_scores(rows: list[dict]) -> tuple[list[ScoreRow], list[str]]:
    errors: list[str] = []
    parsed: list[ScoreRow] = []
    if rows and (missing := [c for c in REQUIRED if c not in rows[0]]):
        return [], [f"缺少列：{', '.join(missing)}（需要 year, quarter, score，以及 chief_id 或 town[, village]）"]
    if rows and "chief_id" not in rows[0] and "town" not in rows[0]:
        return [], ["缺少列：chief_id 或 town"]
    towns = {key: t for t in db.session.scalars(select(Town)) for key in (t.code, t.name)}
    villages = {(v.town_id, key): v for v in db.session.scalars(select(Village)) for key in (v.code, v.name)}
    for number, row in enumerate(rows, start=2):  # row 1 is the header, as in a spreadsheet

        def bad(field, reason):
            errors.append(f"第 {number} 行 [{field}]：{reason}")  # noqa: B023  (bad() runs within its own iteration)

        try:
            year = int(str(row.get("year", "")).strip().removesuffix(".0"))
            quarter = int(str(row.get("quarter", "")).strip().removesuffix(".0"))
            check_period(year, quarter)
        except (ValueError, ServiceError):
            bad("year/quarter", f"年度或季度不正确：{row.get('year')!r} / {row.get('quarter')!r}")
            continue
        try:
            score = Decimal(str(row.get("score", "")).strip())
            if not score.is_finite() or not 0 <= score <= 100:
                raise InvalidOperation
        except InvalidOperation:
            bad("score", f"得分应为 0–100 的数：{row.get('score')!r}")
            continue
        centi = int((score * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        chief_text = str(row.get("chief_id") or "").strip().removesuffix(".0")
        chief_id = None
        if chief_text:
            chief = db.session.get(Chief, int(chief_text)) if chief_text.isdigit() else None
            if chief is None:
                bad("chief_id", f"未知路长：{chief_text!r}")
                continue
            unit_key = _unit_for_chief(chief, year, quarter)
            if unit_key is None:
                bad(
                    "chief_id",
                    f"{chief.name} 不是镇级、村级或公路站路长，或 {year} 年第 {quarter} 季度"
                    f"（{_quarter_start(year, quarter).isoformat()} 至 {quarter_end(year, quarter).isoformat()}）"
                    f"未任职；其任职日期：{_assignment_dates(chief)}",
                )
                continue
            chief_id = chief.id
        else:
            town = towns.get(str(row.get("town") or "").strip())
            if town is None:
                bad("town", f"未知乡镇：{row.get('town')!r}")
                continue
            village_text = str(row.get("village") or "").strip()
            if village_text:
                village = villages.get((town.id, village_text))
                if village is None:
                    bad("village", f"{town.name} 下没有村：{village_text!r}")
                    continue
                unit_key = f"village:{village.code}"
            else:
                unit_key = f"town:{town.code}"
        parsed.append(ScoreRow(number, year, quarter, unit_key, chief_id, centi))
    seen: dict[tuple, int] = {}
    for item in parsed:
        key = (item.year, item.quarter, item.unit_key)
        if key in seen:
            errors.append(f"第 {item.row} 行：与第 {seen[key]} 行重复（同一单位同一季度）")
        seen.setdefault(key, item.row)
    return parsed, errors


def import_scores(path: Path, replace: bool = False, content: bytes | None = None, source: str = "import") -> dict:
    """Validate every row, then write all or nothing."""
    rows = _rows_from_file(Path(path), content)
    if not rows:
        raise ServiceError("文件中没有得分数据")
    parsed, errors = parse_scores(rows)
    created = replaced = 0
    # one transaction from the year locks to the last row: a refusal releases the locks, writing nothing
    with unit_of_work("同期得分刚刚已由他人导入，请刷新后重试（或使用覆盖导入）"):
        for year in sorted({p.year for p in parsed}):
            lock_year(year)  # a quarter close of the same year waits for us, or we see its close
        existing = {(s.year, s.quarter, s.unit_key): s for s in db.session.scalars(select(QuarterScore))}
        closed = {(y, q) for y in {p.year for p in parsed} for q in closed_quarters(y)}
        for item in parsed:
            if (item.year, item.quarter) in closed:
                errors.append(
                    f"第 {item.row} 行：{item.year} 年第 {item.quarter} 季度已审定，得分不可修改（请登记调整分录）"
                )
            elif (item.year, item.quarter, item.unit_key) in existing and not replace:
                errors.append(
                    f"第 {item.row} 行：{item.unit_key} {item.year} 年第 {item.quarter} 季度已有得分（如需覆盖请用 --replace）"
                )
        if errors:
            raise ServiceError(f"得分导入失败：{len(errors)} 处错误，未写入任何数据", errors)
        for item in parsed:
            current = existing.get((item.year, item.quarter, item.unit_key))
            if current is None:
                db.session.add(
                    QuarterScore(
                        year=item.year,
                        quarter=item.quarter,
                        unit_key=item.unit_key,
                        chief_id=item.chief_id,
                        score_centi=item.score_centi,
                        source=source,
                    )
                )
                created += 1
            elif current.score_centi != item.score_centi or current.chief_id != item.chief_id:
                current.score_centi, current.chief_id, current.source = item.score_centi, item.chief_id, source
                replaced += 1
    return {"rows": len(parsed), "created": created, "replaced": replaced}


def set_unit_score(year: int, quarter: int, unit_key: str, score_centi: int, chief_id: int | None, source: str) -> None:
    """Used when the inspection module finalises a quarter (replaces imported scores);
    the caller commits."""
    lock_year(year)
    if quarter in closed_quarters(year):
        raise Conflict(f"{year} 年第 {quarter} 季度已审定，得分不可修改")
    if chief_id is not None:
        check_chief_held(chief_id, unit_key, year, quarter)
    current = db.session.scalar(
        select(QuarterScore).where(
            QuarterScore.year == year, QuarterScore.quarter == quarter, QuarterScore.unit_key == unit_key
        )
    )
    if current is None:
        db.session.add(
            QuarterScore(
                year=year, quarter=quarter, unit_key=unit_key, chief_id=chief_id, score_centi=score_centi, source=source
            )
        )
    else:
        current.score_centi, current.chief_id, current.source = score_centi, chief_id, source
