"""Retention for ``app_logs`` (``ResearchLog``): the deferred Round 9 sketch, runnable.

LDR writes hundreds to thousands of ``app_logs`` rows per research and deletes them only by
cascade when the parent research is deleted by hand. The deferred design is:

* a setting ``logs.research_log_retention_days``, default ``0`` meaning *disabled*, so that
  nothing changes for existing installations;
* a daily ``_cleanup_old_research_logs`` job in the ``BackgroundJobScheduler``
  (``scheduler/background.py``), which deletes rows older than the window;
* rows of starred (favourite) researches are kept, where such a flag exists.

The tables below are a reduced model with only the columns the job needs (LDR's real tables
have more). Everything is plain SQLAlchemy 2 and runs on any SQLite file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    delete,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

__all__ = [
    "RETENTION_SETTING",
    "Base",
    "Research",
    "ResearchLog",
    "_cleanup_old_research_logs",
    "cleanup_old_research_logs",
    "retention_days",
]

_log = logging.getLogger(__name__)


# --8<-- [start:tables]
class Base(DeclarativeBase):
    pass


class Research(Base):
    __tablename__ = "research"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    query: Mapped[str] = mapped_column(String, nullable=False)
    # The flag the sketch asks to honour "if it exists"; modelled here as a boolean.
    starred: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class ResearchLog(Base):
    __tablename__ = "app_logs"
    __table_args__ = (Index("idx_app_logs_timestamp", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timestamp: Mapped[datetime] = mapped_column(DateTime, nullable=False)
    level: Mapped[str] = mapped_column(String, nullable=False, default="INFO")
    message: Mapped[str] = mapped_column(Text, nullable=False)
    research_id: Mapped[int | None] = mapped_column(
        ForeignKey("research.id", ondelete="CASCADE"), nullable=True
    )


# --8<-- [end:tables]


# --8<-- [start:setting]
RETENTION_SETTING = "logs.research_log_retention_days"
DEFAULT_SETTINGS: dict[str, Any] = {RETENTION_SETTING: 0}  # 0 = keep everything (today)


def retention_days(settings: Mapping[str, Any]) -> int:
    """The retention window in days; 0 (the default) or anything invalid disables it."""
    raw = settings.get(RETENTION_SETTING, DEFAULT_SETTINGS[RETENTION_SETTING])
    try:
        days = int(raw)
    except (TypeError, ValueError):
        _log.warning("ignoring invalid %s=%r", RETENTION_SETTING, raw)
        return 0
    return max(days, 0)


# --8<-- [end:setting]


# --8<-- [start:job]
def cleanup_old_research_logs(session: Session, days: int, *, now: datetime | None = None) -> int:
    """Delete log rows older than ``days`` days; keep rows of starred researches.

    ``days <= 0`` does nothing. Returns the number of deleted rows. Log rows without a
    research (``research_id IS NULL``) are treated like rows of an unstarred research.
    """
    if days <= 0:
        return 0
    now = now or datetime.now(UTC).replace(tzinfo=None)  # the column stores naive UTC
    cutoff = now - timedelta(days=days)
    starred = select(Research.id).where(Research.starred.is_(True))
    stmt = delete(ResearchLog).where(
        ResearchLog.timestamp < cutoff,
        (ResearchLog.research_id.is_(None)) | (ResearchLog.research_id.not_in(starred)),
    )
    deleted = session.execute(stmt).rowcount
    session.commit()
    return deleted


def _cleanup_old_research_logs(
    engine: Engine, settings: Mapping[str, Any], *, now: datetime | None = None
) -> int:
    """The daily job: read the setting, delete, log what happened. Never raises."""
    days = retention_days(settings)
    if days == 0:
        return 0
    try:
        with Session(engine) as session:
            deleted = cleanup_old_research_logs(session, days, now=now)
    except Exception:
        _log.warning("research-log retention job failed", exc_info=True)
        return 0
    _log.info("research-log retention: deleted %d rows older than %d days", deleted, days)
    return deleted


# --8<-- [end:job]
