"""The audit admin page: filters and XLSX export."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from roadchief.services.funding_params import set_params
from tests.conftest import login, make_user


def test_audit_page_filters_and_exports(demo_client):
    set_params(2024, {"deduction_k": "1.5"})
    login(demo_client, make_user("city_office"))
    page = demo_client.get("/admin/audit/?entity=funding_params").get_data(as_text=True)
    assert "funding_params" in page and "deduction_k" in page and "共 1 条" in page
    export = demo_client.get("/admin/audit/export.xlsx?entity=funding_params")
    assert export.status_code == 200
    sheet = load_workbook(io.BytesIO(export.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "编号" and len(rows) == 2 and rows[1][5] == "经费参数"  # the object in Chinese


def test_audit_page_is_for_city_office_and_finance_only(demo_client):
    login(demo_client, make_user("town_office", town="640381100"))
    assert demo_client.get("/admin/audit/").status_code == 403
