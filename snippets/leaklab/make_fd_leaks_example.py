"""Regenerate the ``--fd-leaks`` transcript shown on the leaklab page from a real run.

    python -m leaklab.make_fd_leaks_example [OUTFILE]   # default: examples/fd-leaks.txt

It runs pytest with ``--fd-leaks --fd-leaks-trace`` on ``examples/test_leaks.py`` in a fresh
folder and keeps the part a reader needs: the failures and the summary.
``tests/test_fd_leaks_plugin.py`` runs it again and compares all but FD numbers, inodes, ports
and line-wrapped paths.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "examples" / "test_leaks.py"
OUTFILE = HERE / "examples" / "fd-leaks.txt"
COMMAND = ("--fd-leaks", "--fd-leaks-trace", "test_leaks.py")
# Installed plugins the run does not need (nbval and langsmith only slow the start down).
QUIET = ("-p", "no:cacheprovider", "-p", "no:nbval", "-p", "no:langsmith_plugin", "-p", "no:xdist")


def run_scenario(workdir: Path) -> subprocess.CompletedProcess[str]:
    """pytest on a copy of the scenario in ``workdir``, temporary files under ``workdir/tmp``."""
    shutil.copy(SCENARIO, workdir / SCENARIO.name)
    return subprocess.run(
        [sys.executable, "-m", "pytest", *QUIET, f"--basetemp={workdir / 'tmp'}", *COMMAND],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )


def transcript(workdir: Path) -> str:
    """The failures and the summary of a run in ``workdir``, with its paths made generic."""
    out = run_scenario(workdir).stdout
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if " FAILURES " in line)
    end = next(i for i, line in enumerate(lines) if " short test summary info " in line)
    body = "\n".join(lines[start:end]).replace(str(workdir / "tmp"), "/tmp/pytest-of-you")
    body = body.replace(repr(sys.executable), "'python'")
    return f"$ pytest {' '.join(COMMAND)}\n...\n{body}\n...\n"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outfile = Path(args[0]) if args else OUTFILE
    with tempfile.TemporaryDirectory() as tmp:
        outfile.write_text(transcript(Path(tmp)), encoding="utf-8")
    print(f"wrote {outfile}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
