"""API: the funding plan and quarterly disbursement tables (city office and finance)."""

from __future__ import annotations

from roadchief.domain.permissions import MANAGE_FUNDING, roles_for
from roadchief.web.access import allow
from roadchief.web.api import BEARER, bp
from roadchief.web.api.schemas import returns


@bp.get("/funding/plan/<int:year>")
@allow(*roles_for(MANAGE_FUNDING))
@bp.doc(
    summary="年度养护经费计划",
    description="与 `roadchief funding plan YEAR --json` 相同；金额为两位小数的字符串。",
    operation_id="getFundingPlan",
    responses=returns("FundingPlan"),
    security=BEARER,
)
def funding_plan(year: int):
    from roadchief.services.funding_plan import annual_plan

    return annual_plan(year)


@bp.get("/funding/quarters/<int:year>/<int:quarter>")
@allow(*roles_for(MANAGE_FUNDING))
@bp.doc(
    operation_id="getFundingQuarter",
    summary="季度拨付表",
    description="与 `roadchief funding quarter YEAR Q --json` 相同。",
    responses=returns("FundingQuarter"),
    security=BEARER,
)
def funding_quarter(year: int, quarter: int):
    from roadchief.services.funding_quarter import quarter_report

    return quarter_report(year, quarter)
