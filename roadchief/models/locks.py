"""One row per funding year that money-changing use cases lock first, so a quarter
close, a score import and a parameter edit of the same year run one after another."""

from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, mapped_column

from roadchief.extensions import db


class YearLock(db.Model):
    __tablename__ = "year_lock"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    counter: Mapped[int] = mapped_column(Integer, default=0)
