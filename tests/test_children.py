"""Children of the kit and of notebook kernels end with their parent, however it ends.

Each test starts a real parent, lets it start a real child that would run for ten minutes,
kills the parent with SIGKILL (no handler, no cleanup) and waits for the child to go.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")


def running(pid: int) -> bool:
    """True while ``pid`` runs; a zombie has ended and only waits for whoever reaps it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_gone(pids: list[int], seconds: float = 15) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(map(running, pids)):
        time.sleep(0.1)
    return [p for p in pids if running(p)]


def start_parent(code: str, *args: str) -> tuple[subprocess.Popen, list[int]]:
    """A parent process that prints the PIDs of the children it started, as JSON."""
    parent = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    line = parent.stdout.readline()
    assert line, "parent did not start its children"
    return parent, json.loads(line)


def kill_parent(parent: subprocess.Popen) -> None:
    parent.kill()  # SIGKILL: the parent runs no cleanup at all
    parent.wait(timeout=10)
    parent.stdout.close()


def test_die_with_parent_as_preexec_fn():
    parent, kids = start_parent(
        """
        import json, subprocess, time
        from leaklab.children import die_with_parent
        kid = subprocess.Popen(["sleep", "600"], preexec_fn=die_with_parent)
        print(json.dumps([kid.pid]), flush=True)
        time.sleep(600)
        """
    )
    assert all(map(running, kids))
    kill_parent(parent)
    assert wait_gone(kids) == []


def test_fdmix_children_end_with_the_test_that_started_them():
    parent, kids = start_parent(
        """
        import json, time
        from leaklab.fdmix import FdMix, spawn
        with spawn(FdMix(live=2)) as mix:
            print(json.dumps([mix.info["pid"], *mix.info["live"]]), flush=True)
            time.sleep(600)
        """
    )
    assert len(kids) == 3 and all(map(running, kids))
    kill_parent(parent)
    assert wait_gone(kids) == []


HARNESS = """
import sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, timeout=600, kernel_name="python3").execute()
"""

CELL = """
import json, os, subprocess, time
kid = subprocess.Popen(["sleep", "600"])  # in the kernel's group, like a notebook's child
with open(os.environ["PIDS_FILE"], "w") as fh:
    json.dump([os.getpid(), kid.pid], fh)
time.sleep(600)
"""


def test_a_kernel_and_its_children_end_with_the_process_that_executes_it(tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location("kernel_env", ROOT / "hooks" / "kernel_env.py")
    kernel_env = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(kernel_env)
    env = dict(os.environ, **kernel_env.prepare(tmp_path), PIDS_FILE=str(tmp_path / "pids"))
    env["TMPDIR"] = str(tmp_path)  # the killed harness cannot remove its connection file
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CELL)]
    nbformat.write(nb, tmp_path / "probe.ipynb")
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS, str(tmp_path / "probe.ipynb")],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not (tmp_path / "pids").exists() or not (tmp_path / "pids").read_text():
            assert time.monotonic() < deadline, "the kernel never ran the cell"
            time.sleep(0.2)
        time.sleep(0.2)
        kernel, kid = json.loads((tmp_path / "pids").read_text())
        assert running(kernel) and running(kid)
    finally:
        harness.send_signal(signal.SIGKILL)
        harness.wait(timeout=10)
    assert wait_gone([kernel, kid]) == [], "the kernel or its child outlived the harness"
    # The kernel kept its history in memory: no database in the run's IPYTHONDIR.
    assert not list((tmp_path / ".cache" / "ipython").rglob("history.sqlite"))
