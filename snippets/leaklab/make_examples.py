"""Regenerate the ``leaklab`` outputs shown on the handbook's pages from real runs.

    python -m leaklab.make_examples [OUTDIR]   # default: snippets/leaklab/examples/

Each file holds the command as typed, what it printed (stderr progress lines first, as a
terminal shows them) and its exit status. The live commands run against a child from
:mod:`leaklab.fdmix`; triage runs on ``tests/data/incident-ls.txt``. ``tests/test_cli_examples.py``
regenerates them into a temporary folder and compares everything but PIDs and timings.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .fdmix import FdMix, spawn

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
INCIDENT = ROOT / "tests" / "data" / "incident-ls.txt"


def run(*args: str, shown: str | None = None, cwd: Path | None = None) -> str:
    """Run ``leaklab ARGS`` and return the transcript: command, stderr, stdout, exit status."""
    proc = subprocess.run(
        [sys.executable, "-m", "leaklab", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    return (
        f"$ leaklab {shown or ' '.join(args)}\n{proc.stderr}{proc.stdout}"
        f"(exit status {proc.returncode})\n"
    )


def generate(outdir: Path) -> dict[str, int]:
    """Write every example into ``outdir``; returns the PIDs used, by role, for normalising."""
    outdir.mkdir(parents=True, exist_ok=True)
    pids: dict[str, int] = {}
    (outdir / "triage.txt").write_text(
        run("triage", "--from", str(INCIDENT), shown="triage --from incident-ls.txt"),
        encoding="utf-8",
    )
    with tempfile.TemporaryDirectory() as tmp, spawn(FdMix(sqlite=f"{tmp}/app.db")) as mix:
        pid = str(mix.info["pid"])
        pids["mix"] = mix.info["pid"]
        pids["live"] = mix.info["live"][0]
        pids["gone"] = mix.info["gone"][0]
        (outdir / "census.txt").write_text(run("census", pid), encoding="utf-8")
        (outdir / "pidfds.txt").write_text(run("pidfds", pid), encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp, spawn(FdMix(leak_every=0.5)) as drip:
        pid = str(drip.info["pid"])
        pids["drip"] = drip.info["pid"]
        before = Path(tmp) / "before.json"
        before.write_text(
            subprocess.run(
                [sys.executable, "-m", "leaklab", "census", pid, "--json"],
                capture_output=True,
                text=True,
                check=True,
                timeout=60,
            ).stdout,
            encoding="utf-8",
        )
        time.sleep(2.2)
        (outdir / "diff.txt").write_text(
            run("diff", "before.json", pid, cwd=Path(tmp)), encoding="utf-8"
        )
        (outdir / "watch.txt").write_text(
            run("watch", pid, "--every", "1", "--samples", "6"), encoding="utf-8"
        )
    return pids


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else HERE / "examples"
    generate(outdir)
    print(f"wrote examples into {outdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
