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


def test_a_run_is_read_from_the_cell_stamps_of_an_executed_copy(tmp_path):
    copy = tmp_path / "event-loops.ipynb"
    stamps = [
        ("2026-11-30T10:00:00.000000Z", "2026-11-30T10:00:02.500000Z"),
        ("2026-11-30T10:00:02.600000Z", "2026-11-30T10:00:12.000000Z"),
    ]
    copy.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "metadata": {
                            "execution": {"iopub.execute_input": a, "shell.execute_reply": b}
                        }
                    }
                    for a, b in stamps
                ]
                + [{"cell_type": "markdown", "metadata": {}}],
                "metadata": {"language_info": {"version": "3.13.0"}},
            }
        )
    )
    environment = {"kernel": "Linux 6.8.0", "libraries": {"httpx": "0.28.1"}}
    run = execution_report.run_from_copy(copy, environment)
    assert (run.notebook, run.status, run.seconds, run.python) == (
        "event-loops",
        "passed",
        12.0,
        "3.13.0",
    )
    assert run.date == "2026-11-30 10:00 UTC"
    unexecuted = tmp_path / "x.ipynb"
    unexecuted.write_text(json.dumps({"cells": [{"metadata": {}}], "metadata": {}}))
    assert execution_report.run_from_copy(unexecuted, environment) is None
