"""A year's funding parameters (rates, local share, k, tiers) as stored revisions, frozen once a
quarter of the year is approved, and the period checks (year, quarter) every funding use case makes."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from roadchief.domain.funding import FundingParams, PolicyError, default_params
from roadchief.extensions import db
from roadchief.models import FundingParamsRevision, QuarterClose
from roadchief.services import NotFound, ServiceError
from roadchief.services.audit import current_actor
from roadchief.services.transactions import lock_year, unit_of_work

QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


def quarter_end(year: int, quarter: int) -> date:
    month, day = QUARTER_END[quarter]
    return date(year, month, day)


def check_period(year: int, quarter: int | None = None) -> None:
    """A year outside 2000–2100 or a quarter outside 1–4 is not found (404 on the web and API)."""
    if not 2000 <= year <= 2100:
        raise NotFound(f"年度不正确：{year}")
    if quarter is not None and quarter not in QUARTER_END:
        raise NotFound(f"季度应为 1–4：{quarter}")


# ---------------------------------------------------------------- parameters


def params_for(year: int) -> FundingParams:
    """The year's parameters in force: its latest revision, else the measures' defaults."""
    row = db.session.scalar(
        select(FundingParamsRevision)
        .where(FundingParamsRevision.year == year)
        .order_by(FundingParamsRevision.revision.desc())
        .limit(1)
    )
    return FundingParams.from_dict(json.loads(row.params_json)) if row else default_params(year)


def legacy_pass_score(year: int):
    """A stored revision's old pass_score when it differs from its 良 band (no longer used)."""
    from roadchief.domain.funding import legacy_pass_score as legacy

    row = db.session.scalar(
        select(FundingParamsRevision)
        .where(FundingParamsRevision.year == year)
        .order_by(FundingParamsRevision.revision.desc())
        .limit(1)
    )
    return legacy(json.loads(row.params_json)) if row else None


def params_history(year: int) -> list[FundingParamsRevision]:
    return db.session.scalars(
        select(FundingParamsRevision)
        .where(FundingParamsRevision.year == year)
        .order_by(FundingParamsRevision.revision.desc())
    ).all()


def closed_quarters(year: int) -> list[int]:
    return sorted(db.session.scalars(select(QuarterClose.quarter).where(QuarterClose.year == year)))


def current_revision(year: int) -> int:
    return (
        db.session.scalar(select(func.max(FundingParamsRevision.revision)).where(FundingParamsRevision.year == year))
        or 0
    )


def set_params(year: int, changes: dict, based_on_revision: int | None = None) -> FundingParams:
    """Store a new revision of a year's parameters. Refused once a quarter of that year is
    closed, and — when the caller says which revision it edited — if someone saved since."""
    check_period(year)
    with unit_of_work("该年度参数刚刚已被他人修改，请刷新后重试"):
        lock_year(year)
        if based_on_revision is not None and current_revision(year) != based_on_revision:
            raise ServiceError("该年度参数刚刚已被他人修改，请刷新后查看最新参数再修改")
        if closed_quarters(year):
            raise ServiceError(f"{year} 年已有季度审定拨付，参数不可再修改（第十七条 按季度拨付，已拨付数据冻结）")
        data = {**params_for(year).to_dict(), **changes, "year": year}
        try:
            params = FundingParams.from_dict(data)
        except (PolicyError, ValueError, TypeError) as error:
            raise ServiceError(str(error)) from None
        revision = current_revision(year) + 1
        db.session.add(
            FundingParamsRevision(
                year=year,
                revision=revision,
                created_by=current_actor().name,
                params_json=json.dumps(params.to_dict(), ensure_ascii=False, sort_keys=True),
            )
        )
    return params
