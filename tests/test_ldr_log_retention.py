"""Regression test for the app_logs retention job (ldr_patterns.log_retention), on SQLite files."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from ldr_patterns.log_retention import (
    RETENTION_SETTING,
    Base,
    Research,
    ResearchLog,
    _cleanup_old_research_logs,
    retention_days,
)
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

NOW = datetime(2026, 5, 17, 12, 0, 0)
DAYS = 30


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = create_engine(f"sqlite:///{tmp_path / 'ldr.db'}")
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


def _fill(engine: Engine) -> dict[str, set[int]]:
    """Old and recent rows for a plain and a starred research, plus old orphan rows."""
    ids: dict[str, set[int]] = {"old": set(), "recent": set(), "starred_old": set()}
    with Session(engine) as s:
        plain = Research(query="plain", starred=False)
        starred = Research(query="kept", starred=True)
        s.add_all([plain, starred])
        s.flush()
        rows: list[tuple[str, ResearchLog]] = []

        def log(kind: str, age: int, research_id: int | None) -> None:
            when = NOW - timedelta(days=age)
            rows.append((kind, ResearchLog(timestamp=when, message=kind, research_id=research_id)))

        for age in (DAYS + 1, DAYS + 10, 400):
            log("old", age, plain.id)
            log("old", age, None)
            log("starred_old", age, starred.id)
        for age in (0, 1, DAYS - 1):
            log("recent", age, plain.id)
        s.add_all([row for _, row in rows])
        s.commit()
        for kind, row in rows:
            ids[kind].add(row.id)
    return ids


def _remaining(engine: Engine) -> set[int]:
    with Session(engine) as s:
        return set(s.scalars(select(ResearchLog.id)))


def test_old_rows_deleted_recent_and_starred_kept(engine: Engine) -> None:
    ids = _fill(engine)
    deleted = _cleanup_old_research_logs(engine, {RETENTION_SETTING: DAYS}, now=NOW)
    assert deleted == len(ids["old"])
    left = _remaining(engine)
    assert left == ids["recent"] | ids["starred_old"]
    assert not left & ids["old"]


def test_zero_disables_the_job(engine: Engine) -> None:
    ids = _fill(engine)
    everything = set().union(*ids.values())
    assert _cleanup_old_research_logs(engine, {RETENTION_SETTING: 0}, now=NOW) == 0
    assert _cleanup_old_research_logs(engine, {}, now=NOW) == 0  # default is 0
    assert _remaining(engine) == everything


def test_second_run_is_a_no_op(engine: Engine) -> None:
    _fill(engine)
    settings = {RETENTION_SETTING: DAYS}
    assert _cleanup_old_research_logs(engine, settings, now=NOW) > 0
    assert _cleanup_old_research_logs(engine, settings, now=NOW) == 0


@pytest.mark.parametrize(("raw", "expected"), [(0, 0), ("30", 30), (-5, 0), ("soon", 0), (None, 0)])
def test_retention_days_parsing(raw: object, expected: int) -> None:
    assert retention_days({RETENTION_SETTING: raw}) == expected


def test_job_logs_and_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    eng = create_engine(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables created
    try:
        with caplog.at_level(logging.WARNING):
            assert _cleanup_old_research_logs(eng, {RETENTION_SETTING: DAYS}, now=NOW) == 0
    finally:
        eng.dispose()
    assert any("retention job failed" in r.getMessage() for r in caplog.records)


def test_cascade_still_removes_logs_of_deleted_research(engine: Engine) -> None:
    """The path that exists today: deleting a research removes its logs (FKs on)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA foreign_keys=ON")  # before any transaction starts
        with Session(bind=conn) as s:
            r = Research(query="gone")
            s.add(r)
            s.flush()
            s.add(ResearchLog(timestamp=NOW, message="m", research_id=r.id))
            s.commit()
            s.execute(Research.__table__.delete().where(Research.id == r.id))
            s.commit()
            assert s.scalar(select(func.count()).select_from(ResearchLog)) == 0
