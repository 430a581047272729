"""Every notebook in this folder is a test: it must run from top to bottom without error.

The notebook is executed by ``hooks/notebook_runner.py`` into the cache the site build reads,
so ``make test`` and ``make build`` share one execution and the site publishes the outputs
this test validated. A notebook already executed for the current code (by a build, or by an
earlier test run) is not executed again. One test per notebook; a failure shows the failing
cell and its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "hooks"))

from notebook_runner import NOTEBOOK_TIMEOUT, NOTEBOOKS, NotebookRunner  # noqa: E402


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".ipynb" and file_path.parent == ROOT / NOTEBOOKS:
        return NotebookFile.from_parent(parent, path=file_path)
    return None


class NotebookFile(pytest.File):
    def collect(self):
        item = NotebookItem.from_parent(self, name="runs")
        # Waiting for another worker that executes this notebook counts against the timeout.
        item.add_marker(pytest.mark.timeout(3 * NOTEBOOK_TIMEOUT))
        yield item


class NotebookFailed(Exception):
    """A cell raised, or the notebook ran out of time."""


class NotebookItem(pytest.Item):
    def runtest(self) -> None:
        outcome = NotebookRunner(ROOT).executed(self.path)
        if not outcome.ok:
            raise NotebookFailed(outcome.error)
        self.user_properties.append(("reused", outcome.reused))

    def repr_failure(self, excinfo, style=None) -> str:
        if excinfo.errisinstance(NotebookFailed):
            return f"{self.path.name} failed:\n{excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}: runs"
