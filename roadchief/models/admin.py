"""Administrative units: the city, its towns (and the farm) and their villages."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from roadchief.extensions import db
from roadchief.models.base import Audited


class Town(Audited, db.Model):
    __tablename__ = "town"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[str] = mapped_column(String(10), default="镇")  # 镇 / 林场 / 街道
    villages: Mapped[list[Village]] = relationship(back_populates="town", order_by="Village.code")

    __table_args__ = (CheckConstraint("kind IN ('镇', '林场', '街道')", name="kind"),)


class Village(Audited, db.Model):
    __tablename__ = "village"
    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(ForeignKey("town.id"), index=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    town: Mapped[Town] = relationship(back_populates="villages")

    __table_args__ = (UniqueConstraint("town_id", "name"),)


class Station(Audited, db.Model):
    """公路站: holds segments for day-to-day upkeep (第六条 公路站路长)."""

    __tablename__ = "station"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
