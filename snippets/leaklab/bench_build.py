"""``make bench`` section: how long the site takes to build, cold and warm.

Three timings, each a fresh process as a contributor runs it, against empty caches in a
temporary folder (``HANDBOOK_CACHE``), so the project's own caches are neither used nor
disturbed:

- *serial*: every notebook executed one after another (``hooks/notebook_runner.py --jobs 1``),
  what the build cost before notebooks ran in parallel;
- *cold*: ``mkdocs build --strict`` with nothing cached: notebooks run one per core;
- *warm*: the same build again, everything cached (what ``make build`` costs after
  ``make test``).

The cold and warm builds write ``site/``, which the page-weight section then reads. Targets:
cold at most 0.65x serial, warm at most 0.05x.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .census import usable_cpus

COLD_TARGET = 0.65
WARM_TARGET = 0.05


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-2000:]
        raise SystemExit(f"`{' '.join(command)}` failed:\n{tail}")
    return elapsed


def build_speed(root: Path | None = None) -> None:
    """Serial notebook execution vs a cold and a warm strict build, in seconds."""
    root = root or Path.cwd()
    if not (root / "hooks" / "notebook_runner.py").is_file():
        raise SystemExit(f"no hooks/notebook_runner.py in {root}: run from the project root")
    bin_dir = Path(sys.executable).parent
    build = [str(bin_dir / "mkdocs"), "build", "--strict", "-q", "-d", str(root / "site")]
    with tempfile.TemporaryDirectory(prefix="handbook-bench-") as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HANDBOOK_")}
        env["NO_MKDOCS_2_WARNING"] = "1"
        serial_env = {**env, "HANDBOOK_CACHE": f"{tmp}/serial"}
        runner = [sys.executable, "hooks/notebook_runner.py", "--jobs", "1"]
        serial = _timed(runner, serial_env, root)
        build_env = {**env, "HANDBOOK_CACHE": f"{tmp}/build"}
        cold = _timed(build, build_env, root)
        warm = _timed(build, build_env, root)
    jobs = usable_cpus()
    print(f"## site build ({jobs} cores; seconds, empty caches)\n")
    print("| serial execution | cold build | warm build | cold/serial | warm/serial |")
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {serial:.1f} | {cold:.1f} | {warm:.1f} | {cold / serial:.2f}x"
        f" (target {COLD_TARGET:.2f}x) | {warm / serial:.3f}x (target {WARM_TARGET:.2f}x) |"
    )
    print()


if __name__ == "__main__":
    build_speed()
