"""Shared helpers of the tests/test_cli_*.py files: run leaklab as a real subprocess."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

DATA = ROOT / "tests" / "data"


def leaklab(*args: str, stdin: str | bytes | None = None, **kw) -> subprocess.CompletedProcess:
    """``python -m leaklab ARGS`` with text output; stdin may be text or bytes."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "leaklab", *args],
        input=data,
        capture_output=True,
        timeout=60,
        **kw,
    )
    proc.stdout = proc.stdout.decode()
    proc.stderr = proc.stderr.decode()
    return proc


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_one_line_error(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stderr.startswith("leaklab")
    assert proc.stdout == ""
