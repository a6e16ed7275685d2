"""The deduction catalog (扣分标准) of inspections: per-year versions, the shipped example, CSV and
form rows, confirmation by the city office, and points in hundredths ("1.5" ↔ 150)."""

from __future__ import annotations

import csv
import io
import os
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from roadchief import PACKAGE_DIR
from roadchief.domain import scoring
from roadchief.domain.scoring import CatalogItem
from roadchief.extensions import db
from roadchief.models.base import utcnow
from roadchief.models.inspections import DeductionCatalog, DeductionItem
from roadchief.services import ServiceError
from roadchief.services.audit import current_actor
from roadchief.services.funding_params import check_period


def default_catalog_path() -> Path:
    return Path(os.environ.get("ROADCHIEF_DEDUCTION_CATALOG", PACKAGE_DIR.parent / "data" / "deduction_catalog.csv"))


def parse_points(text, what: str, required: bool = True) -> int | None:
    """ "1.5" → 150 hundredths; at most two decimals."""
    value = str(text if text is not None else "").strip()
    if not value:
        if required:
            raise ServiceError(f"{what}不能为空")
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ServiceError(f"{what}应为数字：{value!r}") from None
    if not number.is_finite() or number.as_tuple().exponent < -2:
        raise ServiceError(f"{what}最多两位小数：{value!r}")
    return int(number.scaleb(2))


def points_text(centi: int | None) -> str:
    """150 → "1.5", 200 → "2", None → ""."""
    if centi is None:
        return ""
    text = f"{Decimal(centi).scaleb(-2):.2f}"
    return text.rstrip("0").rstrip(".")


UNIT_ALIASES = {"处": "处", "次": "次", "100m": "100m", "100米": "100m", "百米": "100m"}


def _unit(text) -> str:
    value = str(text or "").strip().replace(" ", "").lower()
    return UNIT_ALIASES.get(value, value)


def catalog_rows(rows: list[dict]) -> list[CatalogItem]:
    """Catalog items from table rows (CSV or the edit form); ServiceError naming each bad row."""
    items, errors = [], []
    for number, row in enumerate(rows, start=1):
        code = str(row.get("code") or "").strip().upper()
        if not code and not str(row.get("text") or "").strip():
            continue  # an empty line of the form
        try:
            items.append(
                CatalogItem(
                    code=code,
                    category=str(row.get("category") or "").strip(),
                    text=str(row.get("text") or "").strip(),
                    points_centi=parse_points(row.get("points"), "每次扣分"),
                    unit=_unit(row.get("unit")),
                    cap_centi=parse_points(row.get("cap"), "单项上限", required=False),
                    category_cap_centi=parse_points(row.get("category_cap"), "类别上限", required=False),
                    basis=str(row.get("basis") or "").strip()[:60],
                )
            )
        except ServiceError as error:
            errors.append(f"第 {number} 条（{code or '无编号'}）：{error}")
    errors += scoring.validate_catalog(items)
    if errors:
        raise ServiceError(f"扣分标准有 {len(errors)} 处错误，未保存", errors)
    return items


def read_catalog_csv(text: str) -> list[CatalogItem]:
    """The CSV layout of data/deduction_catalog.csv; lines starting with # are comments."""
    lines = [line for line in text.lstrip("\ufeff").splitlines() if not line.lstrip().startswith("#")]
    return catalog_rows([dict(r) for r in csv.DictReader(io.StringIO("\n".join(lines)))])


def _store_catalog(year: int, items: list[CatalogItem], is_example: bool, note: str) -> DeductionCatalog:
    latest = latest_catalog(year)
    catalog = DeductionCatalog(
        year=year,
        version=(latest.version + 1) if latest else 1,
        is_example=is_example,
        note=note,
        created_by=current_actor().name,
    )
    catalog.items = [
        DeductionItem(
            position=i,
            code=it.code,
            category=it.category,
            text=it.text,
            points_centi=it.points_centi,
            unit=it.unit,
            cap_centi=it.cap_centi,
            category_cap_centi=it.category_cap_centi,
            basis=it.basis,
        )
        for i, it in enumerate(items)
    ]
    db.session.add(catalog)
    return catalog


def latest_catalog(year: int) -> DeductionCatalog | None:
    return db.session.scalar(
        select(DeductionCatalog).where(DeductionCatalog.year == year).order_by(DeductionCatalog.version.desc()).limit(1)
    )


def catalog_for(year: int) -> DeductionCatalog:
    """The year's catalog in force: its latest version. A year without one starts from
    the previous year's latest, else from the shipped example (flagged until confirmed)."""
    check_period(year)
    catalog = latest_catalog(year)
    if catalog is not None:
        return catalog
    previous = db.session.scalar(
        select(DeductionCatalog)
        .where(DeductionCatalog.year < year)
        .order_by(DeductionCatalog.year.desc(), DeductionCatalog.version.desc())
        .limit(1)
    )
    if previous is not None:
        catalog = _store_catalog(
            year,
            [i.rule() for i in previous.items],
            previous.is_example and not previous.confirmed,
            f"沿用 {previous.label}",
        )
        if previous.confirmed:
            catalog.confirmed_by, catalog.confirmed_at = previous.confirmed_by, utcnow()
    else:
        path = default_catalog_path()
        catalog = _store_catalog(
            year,
            read_catalog_csv(path.read_text(encoding="utf-8")),
            True,
            "系统默认示例表（依据第十条、第十三条、第十四条），须市级路长办公室确认",
        )
    try:
        db.session.commit()
    except IntegrityError:  # two first requests of the year at once: the other one's version stands
        db.session.rollback()
        return latest_catalog(year)
    return catalog


def save_catalog(year: int, rows: list[dict], note: str = "") -> DeductionCatalog:
    """A new version of the year's catalog (the city office's edit); earlier inspections keep theirs."""
    items = catalog_rows(rows)
    catalog = _store_catalog(year, items, False, note.strip() or "市级路长办公室修订")
    db.session.commit()
    return catalog


def confirm_catalog(catalog: DeductionCatalog) -> DeductionCatalog:
    if catalog.confirmed:
        raise ServiceError(f"{catalog.label}已确认")
    catalog.confirmed_by, catalog.confirmed_at, catalog.is_example = current_actor().name, utcnow(), False
    db.session.commit()
    return catalog


def catalog_versions(year: int) -> list[DeductionCatalog]:
    return list(
        db.session.scalars(
            select(DeductionCatalog).where(DeductionCatalog.year == year).order_by(DeductionCatalog.version.desc())
        )
    )


def catalog_json(catalog: DeductionCatalog) -> dict:
    return {
        "id": catalog.id,
        "year": catalog.year,
        "version": catalog.version,
        "confirmed": catalog.confirmed,
        "is_example": catalog.is_example,
        "items": [
            {
                "code": i.code,
                "category": i.category,
                "text": i.text,
                "points": points_text(i.points_centi),
                "unit": i.unit,
                "cap": points_text(i.cap_centi) or None,
                "category_cap": points_text(i.category_cap_centi) or None,
                "basis": i.basis,
            }
            for i in catalog.items
        ],
    }
