"""The playbook's scripts, run against a live process that holds a known mix of FDs.

The child process below opens 3 epoll objects, 2 pipes, a SQLite database in
WAL mode (.db, -wal, -shm), a pidfd to a running child and a pidfd to a child
that has exited and been reaped, then waits on stdin. The scripts must report
exactly that mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT
from leaklab.children import stop_child

PLAYBOOK = ROOT / "snippets" / "playbook"
TRACEFS_DIRS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
TIMEOUT = 20

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(os, "pidfd_open"),
    reason="needs Linux /proc and os.pidfd_open",
)

CHILD = textwrap.dedent(
    """
    import json, os, select, sqlite3, subprocess, sys

    epolls = [select.epoll() for _ in range(3)]
    pipes = [os.pipe() for _ in range(2)]

    db = sqlite3.connect(sys.argv[1])
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()

    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL,
             "stderr": subprocess.DEVNULL}
    live = subprocess.Popen(["sleep", "60"], **quiet)
    live_fd = os.pidfd_open(live.pid)
    gone = subprocess.Popen(["true"], **quiet)
    gone_fd = os.pidfd_open(gone.pid)
    gone.wait(timeout=10)  # reaped: its pidfd now reports Pid: -1

    print(json.dumps({"live": live.pid, "gone": gone.pid}), flush=True)
    try:
        sys.stdin.read()
    finally:
        live.kill()
        live.wait(timeout=10)
    """
)

# stdin and stdout of the child are pipes too (test <-> child), stderr is /dev/null.
EXPECTED = {
    "socket": 0,
    "pipe": 2 * 2 + 2,
    "eventpoll": 3,
    "pidfd": 2,
    "WAL files": 1,
    "SHM files": 1,
    ".db files": 1,
}


@pytest.fixture
def fd_mix(tmp_path: Path) -> Iterator[tuple[int, dict[str, int]]]:
    """A live child process holding the FD mix above; yields (pid, grandchild pids)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "mix.db")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    info: dict[str, int] = {}

    def kill_sleeper() -> None:
        if "live" in info:  # the child has not reaped it, so the PID is still its own
            with contextlib.suppress(ProcessLookupError):
                os.kill(info["live"], signal.SIGKILL)

    try:
        ready, _, _ = select.select([proc.stdout], [], [], TIMEOUT)
        assert ready, f"child did not report ready within {TIMEOUT} s"
        info = json.loads(proc.stdout.readline())
        yield proc.pid, info
    finally:
        # EOF on stdin: the child kills and reaps its sleeper, then exits.
        stop_child(proc, TIMEOUT, on_timeout=kill_sleeper)


