"""Maintenance funding use cases: plan, quarterly disbursement, quarter close,
year-end settlement and the 专户 ledger (第十五条–第十八条, 第二十一条–第二十四条).

Money stays in integer fen from the database to the JSON/PDF; the JSON carries
strings with two decimals. Where an amount is split (the rows of a plan, the four
quarters, the reward tiers) the largest-remainder method makes the parts add up
to the whole to the fen (see roadchief.domain.money).

The use cases live in funding_params (parameters, periods), funding_plan (mileage by unit,
annual plan, paid units), funding_quarter (compute, report, close, adjust), funding_ledger
(专户 ledger, pool) and settlement (year-end). This module only keeps the old import path for
web/funding.py and services/assessment.py, which call ``funding.<name>``, until they import
from those modules (issue #12).
"""
from roadchief.domain.funding import default_params  # noqa: F401
from roadchief.services.funding_ledger import ledger  # noqa: F401
from roadchief.services.funding_params import (check_period, closed_quarters, legacy_pass_score,  # noqa: F401
                                               params_for, params_history, set_params)
from roadchief.services.funding_plan import annual_plan, mileage_version_for, payee_units  # noqa: F401
from roadchief.services.funding_quarter import add_adjustment, close_quarter, quarter_report  # noqa: F401
from roadchief.services.settlement import approve_settlement, settlement  # noqa: F401
