"""Quarterly scores: imported from CSV/XLSX by offices that assess on paper, and
written by the inspection module when a quarter is finalised (第二十一条)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select

from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, QuarterScore, Station, Town, Village
from roadchief.services import Conflict, ServiceError
from roadchief.services.funding_params import check_period, closed_quarters, quarter_end
from roadchief.services.score_sheets import (
    COLUMNS,
    FORMAT_HINT,
    Sheet,
    missing_columns,
    quarter_number,
    read_sheet,
    year_number,
)
from roadchief.services.transactions import lock_year, unit_of_work


class ScoreImportFailed(ServiceError):
    """The import refused; ``needs_replace`` when some rows only lack the choice to overwrite
    existing scores (each caller names that choice in its own words: a checkbox, a flag)."""

    def __init__(self, message: str, errors: list, needs_replace: bool = False):
        super().__init__(message, errors)
        self.needs_replace = needs_replace


@dataclass(frozen=True)
class ScoreRow:
    row: int
    year: int
    quarter: int
    unit_key: str
    chief_id: int | None
    score_centi: int


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


def _unit_name(unit_key: str) -> str:
    """小坝镇林皋村, 小坝镇, 青铜峡公路站 for a unit key (the key itself when it names nothing known)."""
    kind, _, code = unit_key.partition(":")
    if kind == "village":
        village = db.session.scalar(select(Village).where(Village.code == code))
        if village is not None:
            return f"{village.town.name}{village.name}"
    model = {"town": Town, "station": Station}.get(kind)
    found = db.session.scalar(select(model).where(model.code == code)) if model is not None else None
    return found.name if found is not None else unit_key


def _row_unit(cells: dict[str, str]) -> str:
    """The unit as the row writes it, for messages about rows whose unit is not resolved yet."""
    if cells.get("station"):
        return cells["station"]
    if cells.get("town"):
        return cells["town"] + cells.get("village", "")
    return f"路长编号 {cells['chief_id']}" if cells.get("chief_id") else ""


def parse_scores(sheet: Sheet) -> tuple[list[ScoreRow], list[str], int]:
    """The scored rows, the errors (naming the spreadsheet row, the unit and the column as
    headed in the file), and how many rows were left out because their score is blank."""
    errors: list[str] = []
    parsed: list[ScoreRow] = []
    if sheet.rows and (missing := missing_columns(sheet)):
        return [], [f"缺少列：{'、'.join(missing)}（{FORMAT_HINT}）"], 0
    towns = {key: t for t in db.session.scalars(select(Town)) for key in (t.code, t.name)}
    villages = {(v.town_id, key): v for v in db.session.scalars(select(Village)) for key in (v.code, v.name)}
    stations = {key: s for s in db.session.scalars(select(Station)) for key in (s.code, s.name)}
    blank = 0
    for row in sheet.rows:
        cells = row.cells
        if not cells.get("score"):
            blank += 1  # a unit the template lists but the office has not scored (yet)
            continue
        unit = _row_unit(cells)

        def bad(field, reason, unit=unit, number=row.number):
            where = f"第 {number} 行" + (f" {unit}" if unit else "")
            errors.append(f"{where} [{sheet.names.get(field, COLUMNS[field].label)}]：{reason}")

        try:
            year = year_number(cells.get("year", ""))
        except ValueError:
            bad("year", f"年度不正确：{cells.get('year')!r}")
            continue
        try:
            quarter = quarter_number(cells.get("quarter", ""))
            check_period(year, quarter)
        except (ValueError, ServiceError):
            bad("quarter", f"季度应为 1–4：{cells.get('quarter')!r}")
            continue
        chief_text = cells.get("chief_id", "").removesuffix(".0")
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
        elif cells.get("station"):
            station = stations.get(cells["station"])
            if station is None:
                bad("station", f"未知公路站：{cells['station']!r}")
                continue
            unit_key = f"station:{station.code}"
        else:
            town = towns.get(cells.get("town", ""))
            if town is None:
                bad("town", f"未知乡镇：{cells.get('town', '')!r}")
                continue
            village_text = cells.get("village", "")
            if village_text:
                village = villages.get((town.id, village_text))
                if village is None:
                    bad("village", f"{town.name} 下没有村：{village_text!r}")
                    continue
                unit_key = f"village:{village.code}"
            else:
                unit_key = f"town:{town.code}"
        try:
            score = Decimal(cells["score"])
            if not score.is_finite() or not 0 <= score <= 100:
                raise InvalidOperation
        except InvalidOperation:
            bad("score", f"得分应为 0–100 的数：{cells['score']!r}", unit=_unit_name(unit_key))
            continue
        centi = int((score * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
        parsed.append(ScoreRow(row.number, year, quarter, unit_key, chief_id, centi))
    seen: dict[tuple, int] = {}
    for item in parsed:
        key = (item.year, item.quarter, item.unit_key)
        if key in seen:
            errors.append(f"第 {item.row} 行 {_unit_name(item.unit_key)}：与第 {seen[key]} 行重复（同一单位同一季度）")
        seen.setdefault(key, item.row)
    return parsed, errors, blank


def import_scores(path: Path, replace: bool = False, content: bytes | None = None, source: str = "import") -> dict:
    """Validate every row, then write all or nothing. Rows with a blank score are left out
    (counted in ``blank``): a template lists every unit, the office may fill some."""
    sheet = read_sheet(Path(path), content)
    parsed, errors, blank = parse_scores(sheet)
    if not parsed and not errors:
        raise ServiceError("文件中没有得分数据" + (f"（{blank} 行未填得分）" if blank else ""))
    created = replaced = 0
    # one transaction from the year locks to the last row: a refusal releases the locks, writing nothing
    with unit_of_work("同期得分刚刚已由他人导入，请刷新后重试（或选择覆盖已有得分）"):
        for year in sorted({p.year for p in parsed}):
            lock_year(year)  # a quarter close of the same year waits for us, or we see its close
        existing = {(s.year, s.quarter, s.unit_key): s for s in db.session.scalars(select(QuarterScore))}
        closed = {(y, q) for y in {p.year for p in parsed} for q in closed_quarters(y)}
        for item in parsed:
            if (item.year, item.quarter) in closed:
                errors.append(
                    f"第 {item.row} 行 {_unit_name(item.unit_key)}：{item.year} 年第 {item.quarter} 季度已审定，"
                    "得分不可修改（请登记调整分录）"
                )
            elif (item.year, item.quarter, item.unit_key) in existing and not replace:
                errors.append(
                    f"第 {item.row} 行 {_unit_name(item.unit_key)}：{item.year} 年第 {item.quarter} 季度已有得分"
                    "（未选择覆盖已有得分）"
                )
        if errors:
            raise ScoreImportFailed(
                f"得分导入失败：{len(errors)} 处错误，未写入任何数据",
                errors,
                needs_replace=any("未选择覆盖已有得分" in e for e in errors),
            )
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
    return {"rows": len(parsed), "created": created, "replaced": replaced, "blank": blank}


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
