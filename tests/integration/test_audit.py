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


def test_audit_page_reads_in_the_office_words(demo_client):
    import json
    import re
    from datetime import datetime

    from roadchief.domain.clock import format_beijing
    from roadchief.extensions import db
    from roadchief.models import AuditEntry
    from roadchief.services.audit_labels import changes

    set_params(2024, {"deduction_k": "1.5"})
    login(demo_client, make_user("city_office"))
    page = demo_client.get("/admin/audit/?entity=funding_params").get_data(as_text=True)
    assert "<dt>参数</dt>" in page and "<dt>年度</dt>" in page and "经费参数" in page  # Chinese labels
    assert '<option value="funding_params" >经费参数</option>' in page or ">经费参数</option>" in page
    # the long parameter text is shortened, with the whole of it behind 显示全部
    assert "显示全部" in page and re.search(r'<span class="audit-short">[^<]{10,}…</span>', page)
    entry = db.session.query(AuditEntry).filter_by(entity="funding_params").one()
    created = [c for c in changes(entry.before, entry.after) if c.field == "创建时间"][0]
    stored = datetime.fromisoformat(json.loads(entry.after)["created_at"])  # UTC, with its offset
    assert created.after.text == format_beijing(stored, "%Y-%m-%d %H:%M:%S")
    assert "+00:00" not in created.after.text and created.after.text in page  # Beijing time, not the stored UTC


def test_audit_values_are_shown_as_people_read_them():
    from roadchief.services.audit_labels import changes, entity_label

    rows = changes(
        '{"amount_fen": 123456789, "score_centi": 9725, "closed": false}',
        '{"amount_fen": 100, "score_centi": 10000, "closed": true, "note": "' + "长" * 200 + '", '
        '"restored_at": "2026-03-01T02:30:00+00:00"}',
    )
    by_field = {r.field: r for r in rows}
    assert by_field["金额（元）"].before.text == "1,234,567.89" and by_field["金额（元）"].after.text == "1.00"
    assert by_field["得分"].before.text == "97.25" and by_field["交通中断"].after.text == "是"
    assert by_field["说明"].before is None and by_field["说明"].after.long and len(by_field["说明"].after.text) == 200
    assert by_field["抢通时间"].after.text == "2026-03-01 10:30:00"  # Beijing time
    assert entity_label("rectification") == "整改" and entity_label("unknown_table") == "unknown_table"
    state = changes('{"status": "received"}', '{"status": "assigned"}', "public_report")[0]
    assert (state.field, state.before.text, state.after.text) == ("状态", "已受理（received）", "已转办（assigned）")
    assert changes(None, '{"role": "finance"}', "app_user")[0].after.text == "财政（finance）"
