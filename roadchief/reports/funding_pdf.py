"""Funding documents as PDF: 季度拨付表, 年度养护经费计划, 年终考评及以奖代补结算.

Layouts follow ``docs/office-formats.md``.  Each document is first built as a small
printable model (:class:`Document` of :class:`Grid` tables and :class:`Text`
lines) from the CLI's JSON; ``funding_xlsx`` writes the very same model, so
the PDF and the spreadsheet always carry the same rows.

Money is ``Decimal`` throughout.  Every 小计/合计 is the sum of the printed
rows; when a total declared in the input disagrees, ``ValueError`` is raised
(that is a bug upstream, not something to paper over on a signed form).

The model and its parsing live in ``document_model``, the rendering in ``pdf_layout``; this
module builds the three documents.
"""

from __future__ import annotations

from roadchief.domain.capitals import chinese_capital
from roadchief.reports.document_model import (
    DASH,
    DEFAULT_ISSUER,
    INDEX,
    KM,
    MEASURES,
    MONEY,
    SCORE,
    SIGNATURE,
    Column,
    Document,
    Grid,
    Row,
    Text,
    _check,
    _chief,
    _date_text,
    _decimal,
    _km,
    _local_moment,
    _money,
    _score,
    _status,
    _sum_row,
    _yuan,
)
from roadchief.reports.pdf_layout import render_pdf

__all__ = [
    "quarter_pdf",
    "plan_pdf",
    "settlement_pdf",
    "quarter_document",
    "plan_document",
    "settlement_document",
]


# --------------------------------------------------------------------------- 季度拨付表

QUARTER_COLUMNS = (
    Column("序号", 11, INDEX),
    Column("乡镇 / 村", 34),
    Column("路长（姓名·职务）", 44),
    Column("镇道里程(km)", 20, KM),
    Column("村道里程(km)", 20, KM),
    Column("年度经费", 26, MONEY),
    Column("本季度基数", 25, MONEY),
    Column("考核得分", 16, SCORE),
    Column("等级", 12, align="center"),
    Column("扣减金额", 23, MONEY),
    Column("实拨金额", 25, MONEY),
    Column("备注", 17),
)
Q_PAYABLE, Q_DEDUCTION = 10, 9


def _unit_groups(units: list[dict]) -> list[tuple[dict, list[dict]]]:
    """Split the ordered units into (town or station, its villages)."""
    groups: list[tuple[dict, list[dict]]] = []
    for unit in units:
        kind = unit.get("kind")
        if kind in ("town", "station"):
            groups.append((unit, []))
        elif kind == "village":
            head = groups[-1][0] if groups else None
            if head is None or head["kind"] != "town" or head.get("town_code") != unit.get("town_code"):
                raise ValueError(f"village {unit.get('unit_key')} does not follow its town")
            groups[-1][1].append(unit)
        else:
            raise ValueError(f"unknown unit kind {kind!r} ({unit.get('unit_key')})")
    return groups


def _quarter_row(unit: dict, index: str, child: bool) -> Row:
    key = unit.get("unit_key", "?")
    provisional = bool(unit.get("provisional")) or unit.get("score") is None
    payable = _money(unit["payable"], f"{key} payable")
    if provisional and payable:
        raise ValueError(f"{key}: provisional unit (no score) shows a payment of {payable}")
    note = (unit.get("note") or "").strip()
    if provisional and "待考核" not in note:
        note = "；".join(filter(None, ("待考核", note)))
    km = unit.get("listed_km") or {}
    return Row(
        (
            index,
            unit["village"] if child else unit["town"],
            _chief(unit),
            _km(km.get("镇道"), f"{key} 镇道"),
            _km(km.get("村道"), f"{key} 村道"),
            _money(unit["base"], f"{key} base"),
            _money(unit["quarter_base"], f"{key} quarter_base"),
            DASH if provisional else _score(unit["score"], f"{key} score"),
            DASH if provisional else (unit.get("grade") or DASH),
            _money(unit["deduction"], f"{key} deduction"),
            payable,
            note,
        ),
        "child" if child else "item",
    )


