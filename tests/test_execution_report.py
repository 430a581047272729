"""The execution report and the notebook stamps come from the runner's records of the run."""

from __future__ import annotations

import json
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "hooks"))

import execution_report

RECORD = {
    "notebook": "event-loops",
    "status": "passed",
    "seconds": 12.34,
    "python": "3.13.0",
    "kernel": "Linux 6.8.0",
    "libraries": {"httpx": "0.28.1", "SQLAlchemy": "2.0.40"},
    "date": "2026-11-30 10:00 UTC",
}


def test_a_run_record_becomes_a_row_and_a_stamp(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps(RECORD))
    run = execution_report.read_run(path)
    table = execution_report.report_table(["event-loops", "http-sessions"], {"event-loops": run})
    lines = table.splitlines()
    assert lines[0].startswith("| Notebook | Status | Run time | CPython")
    assert "| [event-loops](notebooks/event-loops.ipynb) | passed | 12.3 s | 3.13.0 |" in lines[2]
    assert "httpx 0.28.1, SQLAlchemy 2.0.40" in lines[2]
    assert "not executed in this build" in lines[3]
    assert run.stamp().startswith("Executed 2026-11-30 10:00 UTC in 12.3 s on CPython 3.13.0")


def test_a_broken_record_is_not_shown_as_a_run(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"notebook": "x"}')
    assert execution_report.read_run(path) is None
    assert execution_report.read_run(tmp_path / "missing.json") is None
