"""Load the synthetic demo network (data/roads/) — labelled synthetic, never real data."""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from roadchief import PACKAGE_DIR
from roadchief.extensions import db
from roadchief.models import Segment, Town, Village
from roadchief.services.admin_units import ensure_admin_units, ensure_station
from roadchief.services.transactions import unit_of_work

DEMO_MILEAGE_EFFECTIVE = date(2021, 1, 1)  # the 1166.255 km of 第十五条 (2021)


def demo_dir() -> Path:
    return Path(os.environ.get("ROADCHIEF_DEMO_DIR", PACKAGE_DIR.parent / "data" / "roads"))


def register_is_empty() -> bool:
    return not db.session.scalar(select(func.count(Segment.id)))


def _load_villages(path: Path) -> int:
    towns = {t.code: t for t in db.session.scalars(select(Town))}
    known = set(db.session.scalars(select(Village.code)))
    created = 0
    with open(path, newline="", encoding="utf-8-sig") as handle, unit_of_work():
        for row in csv.DictReader(handle):
            if row["village_code"] not in known:
                db.session.add(
                    Village(town=towns[row["town_code"]], code=row["village_code"], name=row["village_name"])
                )
                created += 1
    return created


def load_demo_network(progress=None) -> str:
    from roadchief.services.road_import import import_roads
    from roadchief.services.roster import import_roster

    folder = demo_dir()
    ensure_admin_units()
    with unit_of_work():
        ensure_station("GLZ01", "青铜峡公路站")
    villages = _load_villages(folder / "villages.csv")
    report = import_roads(folder / "demo_network.geojson", effective=DEMO_MILEAGE_EFFECTIVE, progress=progress)
    roster = import_roster(folder / "chiefs.csv")
    return (
        f"演示路网（合成数据）已载入：新建村 {villages} 个；{report.summary()}\n"
        f"路长名册：{roster['rows']} 行，新建路长 {roster['chiefs_created']} 人，新建任命 {roster['assignments_created']} 条"
    )


DEMO_ACCOUNTS = (
    ("admin", "city_office", None, None, "市级路长办公室"),
    ("caizheng", "finance", None, None, "财政"),
    ("xiaoba", "town_office", "640381100", None, "小坝镇路长办公室"),
    ("ducha", "inspector", None, None, "督查员"),
    ("lucz", "chief", None, "village", "村级路长"),
)


def create_demo_accounts(folder: Path) -> list[tuple[str, str, str]]:
    """Accounts to try the demo with, each with a random password written to the
    instance folder (never a fixed password that would survive into production)."""
    import secrets

    from roadchief.models import Chief, User
    from roadchief.services.accounts import create_user

    created = []
    for username, role, town, chief_position, label in DEMO_ACCOUNTS:
        if db.session.scalar(select(User).where(User.username == username)):
            continue
        chief_id = None
        if chief_position:
            chief_id = db.session.scalar(
                select(Chief.id).where(Chief.position == chief_position).order_by(Chief.code).limit(1)
            )
        password = f"Rc-{secrets.token_urlsafe(9)}"
        create_user(username, role, password, town=town, chief_id=chief_id, display_name=label)
        created.append((username, label, password))
    if created:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "demo_accounts.txt"
        with open(path, "a", encoding="utf-8") as handle:
            for username, label, password in created:
                handle.write(f"{username}\t{label}\t{password}\n")
        path.chmod(0o600)
    return created