def quarter_document(report: dict) -> Document:
    """The 季度拨付表 model (第十七条: paid quarterly; 第二十一条: on the assessment)."""
    year, quarter = report["year"], report["quarter"]
    rows: list[Row] = []
    units: list[Row] = []
    for n, (head, villages) in enumerate(_unit_groups(report["units"]), 1):
        group = [_quarter_row(head, str(n), False)]
        group += [_quarter_row(v, f"{n}.{i}", True) for i, v in enumerate(villages, 1)]
        rows += group
        units += group
        if head["kind"] == "town":
            rows.append(_sum_row(f"{head['town']}小计", group, QUARTER_COLUMNS, 1, "subtotal"))
    total = _sum_row("合计", units, QUARTER_COLUMNS, 1, "total")
    rows.append(total)

    payable, deduction = total.cells[Q_PAYABLE], total.cells[Q_DEDUCTION]
    _check("payable_total", payable, report["payable_total"])
    _check("deduction_total", deduction, report["deduction_total"])
    withheld, budget = _money(report["withheld_total"], "withheld_total"), _money(report["budget"], "budget")
    _check("budget (= payable + deduction + withheld)", payable + deduction + withheld, budget)
    _check("pool (= deduction_total)", deduction, report["pool"])

    status, draft = _status(report)
    return Document(
        title=f"青铜峡市农村公路“路长制”养护经费 {year}年第{quarter}季度拨付表",
        issuer=report.get("issuer") or DEFAULT_ISSUER,
        date_text=_date_text(report.get("generated_on")),
        status=status,
        draft=draft,
        wide=True,
        sheet_name=f"{year}年第{quarter}季度拨付表",
        blocks=(
            Grid(QUARTER_COLUMNS, tuple(rows)),
            Text(f"合计实拨金额（大写）：人民币{chinese_capital(payable)}", "capital"),
            Text(
                f"本季度预算 {_yuan(budget)} 元 = 实拨 {_yuan(payable)} 元 + 考核扣减 {_yuan(deduction)} 元"
                f" + 暂缓拨付（待考核）{_yuan(withheld)} 元。考核扣减经费转入年终“以奖代补”资金池（第二十四条）；"
                "待考核单位暂不拨付，考核后补拨。"
            ),
            Text(f"依据：{MEASURES}第十七条（专户管理，按季度拨付）、第二十一条（依据考核结果拨付养护经费）。"),
            *_adjustment_blocks(report),
            SIGNATURE,
        ),
    )


ADJUSTMENT_COLUMNS = (
    Column("序号", 11, INDEX),
    Column("登记时间", 34),
    Column("单位", 40),
    Column("调整金额", 26, MONEY),
    Column("原因", 120),
    Column("经办", 30),
)
A_AMOUNT = 3


def _adjustment_blocks(report: dict) -> tuple:
    """审定后调整分录 (第十七条 专户, corrections are new entries), listed after the approved table."""
    entries = report.get("adjustments") or []
    if not entries:
        return ()
    rows = [
        Row(
            (
                str(i),
                _local_moment(e.get("at")),
                e.get("unit") or e.get("unit_key", ""),
                _money(e["amount"], f"adjustment {i}"),
                e.get("note") or "",
                e.get("by") or "",
            )
        )
        for i, e in enumerate(entries, 1)
    ]
    total = _sum_row("合计", rows, ADJUSTMENT_COLUMNS, 2, "total")
    if "adjustments_total" in report:
        _check("adjustments_total", total.cells[A_AMOUNT], report["adjustments_total"])
    amount = total.cells[A_AMOUNT]
    return (
        Text("审定后调整分录（补拨为正、扣回为负；资金出自或退回“以奖代补”资金池）", "note"),
        Grid(ADJUSTMENT_COLUMNS, (*rows, total), label_col=2),
        Text(
            f"调整合计 {_yuan(amount)} 元；本季度实拨连同调整合计 {_yuan(_money(report['payable_total']) + amount)} 元。"
        ),
    )


# --------------------------------------------------------------------------- 年度经费计划

PLAN_COLUMNS = (
    Column("序号", 12, INDEX),
    Column("乡镇 / 村", 42),
    Column("镇道里程(km)", 24, KM),
    Column("村道里程(km)", 24, KM),
    Column("标准金额", 30, MONEY),
    Column("地方配套", 30, MONEY),
    Column("其余", 28, MONEY),
)
P_ZD, P_CD, P_STD, P_LOCAL, P_REST = 2, 3, 4, 5, 6


