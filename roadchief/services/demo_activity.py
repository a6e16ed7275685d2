"""A demo year with activity (synthetic, seeded): 督查 with findings, 整改 in every state, quarter
scores and approvals, road events and public reports — so that every page shows a working system.

Everything goes through the real use cases (inspections, rectifications, assessment, score import,
funding approval, events, public reports), so the numbers agree across pages exactly as they would
for real work; the audit log names the actor 演示数据. Choices come from ``random.Random(SEED)``:
the same register loaded on the same day gives the same activity. The year is the current
(Beijing) one, with activity dated from 1 January to yesterday; quarters already over are
finalised, and all but the last of them approved (审定), so one stays a draft awaiting approval.
"""

from __future__ import annotations

import io
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import SimpleNamespace

from sqlalchemy import func, select

from roadchief.domain import clock
from roadchief.extensions import db
from roadchief.models import Chief, ChiefAssignment, Road, Segment, Station, Town
from roadchief.models.inspections import Inspection
from roadchief.services.audit import Actor, acting_as

SEED = 16
ACTOR = "演示数据"
# 扣分项 of the example catalog a field inspection commonly finds (第二十三条 考评细则)
FINDING_CODES = ("LM04", "LM01", "LM03", "LJ03", "YX02", "LR05", "LZ01")
EVENT_KINDS = (("flood_damage", "汛期降雨冲毁路肩"), ("landslide", "边坡落石"), ("snow_ice", "桥面结冰"))
EVENT_KINDS += (("accident", "车辆侧翻，占用半幅"), ("other", "管线施工占道"))
REPORTS = (
    ("路面破损", "村口路面有一处坑槽，雨天积水"),
    ("占道晒粮堆物", "路边堆放玉米秸秆，占了半边路"),
    ("交安设施", "弯道处警示桩被撞倒"),
    ("路域环境", "路肩垃圾较多，需要清理"),
    ("积雪结冰", "桥面结冰，车辆打滑"),
    ("桥涵", "涵洞口被泥沙堵塞"),
    ("路基塌陷", "路基边缘出现塌陷"),
    ("其他", "路名牌字迹褪色"),
)


def has_activity() -> bool:
    return bool(db.session.scalar(select(func.count(Inspection.id))))


def _office(role: str, town: Town | None = None) -> SimpleNamespace:
    """The acting account of a use case: an office, not a stored user (the audit actor says 演示数据)."""
    label = f"{town.name}路长办公室" if town else "市级路长办公室"
    return SimpleNamespace(
        id=None, username=ACTOR, display_name=f"{label}（演示）", role=role, is_authenticated=True,
        town_id=town.id if town else None, town=town, chief_id=None, chief=None,
    )  # fmt: skip


def _chief(chief) -> SimpleNamespace:
    return SimpleNamespace(
        id=None, username=ACTOR, display_name=chief.name, role="chief", is_authenticated=True,
        town_id=None, town=None, chief_id=chief.id, chief=chief,
    )  # fmt: skip


def _photo(rng: random.Random):
    """A small generated JPEG (the 整改后照片 a chief must upload), as a form upload."""
    from PIL import Image
    from werkzeug.datastructures import FileStorage

    out = io.BytesIO()
    Image.new("RGB", (96, 72), (rng.randrange(90, 160), rng.randrange(120, 180), 90)).save(out, "JPEG")
    out.seek(0)
    return FileStorage(out, filename="after.jpg", content_type="image/jpeg")


def _moment(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour, 0), tzinfo=clock.BEIJING)


def _quarter_days(year: int, quarter: int, today: date) -> tuple[date, date] | None:
    start = date(year, 3 * quarter - 2, 1)
    end = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - timedelta(days=1)
    last = min(end, today - timedelta(days=1))
    return (start, last) if last >= start else None


def _segments_by_town() -> dict[Town, list[Segment]]:
    towns: dict[Town, list[Segment]] = defaultdict(list)
    for segment in db.session.scalars(select(Segment).where(Segment.village_id.is_not(None)).order_by(Segment.id)):
        towns[segment.town].append(segment)
    return dict(sorted(towns.items(), key=lambda item: item[0].code))


