"""``python -m leaklab.bench`` (``make bench``): how expensive is a census?

A census has to be cheap enough to run after every cycle and on a production process holding
thousands of FDs. Section ``census_speed`` times it on a child process that holds 1k, 10k and
as many FDs as its limit allows, next to the two alternatives a reader already has:
``psutil.Process(pid).num_fds()`` (a count, no types) and the playbook's shell pipeline (types,
as text). ``cli_speed`` times the command line the same way, start-up included;
``build_speed`` (:mod:`leaklab.bench_build`) times the site build cold and warm against executing
every notebook one after another; ``page_weight`` (:mod:`leaklab.bench_pages`) weighs the pages
of that build. Further sections can be appended to :data:`SECTIONS`.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from .bench_build import build_speed
from .bench_pages import page_weight
from .census import census
from .children import die_with_parent, stop_child

#: ``leaklab census PID --json`` must be at least this much faster than the shell pipeline.
CLI_TARGET = 0.9

#: ``ls | awk | sed | sort | uniq -c`` exactly as the playbook's histogram runs it.
PIPELINE = (
    "ls -l /proc/{pid}/fd | awk '{{print $NF}}' "
    "| sed -E 's/\\[[0-9]+\\]/[N]/g; s/[0-9]{{4,}}/NUM/g' | sort | uniq -c"
)

# The child raises its soft RLIMIT_NOFILE to the hard limit, opens the requested number of FDs
# as a mix of types (or until EMFILE for "max"), prints how many it holds and waits on stdin.
_HOLDER = r"""
import os, resource, select, sys
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
limit = hard - 1 if sys.argv[1] == "max" else int(sys.argv[1])  # 1 left for listdir
def count():
    return len(os.listdir("/proc/self/fd")) - 1  # minus listdir's own FD
held = []
makers = [os.pipe, lambda: os.open(os.devnull, os.O_RDONLY), lambda: os.eventfd(0), select.epoll]
i = 0
try:
    while (room := limit - count()) > 0:
        for _ in range(max(1, min(256, room // 2))):
            held.append(makers[i % 4]() if room > 1 else os.open(os.devnull, os.O_RDONLY))
            i += 1
except OSError:
    pass
print(count(), flush=True)
sys.stdin.read()
"""


def _best(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``repeat`` calls, in milliseconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def _time_one(size: str, repeat: int) -> tuple[int, float, float, float]:
    import psutil

    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, size],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        held = int(line)
        pid = child.pid
        proc = psutil.Process(pid)
        t_census = _best(lambda: census(pid), repeat)
        t_psutil = _best(proc.num_fds, repeat)
        cmd = ["sh", "-c", PIPELINE.format(pid=pid)]
        t_shell = _best(lambda: subprocess.run(cmd, capture_output=True, check=True), repeat)
        return held, t_census, t_psutil, t_shell
    finally:
        stop_child(child)


def census_speed() -> None:
    """Census vs. ``num_fds()`` vs. the shell pipeline on 1k, 10k and max FDs."""
    print("## census speed (median of 5, milliseconds)\n")
    header = ("FDs held", "census", "num_fds()", "shell", "census/num_fds", "shell/census")
    print("| " + " | ".join(header) + " |")
    print("|" + "---:|" * len(header))
    for size in ("1000", "10000", "max"):
        held, tc, tp, ts = _time_one(size, repeat=5)
        cells = (
            f"{held}",
            f"{tc:.1f}",
            f"{tp:.2f}",
            f"{ts:.1f}",
            f"{tc / tp:.1f}x",
            f"{ts / tc:.1f}x",
        )
        print("| " + " | ".join(cells) + " |")
    print()


def cli_speed(pairs: int = 21) -> None:
    """``leaklab census PID --json`` as a fresh process, start-up included, vs the pipeline.

    The command line has to be usable in an incident as a drop-in for the shell pipeline, so
    it is timed the way a person runs it: a new interpreter per call, on a process holding as
    many FDs as its limit allows. The two commands run in ``pairs`` back-to-back pairs, the
    order flipping every pair, so a burst of load on a shared machine hits both alike; the
    table gives the median time of each, the median of the per-pair ratios and how many pairs
    the command line won.

    The interpreter reads its modules' bytecode from a private cache filled by the first
    (untimed) call, as an installed package would: with ``PYTHONDONTWRITEBYTECODE`` set and no
    cache, every call would first recompile leaklab's sources.
    """
    import os
    import tempfile

    print(f"## leaklab census PID --json vs the shell pipeline (median of {pairs} pairs, ms)\n")
    script = os.path.join(os.path.dirname(sys.executable), "leaklab")
    cli = [script] if os.path.exists(script) else [sys.executable, "-m", "leaklab"]
    child = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, "max"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        preexec_fn=die_with_parent,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="leaklab-pycache-") as cache:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            env["PYTHONPYCACHEPREFIX"] = cache
            assert child.stdout is not None
            held = int(child.stdout.readline())
            pid = str(child.pid)
            run_cli = [*cli, "census", pid, "--json"]
            shell = ["sh", "-c", PIPELINE.format(pid=pid)]

            def time_cli() -> float:
                return _best(lambda: subprocess.run(run_cli, capture_output=True, env=env), 1)

            def time_shell() -> float:
                return _best(lambda: subprocess.run(shell, capture_output=True), 1)

            # Fails loudly, fills the bytecode cache and warms the kernel's dentry cache.
            subprocess.run(run_cli, capture_output=True, check=True, env=env)
            subprocess.run(shell, capture_output=True, check=True)
            t_cli_runs, t_shell_runs = [], []
            for i in range(pairs):
                if i % 2:
                    t_shell_runs.append(time_shell())
                    t_cli_runs.append(time_cli())
                else:
                    t_cli_runs.append(time_cli())
                    t_shell_runs.append(time_shell())
    finally:
        stop_child(child)
    t_cli, t_shell = statistics.median(t_cli_runs), statistics.median(t_shell_runs)
    ratio = statistics.median(c / s for c, s in zip(t_cli_runs, t_shell_runs, strict=True))
    won = sum(c < s for c, s in zip(t_cli_runs, t_shell_runs, strict=True))
    header = ("FDs held", "leaklab census --json", "shell pipeline", "leaklab/shell", "faster in")
    print("| " + " | ".join(header) + " |")
    print("|" + "---:|" * len(header))
    print(f"| {held} | {t_cli:.1f} | {t_shell:.1f} | {ratio:.2f}x | {won} of {pairs} pairs |")
    print(f"\nTarget: leaklab/shell at most {CLI_TARGET:.2f}x.\n")


#: Benchmark sections, run in order by :func:`main`.
SECTIONS: list[Callable[[], None]] = [census_speed, cli_speed, build_speed, page_weight]


def main() -> int:
    for section in SECTIONS:
        t0 = time.perf_counter()
        section()
        print(f"({section.__name__}: {time.perf_counter() - t0:.1f} s)\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