def _plan_row(index: str, name: str, part: dict, child: bool) -> Row:
    km = part.get("listed_km") or {}
    row = Row(
        (
            index,
            name,
            _km(km.get("镇道"), f"{name} 镇道"),
            _km(km.get("村道"), f"{name} 村道"),
            _money(part["standard"], f"{name} standard"),
            _money(part["local"], f"{name} local"),
            _money(part["remainder"], f"{name} remainder"),
        ),
        "child" if child else "item",
    )
    if row.cells[P_LOCAL] + row.cells[P_REST] != row.cells[P_STD]:
        raise ValueError(f"{name}: local + remainder != standard")
    return row


def _check_sums(what: str, row: Row, declared: dict) -> None:
    km = declared.get("listed_km") or {}
    for col, key in ((P_ZD, "镇道"), (P_CD, "村道")):
        if key in km:
            _check(f"{what} {key} km", row.cells[col], _km(km[key]))
    if "total" in km:
        _check(f"{what} total km", row.cells[P_ZD] + row.cells[P_CD], _km(km["total"]))
    for col, key in ((P_STD, "standard"), (P_LOCAL, "local"), (P_REST, "remainder")):
        if key in declared:
            _check(f"{what} {key}", row.cells[col], declared[key])


def plan_document(plan: dict) -> Document:
    """The 年度养护经费计划 model (第十五条: 镇道/村道 rates, local share >= 60%)."""
    year = plan["year"]
    rows: list[Row] = []
    items: list[Row] = []
    for n, town in enumerate(plan["towns"], 1):
        group = [_plan_row(str(n), town["name"], town["own"], False)]
        group += [_plan_row(f"{n}.{i}", v["name"], v, True) for i, v in enumerate(town.get("villages", []), 1)]
        subtotal = _sum_row(f"{town['name']}小计", group, PLAN_COLUMNS, 1, "subtotal")
        _check_sums(town["name"], subtotal, town)
        rows += [*group, subtotal]
        items += group
    total = _sum_row("合计", items, PLAN_COLUMNS, 1, "total")
    _check_sums(
        "plan",
        total,
        {
            "listed_km": plan.get("listed_km"),
            "standard": plan["standard_total"],
            "local": plan["local_total"],
            "remainder": plan["remainder_total"],
        },
    )
    rows.append(total)

    rates = plan.get("rates") or {}
    share = _decimal(plan.get("local_share", "0.60"), 4, "local_share") * 100
    rate_text = "，".join(f"{k} {_yuan(_money(v))} 元/公里·年" for k, v in rates.items())
    status, draft = _status(plan)
    return Document(
        title=f"青铜峡市农村公路“路长制”{year}年度养护经费计划",
        issuer=plan.get("issuer") or DEFAULT_ISSUER,
        date_text=_date_text(plan.get("generated_on")),
        status=status,
        draft=draft,
        wide=False,
        sheet_name=f"{year}年度养护经费计划",
        blocks=(
            Grid(PLAN_COLUMNS, tuple(rows)),
            Text(f"地方配套合计（大写）：人民币{chinese_capital(total.cells[P_LOCAL])}", "capital"),
            Text(
                f"标准：{rate_text}；地方配套比例 {share.normalize():f}%，由市财政保障；"
                f"其余为标准金额减地方配套。依据：{MEASURES}第十五条（列养里程每两年调整一次）。"
            ),
            SIGNATURE,
        ),
    )


# --------------------------------------------------------------------------- 年终考评结算

SETTLEMENT_COLUMNS = (
    Column("排名", 12, INDEX),
    Column("单位", 44),
    Column("路长", 46),
    Column("一季度", 18, SCORE),
    Column("二季度", 18, SCORE),
    Column("三季度", 18, SCORE),
    Column("四季度", 18, SCORE),
    Column("年度得分", 20, SCORE),
    Column("等级", 21, align="center"),
    Column("以奖代补", 29, MONEY),
    Column("扣减", 29, MONEY),
)
S_REWARD, S_DEDUCTION = 9, 10
POOL_COLUMNS = (Column("资金池", 40), Column("金额（元）", 40, MONEY), Column("说明", 110))