def run(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(PLAYBOOK / script), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def sections(output: str) -> dict[str, list[str]]:
    """Split the snapshot output into its '=== title ===' sections."""
    result: dict[str, list[str]] = {}
    current = None
    for line in output.splitlines():
        header = re.fullmatch(r"=== (.+) ===", line)
        if header:
            current = header.group(1)
            result[current] = []
        elif current is not None:
            result[current].append(line)
    return result


def test_host_snapshot_counts_the_known_mix(fd_mix):
    pid, _ = fd_mix
    result = run("host-snapshot.sh", str(pid))
    assert result.returncode == 0, result.stderr

    parts = sections(result.stdout)
    assert list(parts) == [
        "Total FDs",
        "FD-type histogram (digits collapsed)",
        "Counts by category",
    ]
    counts = {}
    for line in parts["Counts by category"]:
        name, _, value = line.partition(":")
        counts[name.strip()] = int(value)
    assert counts == EXPECTED

    total = int(parts["Total FDs"][0])
    assert total == len(os.listdir(f"/proc/{pid}/fd"))
    histogram = "\n".join(parts["FD-type histogram (digits collapsed)"])
    assert re.search(r"^\s*3 anon_inode:\[eventpoll\]$", histogram, re.MULTILINE)
    assert re.search(r"^\s*6 pipe:\[N\]$", histogram, re.MULTILINE)
    assert not re.search(r"pipe:\[[0-9]", histogram), "inode numbers must be collapsed"


def test_pidfd_targets_reports_one_alive_and_one_orphan(fd_mix):
    pid, info = fd_mix
    result = run("pidfd-targets.sh", str(pid))
    assert result.returncode == 0, result.stderr

    lines = result.stdout.splitlines()
    alive = [line for line in lines if " alive " in line]
    orphans = [line for line in lines if "ORPHAN" in line]
    assert len(alive) == 1, result.stdout
    assert len(orphans) == 1, result.stdout
    assert f"pid={info['live']} : sleep 60" in alive[0]
    assert lines[-1] == "pidfds: 2 (alive 1, orphan 1, other namespace 0)"


@pytest.mark.parametrize("script", ["host-snapshot.sh", "pidfd-targets.sh"])
@pytest.mark.parametrize("bad_pid", ["abc", "12x", "-5", "0", "1 2", "$(id)"])
def test_non_numeric_pid_is_a_one_line_error(script, bad_pid):
    result = run(script, bad_pid)
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert "PID must be a positive integer" in result.stderr


def test_container_snapshot_prints_the_exec_command():
    result = run("container-snapshot.sh", "ldr")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("docker exec -i --user 0 ldr bash -s -- 1 < ")
    assert result.stdout.rstrip().endswith("host-snapshot.sh")

    pidfds = run("container-snapshot.sh", "--pidfds", "ldr")
    assert pidfds.stdout.rstrip().endswith("pidfd-targets.sh")


def test_container_snapshot_rejects_a_bad_name():
    result = run("container-snapshot.sh", "ldr; rm -rf /")
    assert result.returncode != 0
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("script", sorted(p.name for p in PLAYBOOK.glob("*.sh")))
def test_shell_scripts_parse(script):
    result = subprocess.run(
        ["bash", "-n", str(PLAYBOOK / script)],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_pytest_config_fragment_is_valid_toml():
    config = tomllib.loads((PLAYBOOK / "pytest-resourcewarning.toml").read_text())
    options = config["tool"]["pytest"]["ini_options"]
    assert options["filterwarnings"] == ["default::ResourceWarning"]
    assert options["env"] == ["PYTHONASYNCIODEBUG=1"]


@pytest.mark.parametrize("program", ["bpftrace-pidfd.bt", "bpftrace-epoll.bt"])
def test_bpftrace_programs_compile(program):
    bpftrace = shutil.which("bpftrace")
    if bpftrace is None:
        pytest.skip("bpftrace not installed (apt-get install bpftrace)")
    if not any(Path(d, "events", "syscalls").is_dir() for d in TRACEFS_DIRS):
        pytest.skip("no syscall tracepoints visible: tracefs is not mounted in this kernel/sandbox")
    path = str(PLAYBOOK / program)
    # Newer bpftrace spells the check --dry-run; older releases use -d.
    for flag in ("--dry-run", "-d"):
        result = subprocess.run(
            [bpftrace, flag, path, "1"], capture_output=True, text=True, timeout=60, check=False
        )
        if "unrecognized option" not in result.stderr and "invalid option" not in result.stderr:
            break
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("program", "syscall"),
    [("bpftrace-pidfd.bt", "pidfd_open"), ("bpftrace-epoll.bt", "epoll_create")],
)
def test_bpftrace_programs_are_well_formed(program, syscall):
    """Checked everywhere, bpftrace or not: the probe, the PID filter and balanced blocks."""
    text = (PLAYBOOK / program).read_text(encoding="utf-8")
    code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    assert f"tracepoint:syscalls:sys_enter_{syscall}" in code
    assert re.search(r"/\s*pid\s*==\s*\$1\s*/", code), "the PID filter takes the PID as $1"
    assert "ustack(" in code and "count()" in code
    assert code.count("{") == code.count("}") > 0
    assert "exit();" in code, "the program stops by itself"
