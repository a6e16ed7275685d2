"""Transaction helpers shared by the use cases."""

from __future__ import annotations

import contextlib

from sqlalchemy.exc import IntegrityError, OperationalError

from roadchief.extensions import db
from roadchief.models.locks import YearLock
from roadchief.services import Conflict, ServiceError


@contextlib.contextmanager
def unit_of_work(conflict_message: str = "数据刚刚已被他人修改，请刷新后重试"):
    """Commit what the block did, or roll all of it back — on any exception, so a use case
    that fails halfway never leaves half its work in the session for a later commit."""
    try:
        yield db.session
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(conflict_message) from None
    except BaseException:
        db.session.rollback()
        raise


def lock_year(year: int) -> None:
    """Take the year's lock row (creating it on first use) for the rest of the transaction.

    Writing the row is what locks it, on PostgreSQL (row lock) and SQLite (write lock)
    alike; whoever comes second waits, then re-reads what the first committed.
    """
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(YearLock).values(year=year, counter=1)
    try:
        db.session.execute(
            statement.on_conflict_do_update(index_elements=["year"], set_={"counter": YearLock.counter + 1})
        )
    except OperationalError:
        db.session.rollback()
        raise ServiceError("系统繁忙：同一年度的经费数据正由他人处理，请稍后重试") from None