def _settlement_row(unit: dict) -> Row:
    key = unit.get("unit_key", "?")
    name = unit["town"] if unit["kind"] != "village" else f"{unit['town']}{unit['village']}"
    scores = list(unit.get("quarter_scores") or [])
    if len(scores) != 4:
        raise ValueError(f"{key}: quarter_scores needs 4 entries")
    grade = unit.get("grade") or DASH
    if unit.get("tier"):
        grade += f"·{unit['tier']}档"
    return Row(
        (
            str(unit.get("rank") or unit.get("level_rank") or ""),
            name,
            _chief(unit),  # rank within the level
            *(_score(s, f"{key} quarter score") for s in scores),
            _score(unit.get("annual_score"), f"{key} annual"),
            grade,
            _money(unit["reward"], f"{key} reward"),
            _money(unit["deduction"], f"{key} deduction"),
        )
    )


def settlement_document(settlement: dict) -> Document:
    """The 年终考评及以奖代补结算 model (第二十三条 grades/rewards, 第二十四条 pool)."""
    year = settlement["year"]
    sections = (
        ("镇级路长、公路站路长（市级路长办公室考核，第二十条）", ("town", "station")),
        ("村级路长（镇级路长办公室考核，第二十条）", ("village",)),
    )
    rows: list[Row] = []
    items: list[Row] = []
    for label, kinds in sections:
        part = [_settlement_row(u) for u in settlement["units"] if u["kind"] in kinds]
        if part:
            rows += [Row((label,), "section"), *part]
            items += part
    unknown = {u["kind"] for u in settlement["units"]} - {"town", "station", "village"}
    if unknown:
        raise ValueError(f"unknown unit kind(s) {sorted(unknown)}")
    total = _sum_row("合计", items, SETTLEMENT_COLUMNS, 1, "total")
    rows.append(total)

    rewards, deductions = total.cells[S_REWARD], total.cells[S_DEDUCTION]
    _check("rewards_total", rewards, settlement["rewards_total"])
    _check("pool_deductions", deductions, settlement["pool_deductions"])
    carried_in = _money(settlement["pool_carried_in"], "pool_carried_in")
    carried_out = _money(settlement["carried_out"], "carried_out")
    adjusted = _money(settlement.get("pool_adjustments", "0.00"), "pool_adjustments")
    _check(
        "pool_total (= carried in + deductions − adjustments)",
        carried_in + deductions - adjusted,
        settlement["pool_total"],
    )
    _check("pool_total (= rewards + carried out)", rewards + carried_out, settlement["pool_total"])
    pool = Grid(
        POOL_COLUMNS,
        (
            Row(("上年结转", carried_in, "上年度“以奖代补”资金池结余"), "item"),
            Row(("本年扣减", deductions, "考核扣除的养护经费（第二十四条）"), "item"),
            Row(("审定后调整", -adjusted, "调整分录：补拨从资金池支出、扣回退回资金池（第十七条 专户）"), "item"),
            Row(("资金池合计", carried_in + deductions - adjusted, "上年结转 + 本年扣减 − 调整"), "subtotal"),
            Row(("奖励发放", rewards, "年终考评优秀路长按排名和档次以奖代补（第二十三条）"), "item"),
            Row(("结转下年", carried_out, "资金池合计 − 奖励发放"), "total"),
        ),
        label_col=0,
    )

    status, draft = _status(settlement)
    return Document(
        title=f"{year}年度农村公路“路长制”年终考评及以奖代补结算",
        issuer=settlement.get("issuer") or DEFAULT_ISSUER,
        date_text=_date_text(settlement.get("generated_on")),
        status=status,
        draft=draft,
        wide=True,
        sheet_name=f"{year}年终考评结算",
        blocks=(
            Grid(SETTLEMENT_COLUMNS, tuple(rows), groups=((S_REWARD, S_DEDUCTION, "以奖代补 / 扣减 (元)"),)),
            Text(f"以奖代补发放合计（大写）：人民币{chinese_capital(rewards)}", "capital"),
            Text(
                f"年终考评实行百分制：≥85 分为优，≥70 分为良，<70 分为一般（{MEASURES}第二十三条）；"
                "考核扣除经费用于年终“以奖代补”（第二十四条）。"
            ),
            pool,
            SIGNATURE,
        ),
    )


def quarter_pdf(report: dict) -> bytes:
    """季度拨付表 (A4 landscape)."""
    return render_pdf(quarter_document(report))


def plan_pdf(plan: dict) -> bytes:
    """年度养护经费计划 (A4 portrait)."""
    return render_pdf(plan_document(plan))


def settlement_pdf(settlement: dict) -> bytes:
    """年终考评及以奖代补结算 (A4 landscape)."""
    return render_pdf(settlement_document(settlement))
