"""Funding parameters, quarterly scores, quarter closes and the 专户 ledger (第十七条)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from roadchief.extensions import db
from roadchief.models.base import Audited, UTCDateTime, utcnow


class FundingParamsRevision(Audited, db.Model):
    """Each edit of a year's parameters is a new revision; the highest is in force."""

    __tablename__ = "funding_params"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    params_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(80), default="")

    __table_args__ = (UniqueConstraint("year", "revision"),)


class QuarterScore(Audited, db.Model):
    """A paid unit's assessment score for one quarter, in hundredths of a point."""

    __tablename__ = "quarter_score"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    unit_key: Mapped[str] = mapped_column(String(40))
    chief_id: Mapped[int | None] = mapped_column(ForeignKey("chief.id"))
    score_centi: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="import")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("year", "quarter", "unit_key"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter"),
        CheckConstraint("score_centi BETWEEN 0 AND 10000", name="score_range"),
        CheckConstraint("source IN ('import', 'inspection', 'correction')", name="source"),
    )


class QuarterClose(Audited, db.Model):
    """Approving a quarter freezes its disbursement (snapshot); the version column makes
    two concurrent approvals end with one winner."""

    __tablename__ = "quarter_close"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    quarter: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="closed")
    closed_by: Mapped[str] = mapped_column(String(80))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    snapshot_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        UniqueConstraint("year", "quarter"),
        CheckConstraint("quarter BETWEEN 1 AND 4", name="quarter"),
        CheckConstraint("status IN ('closed')", name="status"),
    )


class LedgerEntry(db.Model):
    """专户 ledger: append-only (database triggers refuse UPDATE/DELETE); corrections are new entries."""

    __tablename__ = "ledger_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    quarter: Mapped[int | None] = mapped_column(Integer)
    unit_key: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('payment', 'deduction', 'reward', 'carry_in', 'carry_out', 'adjustment')", name="kind"
        ),
        CheckConstraint("quarter IS NULL OR quarter BETWEEN 1 AND 4", name="quarter"),
    )
