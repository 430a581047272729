"""The notebook runner: parallel, bounded in time, one execution per notebook and code version."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "hooks"))

from notebook_runner import NotebookRunner, code_fingerprint

pytestmark = pytest.mark.timeout(600)


def project(tmp_path: Path, **notebooks: list[str]) -> Path:
    """A minimal project: ``notebooks/<name>.ipynb`` with the given code cells, and snippets/."""
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "snippets").mkdir()
    (tmp_path / "snippets" / "kit.py").write_text("A = 1\n")
    for name, cells in notebooks.items():
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
        nbformat.write(nb, tmp_path / "notebooks" / f"{name}.ipynb")
    return tmp_path


def kernels_of_this_process() -> list[psutil.Process]:
    return [
        p for p in psutil.Process().children(recursive=True) if "ipykernel" in " ".join(p.cmdline())
    ]


def test_build_output_is_not_part_of_the_key(tmp_path):
    root = project(tmp_path)
    first = code_fingerprint(root)
    (root / "snippets" / "kit.egg-info").mkdir()
    (root / "snippets" / "kit.egg-info" / "SOURCES.txt").write_text("kit.py\n")
    (root / "snippets" / "__pycache__").mkdir()
    (root / "snippets" / "__pycache__" / "kit.cpython-313.pyc").write_bytes(b"\0")
    assert code_fingerprint(root) == first
    (root / "snippets" / "kit.py").write_text("A = 2\n")
    assert code_fingerprint(root) != first


def test_in_a_git_checkout_ignored_files_are_not_part_of_the_key(tmp_path):
    root = project(tmp_path)
    (root / ".gitignore").write_text("*.egg-info/\nscratch.txt\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    first = code_fingerprint(root)
    (root / "snippets" / "scratch.txt").write_text("notes\n")  # ignored
    (root / "snippets" / "kit.egg-info").mkdir()
    (root / "snippets" / "kit.egg-info" / "PKG-INFO").write_text("Version: 2\n")
    assert code_fingerprint(root) == first
    (root / "snippets" / "new_helper.py").write_text("B = 1\n")  # untracked, not ignored: code
    assert code_fingerprint(root) != first


def test_a_failing_cell_is_reported_and_not_cached(tmp_path):
    root = project(tmp_path, bad=["x = 1", "raise ValueError('deliberate failure')"])
    runner = NotebookRunner(root, jobs=1)
    (outcome,) = runner.run()
    assert not outcome.ok and "deliberate failure" in outcome.error
    assert "\x1b[" not in outcome.error  # the traceback is plain text
    assert runner.cached(outcome.notebook) is None


def test_a_notebook_running_too_long_is_stopped_with_its_kernel(tmp_path):
    root = project(tmp_path, slow=["import time\ntime.sleep(120)"])
    runner = NotebookRunner(root, jobs=1, notebook_timeout=5)
    (outcome,) = runner.run()
    assert not outcome.ok
    assert "longer than 5 s" in outcome.error
    assert kernels_of_this_process() == []


WAIT_FOR_OTHER = """
import pathlib, time
here = pathlib.Path.cwd()
(here / "{me}.started").touch()
deadline = time.monotonic() + 90
while not (here / "{other}.started").exists():
    assert time.monotonic() < deadline, "the other notebook never ran alongside this one"
    time.sleep(0.1)
"""


def test_notebooks_run_side_by_side(tmp_path):
    # Each notebook waits until the other has started: run one after the other, neither ends.
    root = project(
        tmp_path,
        a=[WAIT_FOR_OTHER.format(me="a", other="b")],
        b=[WAIT_FOR_OTHER.format(me="b", other="a")],
    )
    outcomes = NotebookRunner(root, jobs=2).run()
    assert [o.error for o in outcomes] == [None, None]


def test_two_processes_share_one_execution(tmp_path):
    root = project(
        tmp_path,
        once=[
            "import pathlib, time\n"
            "with open(pathlib.Path.cwd() / 'runs.txt', 'a') as f:\n"
            "    f.write('ran\\n')\n"
            "time.sleep(3)"
        ],
    )
    (root / "hooks").mkdir()
    (root / "hooks" / "notebook_runner.py").write_bytes(
        (ROOT / "hooks" / "notebook_runner.py").read_bytes()
    )
    command = [sys.executable, str(root / "hooks" / "notebook_runner.py")]
    first = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, text=True)
    outputs = [p.communicate(timeout=300)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert (root / "notebooks" / "runs.txt").read_text() == "ran\n"
    assert sum("once.ipynb: cached" in out for out in outputs) == 1, outputs