class _Loader:
    def __init__(self, today: date, upload_dir: str):
        self.today, self.upload_dir = today, upload_dir
        self.year = today.year
        self.rng = random.Random(f"{SEED}:{self.year}")
        self.now = clock.utcnow()
        self.counts: dict[str, int] = defaultdict(int)

    # ------------------------------------------------------------------ 督查 and 整改
    def inspect(self, user, segments: list[Segment], day: date, findings: int) -> None:
        from roadchief.services.inspections import FindingInput, InspectionInput, create_inspection

        rng = self.rng
        chosen = rng.sample(segments, min(len(segments), rng.randint(1, 3)))
        items = [
            FindingInput(rng.choice(FINDING_CODES), rng.randint(1, 3), rng.choice(chosen).id, "演示：现场发现")
            for _ in range(findings)
        ]
        data = InspectionInput(
            kind="supervision",
            segment_ids=[s.id for s in chosen],
            inspected_at=_moment(day, rng.randint(9, 16)),
            note="演示数据（合成）",
            deadline=day + timedelta(days=rng.choice((7, 10, 15))),
            findings=items,
        )
        recorded = create_inspection(user, data, self.upload_dir, now=self.now)
        self.counts["inspections"] += 1
        self.counts["findings"] += len(items)
        for finding in recorded.inspection.findings:
            self.rectify(user, finding.rectification, day)

    def rectify(self, office, rect, day: date) -> None:
        """Most are done and verified; some wait for review, are sent back, or stay open (overdue when past due)."""
        from roadchief.services.rectifications import act

        if rect is None or rect.chief is None:
            return
        rng, chief = self.rng, _chief(rect.chief)
        recent = (self.today - day).days <= 30  # older findings are mostly settled; recent ones still being worked on
        weights = (3, 3, 1, 4, 0) if recent else (12, 1, 1, 1, 1)
        fate = rng.choices(("verified", "done", "returned", "open", "late"), weights=weights)[0]
        answered = day + timedelta(days=rng.randint(2, 6) if fate != "late" else (rect.deadline - day).days + 3)
        if fate == "open" or answered >= self.today:
            return
        act(chief, rect, "complete", "演示：已整改", _photo(rng), self.upload_dir, now=_moment(answered, 15))
        if fate == "done":
            return
        review = answered + timedelta(days=1)
        if review >= self.today:
            return
        if fate == "returned":
            act(office, rect, "return", "演示：边缘未压实，请重新处理", now=_moment(review, 10))
        else:
            act(office, rect, "verify", "演示：复核合格", now=_moment(review, 10))
        self.counts[f"rect_{fate}"] += 1

    def quarter_activity(self, quarter: int, span: tuple[date, date], towns: dict[Town, list[Segment]]) -> None:
        start, last = span
        days = (last - start).days
        city = _office("city_office")
        for town, segments in towns.items():
            # the city office inspects every town once a quarter; the town office two villages (第二十条)
            self.inspect(city, segments, start + timedelta(days=self.rng.randint(0, days)), self.rng.randint(0, 3))
            by_village: dict[int, list[Segment]] = defaultdict(list)
            for segment in segments:
                by_village[segment.village_id].append(segment)
            own = _office("town_office", town)
            for village_id in self.rng.sample(sorted(by_village), min(2, len(by_village))):
                day = start + timedelta(days=self.rng.randint(0, days))
                self.inspect(own, by_village[village_id], day, self.rng.randint(0, 2))

    # ------------------------------------------------------------------ scores and money
    def settle_quarter(self, quarter: int, approve: bool, towns) -> None:
        from roadchief.services.assessment import finalise_quarter
        from roadchief.services.funding_quarter import close_quarter, compute_quarter
        from roadchief.services.scores import import_scores

        end = _quarter_days(self.year, quarter, date(self.year + 1, 1, 2))[1]
        finalise_quarter(["city"] + [f"town:{t.code}" for t in towns], self.year, quarter, today=end + timedelta(1))
        # units no 督查 scored this quarter: the office's spreadsheet of scores (第二十一条 季度考核)
        rows = ["year,quarter,town,village,chief_id,score"]
        for unit in compute_quarter(self.year, quarter)["units"]:
            if not unit["provisional"]:
                continue
            score = f"{self.rng.randint(8200, 9800) / 100:.2f}"
            if unit["kind"] == "station":  # 公路站 by its chief (the import names stations by chief_id)
                chief_id = db.session.scalar(
                    select(ChiefAssignment.chief_id)
                    .join(Station, ChiefAssignment.station_id == Station.id)
                    .where(Station.code == unit["unit_key"].partition(":")[2], ChiefAssignment.start_date <= end)
                    .order_by(ChiefAssignment.start_date.desc())
                    .limit(1)
                )
                if chief_id is not None:
                    rows.append(f"{self.year},{quarter},,,{chief_id},{score}")
            else:
                rows.append(f"{self.year},{quarter},{unit['town']},{unit['village'] or ''},,{score}")
        if len(rows) > 1:
            import_scores(Path("演示得分.csv"), content="\n".join(rows).encode("utf-8"), source="import")
        self.counts["quarters_finalised"] += 1
        if approve and not any(u["provisional"] for u in compute_quarter(self.year, quarter)["units"]):
            close_quarter(self.year, quarter)
            self.counts["quarters_closed"] += 1

    # ------------------------------------------------------------------ events and public reports
    def events(self, towns: dict[Town, list[Segment]]) -> None:
        from roadchief.services.events import EventInput, act, create_event

        city = _office("city_office")
        first, last = date(self.year, 1, 1), self.today - timedelta(days=1)
        span = (last - first).days
        if span < 1:
            return
        segments = [s for group in towns.values() for s in group]
        for number in range(10):
            kind, text = EVENT_KINDS[number % len(EVENT_KINDS)]
            segment = self.rng.choice(segments)
            occurred = _moment(first + timedelta(days=self.rng.randint(0, span)), self.rng.randint(6, 20))
            event = create_event(
                city,
                EventInput(
                    segment.id, kind, self.rng.choice(("minor", "major", "severe")), occurred,
                    closed=number % 3 == 0, description=f"演示：{text}", warning_sign="已设置警示标志",
                    detour="经相邻村道绕行" if number % 3 == 0 else "",
                ),
                now=self.now,
            )  # fmt: skip
            self.counts["events"] += 1
            restored = occurred + timedelta(hours=self.rng.choice((2, 4, 6, 10, 20, 30)))
            if number % 5 == 4 or restored.date() >= self.today:
                continue  # still waiting for 抢通
            act(city, event, "restore", restored, "演示：已抢通", now=self.now)
            repaired = restored + timedelta(days=self.rng.randint(1, 12))
            if number % 4 != 3 and repaired.date() < self.today:
                act(city, event, "repair", repaired, "演示：已修复", now=self.now)

    def reports(self) -> None:
        from roadchief.services.public_reports import ReportInput, act, chief_choices, create_report

        roads = db.session.scalars(select(Road).order_by(Road.code)).all()
        city = _office("city_office")
        plans = ("received", "assigned", "replied", "confirmed", "closed", "rejected", "closed", "assigned")
        for (category, text), plan in zip(REPORTS, plans, strict=True):
            road = self.rng.choice([r for r in roads if r.segments])
            segment = self.rng.choice(road.segments)
            report = create_report(road, ReportInput(category, f"演示：{text}", segment_id=segment.id), ip="127.0.0.1")
            self.counts["reports"] += 1
            if plan == "received":
                continue
            if plan == "rejected":
                act(report, city, "reject", "演示：经核实不属于农村公路管养范围")
                continue
            if plan in ("assigned", "replied", "confirmed", "closed"):
                choices = chief_choices(report)  # the chiefs answering for the segment, as the office picks
                if report.assigned_chief_id is None and not choices:
                    continue
                act(
                    report,
                    city,
                    "assign",
                    "演示：转路长处理",
                    chief_id=None if report.assigned_chief_id else choices[0][0],
                )
                if plan != "assigned":
                    chief = db.session.get(Chief, report.assigned_chief_id)
                    act(report, _chief(chief), "reply", "演示：已安排人员处理")
            if plan in ("confirmed", "closed"):
                act(report, city, "confirm", "演示：问题属实，已转整改")
            if plan == "closed":
                act(report, city, "close", "演示：已处理完毕")


def load_demo_activity(today: date | None = None, upload_dir: str | None = None) -> str:
    """Add the demo year's activity to a database holding the demo register (once: refused when
    there are inspections already). Returns a one-line Chinese summary."""
    from flask import current_app

    from roadchief.services import ServiceError

    if has_activity():
        raise ServiceError("已有检查记录，不再载入演示业务数据")
    if not db.session.scalar(select(func.count(Segment.id))):
        raise ServiceError("路网为空：请先载入演示路网（roadchief load-demo）")
    loader = _Loader(today or clock.beijing_today(), upload_dir or current_app.config["UPLOAD_DIR"])
    towns = _segments_by_town()
    past = []
    with acting_as(Actor(name=ACTOR)):
        for quarter in range(1, 5):
            span = _quarter_days(loader.year, quarter, loader.today)
            if span is None:
                break
            loader.quarter_activity(quarter, span, towns)
            if span[1] == _quarter_days(loader.year, quarter, date(loader.year + 1, 1, 2))[1]:
                past.append(quarter)  # the whole quarter is over
        for quarter in past:
            loader.settle_quarter(quarter, approve=quarter != past[-1] or len(past) == 1, towns=towns)
        loader.events(towns)
        loader.reports()
    c = loader.counts
    return (
        f"演示业务数据（合成）已载入 {loader.year} 年：督查 {c['inspections']} 次、问题 {c['findings']} 条，"
        f"季度定稿 {c['quarters_finalised']} 个、审定 {c['quarters_closed']} 个，"
        f"突发事件 {c['events']} 起，群众反馈 {c['reports']} 条"
    )
