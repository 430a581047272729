"""``leaklab`` under hostile or unlucky input: devices, FIFOs, dying processes, crafted files.

Each test reproduces one case an on-call engineer or a hostile input met, with the real thing:
real FIFOs, real zombies (a child nobody reaps), real ``ls -l`` output of real file names, real
signals. The promise checked every time: one line on stderr and exit 2, never a traceback, a
hang or a partial result reported as success.
"""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cli_helpers import DATA, assert_one_line_error, leaklab
from leaklab.census import ProcessNotFound, census

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")

LEAKLAB = [sys.executable, "-m", "leaklab"]
PASTE = DATA / "ls-paste.txt"


def child(code: str, *args: str) -> subprocess.Popen:
    """A Python child that prints one line when it is ready."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stdin=subprocess.PIPE
    )
    assert proc.stdout.readline(), "child did not start"
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.kill()
    proc.wait(timeout=10)
    for pipe in (proc.stdin, proc.stdout):
        if pipe:
            pipe.close()


# --- bounded reading ----------------------------------------------------------------------


def test_a_device_is_refused_at_once():
    started = time.monotonic()
    proc = leaklab("census", "--from", "/dev/zero")
    assert_one_line_error(proc)
    assert "is a device" in proc.stderr
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("command", ["census", "diff"])
def test_a_fifo_without_writer_is_refused_within_seconds(tmp_path, command):
    fifo = tmp_path / "snap.fifo"
    os.mkfifo(fifo)
    args = ("census", "--from", str(fifo)) if command == "census" else ("diff", str(fifo), "-")
    started = time.monotonic()
    proc = leaklab(*args, stdin=PASTE.read_bytes())
    assert_one_line_error(proc)
    assert "FIFO with no writer" in proc.stderr
    assert time.monotonic() - started < 15


def test_a_fifo_with_a_writer_is_read(tmp_path):
    fifo = tmp_path / "snap.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        time.sleep(0.5)
        fifo.write_bytes(PASTE.read_bytes())

    writer = threading.Thread(target=write)
    writer.start()
    proc = leaklab("census", "--from", str(fifo), "--json")
    writer.join(10)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total"] == 14


def test_a_snapshot_larger_than_the_cap_is_refused(tmp_path):
    big = tmp_path / "big.txt"
    line = b"lrwx------ 1 u u 64 May 16 21:04 3 -> anon_inode:[eventpoll]\n"
    big.write_bytes(line * (33 * 1024 * 1024 // len(line)))
    for args, stdin in (((str(big),), None), (("-",), big.read_bytes())):
        proc = leaklab("census", "--from", *args, stdin=stdin)
        assert_one_line_error(proc)
        assert "more than 32 MiB" in proc.stderr


def test_ctrl_c_ends_a_read_that_never_finishes():
    # A pipe whose writer never closes it: only Ctrl-C ends the command.
    proc = subprocess.Popen(
        [*LEAKLAB, "census", "--from", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        proc.stdin.write(b"lrwx------ 1 u u 64 May 16 21:04 3 -> anon_inode:[eventpoll]\n")
        proc.stdin.flush()
        time.sleep(1.5)  # interpreter start-up and the first read
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert b"Traceback" not in err


def test_empty_name_closed_stdin_and_closed_stdout():
    proc = leaklab("census", "--from", "")
    assert_one_line_error(proc)
    assert "empty file name" in proc.stderr
    closed_in = subprocess.run(
        [*LEAKLAB, "census", "--from", "-"], stdin=subprocess.DEVNULL, capture_output=True
    )
    assert closed_in.returncode == 2  # /dev/null is a device, not a snapshot
    # Really closed FDs need a shell: `<&-` and `>&-`.
    closed = subprocess.run(
        ["sh", "-c", f"'{sys.executable}' -m leaklab census --from - <&-"],
        capture_output=True,
        text=True,
    )
    assert closed.returncode == 2 and "stdin is closed" in closed.stderr, closed.stderr
    closed = subprocess.run(
        ["sh", "-c", f"'{sys.executable}' -m leaklab census {os.getpid()} >&-"],
        capture_output=True,
        text=True,
    )
    assert closed.returncode == 2 and "stdout is closed" in closed.stderr, closed.stderr
    assert "internal error" not in closed.stderr


@pytest.mark.parametrize("every", ["nan", "inf", "-inf", "1e999"])
def test_every_must_be_a_finite_positive_number(every):
    assert_one_line_error(leaklab("watch", str(os.getpid()), "--every", every))


# --- processes that die, zombies, kernel threads ------------------------------------------

DRIP_THEN_EXIT = """
import select, sys, time
held = []
print("ready", flush=True)
for _ in range(int(sys.argv[1])):
    held.append(select.epoll())
    time.sleep(0.15)
"""


def test_watch_of_a_process_that_exits_reports_every_sample():
    proc = child(DRIP_THEN_EXIT, "20")  # about 3 s of growth, then exit
    try:
        run = leaklab("watch", str(proc.pid), "--every", "0.4", "--samples", "30")
    finally:
        stop(proc)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    sampled = [ln for ln in out.splitlines() if ln.split()[:1] and ln.split()[0].isdigit()]
    assert len(sampled) >= 4, out
    assert f"PID {proc.pid} went away between" in out
    assert "Verdict: LEAK SUSPECTED (eventpoll grows steadily)" in out


def test_watch_keeps_counts_not_entries():
    import io

    from leaklab import watch

    w = watch.sample(os.getpid(), 0.05, 3, stream=io.StringIO())
    assert len(w.censuses) == 3
    assert all(c.entries == () and c.total > 0 for c in w.censuses)


def test_a_zombie_is_named_as_such(tmp_path):
    zombie = subprocess.Popen(["true"])  # not waited for: it stays a zombie
    try:
        deadline = time.monotonic() + 10
        while Path(f"/proc/{zombie.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        for command in ("census", "triage", "pidfds"):
            proc = leaklab(command, str(zombie.pid))
            assert_one_line_error(proc)
            assert "zombie" in proc.stderr
    finally:
        zombie.wait(timeout=10)


def _kernel_thread() -> int | None:
    for pid in (2, 3, 4):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[6]) & 0x00200000:
            return pid
    return None


@pytest.mark.skipif(_kernel_thread() is None, reason="no kernel thread visible in this /proc")
def test_a_kernel_thread_is_named_as_such():
    proc = leaklab("census", str(_kernel_thread()))
    assert_one_line_error(proc)
    assert "kernel thread" in proc.stderr


MANY_FDS = """
import os
fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(4000)]
print("ready", flush=True)
import time
time.sleep(600)
"""


def test_a_process_killed_during_a_census_never_gives_a_partial_total():
    rng = random.Random(16)
    outcomes = {"full": 0, "exited": 0}
    for _ in range(12):
        proc = child(MANY_FDS)
        full = census(proc.pid).total
        result: list[int | str] = []
        reader = threading.Thread(target=_census_into, args=(proc.pid, result))
        reader.start()
        time.sleep(rng.uniform(0, 0.004))
        proc.kill()
        reader.join(30)
        stop(proc)
        got = result[0]
        if isinstance(got, int):
            assert got == full, f"partial census: {got} of {full}"
            outcomes["full"] += 1
        else:
            assert "exited while being read" in got or "no such process" in got or "zombie" in got
            outcomes["exited"] += 1
    # And through the command line, on a process that is already gone.
    gone = child(MANY_FDS)
    stop(gone)
    assert_one_line_error(leaklab("census", str(gone.pid)))


def _census_into(pid: int, result: list[int | str]) -> None:
    try:
        result.append(census(pid).total)
    except ProcessNotFound as exc:
        result.append(str(exc))


# --- --plot -------------------------------------------------------------------------------


def test_plot_is_checked_before_the_first_sample(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / "l.png").symlink_to(victim)
    (tmp_path / "exists.png").write_bytes(b"mine")
    pid = str(os.getpid())
    cases = {
        str(tmp_path / "l.png"): "symlink",
        str(tmp_path / "exists.png"): "--force",
        "/dev/full": ".png",
        str(tmp_path / "plot.txt"): ".png",
        str(tmp_path / "missing" / "p.png"): "does not exist",
    }
    for path, reason in cases.items():
        started = time.monotonic()
        # --every 600: a check made after sampling would take ten minutes.
        proc = leaklab("watch", pid, "--every", "600", "--samples", "2", "--plot", path)
        assert_one_line_error(proc)
        assert reason in proc.stderr
        assert time.monotonic() - started < 30
    assert victim.read_text() == "keep me"
    assert (tmp_path / "exists.png").read_bytes() == b"mine"
    assert not Path("/dev/full.png").exists()


def test_plot_prints_the_path_and_replaces_only_with_force(tmp_path):
    target = tmp_path / "growth.svg"
    target.write_text("old")
    pid = str(os.getpid())
    proc = leaklab(
        "watch", pid, "--every", "0.1", "--samples", "2", "--plot", str(target), "--force"
    )
    assert proc.returncode == 0, proc.stderr
    assert f"plot written to {target}" in proc.stdout
    assert target.read_text().lstrip().startswith("<?xml")
    assert [p.name for p in tmp_path.iterdir()] == ["growth.svg"]  # no temporary file left


def _small_file_limit() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (2048, 2048))


@pytest.mark.parametrize(("drip", "status"), [(True, 1), (False, 2)])
def test_a_plot_that_cannot_be_written_does_not_hide_the_verdict(tmp_path, drip, status):
    png = tmp_path / "growth.png"
    proc = child(DRIP_THEN_EXIT, "200") if drip else None
    pid = str(proc.pid if proc else os.getpid())
    try:
        # A 2 KiB file-size limit: the PNG write fails with EFBIG after the checks passed.
        run = subprocess.run(
            [*LEAKLAB, "watch", pid, "--every", "0.4", "--samples", "6", "--plot", str(png)],
            capture_output=True,
            text=True,
            timeout=60,
            preexec_fn=_small_file_limit,
        )
    finally:
        if proc:
            stop(proc)
    assert run.returncode == status, run.stdout + run.stderr
    assert "Verdict:" in run.stdout
    assert "could not write the plot" in run.stderr.splitlines()[-1]
    assert not png.exists() and list(tmp_path.iterdir()) == []


# --- control characters -------------------------------------------------------------------

ESCAPES = "\x1b]0;pwned\x07\x1b[2J"


def test_command_lines_are_printed_escaped():
    # A short argv[0]: the table shows the first 80 characters of a command line, and the
    # interpreter's own path (a checkout's .venv) can be long enough to push ESCAPES past them.
    target = subprocess.Popen(
        ["py", "-c", "import time; time.sleep(60)", ESCAPES], executable=sys.executable
    )
    pidfd = os.pidfd_open(target.pid)
    try:
        proc = leaklab("pidfds", str(os.getpid()))
    finally:
        os.close(pidfd)
        target.kill()
        target.wait(timeout=10)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\x07" not in proc.stdout
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in proc.stdout


def test_names_and_fields_from_outside_are_printed_escaped(tmp_path):
    name = tmp_path / f"snap{ESCAPES}.txt"
    proc = leaklab("census", "--from", str(name))  # does not exist: the name is in the error
    assert_one_line_error(proc)
    assert "\x1b" not in proc.stderr and "\\x1b" in proc.stderr
    name.write_bytes(PASTE.read_bytes())
    proc = leaklab("diff", str(name), str(PASTE))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\\x1b]0;pwned" in proc.stdout
    crafted = json.dumps({"pid": 1, "total": 3, "counts": {"pipe": 3}, "source": ESCAPES})
    proc = leaklab("census", "--from", "-", stdin=crafted)
    assert_one_line_error(proc)
    assert "\x1b" not in proc.stderr


# --- the JSON schema ----------------------------------------------------------------------

GOOD = {"pid": 7, "total": 30, "counts": {"eventpoll": 20, "pipe": 2}}

BAD_JSON = {
    "negative total": ('{"pid": 7, "total": -7, "counts": {"eventpoll": 20}}', "total"),
    "total below sum": ('{"pid": 7, "total": 5, "counts": {"eventpoll": 20}}', "total"),
    "float count": ('{"pid": 7, "total": 30, "counts": {"eventpoll": 2.5}}', "counts.eventpoll"),
    "bool count": ('{"pid": 7, "total": 30, "counts": {"eventpoll": true}}', "counts.eventpoll"),
    "string count": ('{"pid": 7, "total": 30, "counts": {"pipe": "3"}}', "counts.pipe"),
    "huge int": ('{"pid": 7, "total": 1' + "0" * 30 + ', "counts": {}}', "total"),
    "4300 digits": ('{"pid": 7, "total": ' + "9" * 4300 + ', "counts": {}}', "total"),
    "Infinity": ('{"pid": 7, "total": Infinity, "counts": {}}', "total"),
    "NaN": ('{"pid": 7, "total": 30, "counts": {"pipe": NaN}}', "counts.pipe"),
    "deep": ('{"a":' * 100_000 + "1" + "}" * 100_000, "nested"),
    "unknown key": ('{"pid": 7, "total": 3, "counts": {}, "evil": 1}', "evil"),
    "unknown category": ('{"pid": 7, "total": 3, "counts": {"bogus": 1}}', "counts.bogus"),
    "pid too large": ('{"pid": 99999999999, "total": 3, "counts": {}}', "pid"),
    "entries not list": ('{"pid": 7, "total": 3, "counts": {}, "entries": 5}', "entries"),
    "bad entry": ('{"pid": 7, "total": 3, "counts": {}, "entries": [[1]]}', "entries[0]"),
    "counts not object": ('{"pid": 7, "total": 3, "counts": []}', "counts"),
    "missing total": ('{"pid": 7, "counts": {}}', "total"),
    "sockets above socket": (
        '{"pid": 7, "total": 9, "counts": {"socket": 1, "socket.tcp": 5}}',
        "counts.socket",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_JSON))
def test_every_schema_violation_names_its_field(name):
    text, field = BAD_JSON[name]
    for command in ("census", "triage"):
        proc = leaklab(command, "--from", "-", stdin=text)
        assert_one_line_error(proc)
        assert field in proc.stderr, proc.stderr
        assert "internal error" not in proc.stderr


def test_a_saved_json_census_is_not_labelled_live(tmp_path):
    saved = tmp_path / "census.json"
    saved.write_text(json.dumps(GOOD | {"source": "proc"}))
    proc = leaklab("triage", "--from", str(saved))
    assert proc.returncode == 1
    assert "live /proc" not in proc.stdout
    assert "saved leaklab JSON" in proc.stdout.splitlines()[0]


# --- text snapshots -----------------------------------------------------------------------

HOLD_FILES = """
import os, sys
fds = [os.open(os.fsencode(p), os.O_RDONLY) for p in sys.argv[1:]]
print("ready", flush=True)
sys.stdin.read()
"""


def _ls_of(pid: int) -> bytes:
    return subprocess.run(
        ["ls", "-l", f"/proc/{pid}/fd"], capture_output=True, check=True, env={"LC_ALL": "C"}
    ).stdout


def _snapshot_then_census(proc: subprocess.Popen, tmp_path: Path):
    """Save the child's real `ls -l` listing, census it live, read the listing back; stop it."""
    try:
        snap = tmp_path / "snap.txt"
        snap.write_bytes(_ls_of(proc.pid))
        live = census(proc.pid)
        run = leaklab("census", "--from", str(snap), "--json")
    finally:
        stop(proc)
    return snap, live, run


def test_a_real_listing_with_a_non_utf8_name(tmp_path):
    odd = os.path.join(os.fsencode(tmp_path), b"caf\xe9.log")
    Path(os.fsdecode(odd)).write_text("x")
    proc = child(HOLD_FILES, os.fsdecode(odd))
    snap, live, run = _snapshot_then_census(proc, tmp_path)
    assert b"caf\xe9.log" in snap.read_bytes()
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["total"] == live.total
    assert data["counts"]["file"] == live["file"]
    targets = [e[1] for e in data["entries"]]
    assert any(t.endswith("caf\udce9.log") for t in targets)


def test_a_newline_in_a_file_name_cannot_fake_an_fd_line(tmp_path):
    fake = "\nlrwx------ 1 nobody nogroup 64 Jan  1 00:00 999 -> anon_inode:[eventpoll]"
    name = tmp_path / f"innocent{fake}"
    name.write_text("x")
    proc = child(HOLD_FILES, str(name))
    snap, live, run = _snapshot_then_census(proc, tmp_path)
    assert b" 999 -> anon_inode:[eventpoll]" in snap.read_bytes()  # ls printed it raw
    data = json.loads(run.stdout)
    assert data["counts"]["eventpoll"] == live["eventpoll"] == 0
    assert data["total"] == live.total
    assert 999 not in [e[0] for e in data["entries"]]


def test_diff_of_text_and_live_compares_only_what_both_see(tmp_path):
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        me = os.getpid()
        snap = tmp_path / "snap.txt"
        snap.write_bytes(_ls_of(me))
        proc = leaklab("diff", str(snap), str(me), "--json")
        text = leaklab("diff", str(snap), str(me))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert not any(k.startswith("socket.") for k in data["change"])
    assert "socket.tcp" in data["not_compared"]
    assert "socket.tcp" not in "".join(
        ln for ln in text.stdout.splitlines() if not ln.startswith("not compared")
    )
    assert "not compared (one side cannot see them): " in text.stdout


def test_diff_warns_on_two_different_processes():
    other = child(HOLD_FILES)
    try:
        proc = leaklab("diff", str(os.getpid()), str(other.pid))
    finally:
        stop(other)
    assert proc.returncode == 0
    assert f"A is PID {os.getpid()} and B is PID {other.pid}" in proc.stderr


def test_an_argument_that_is_both_a_file_and_a_pid_is_refused(tmp_path):
    pid = str(os.getpid())
    (tmp_path / pid).write_bytes(PASTE.read_bytes())
    proc = leaklab("diff", pid, str(PASTE), cwd=tmp_path)
    assert_one_line_error(proc)
    assert "both a file" in proc.stderr and f"./{pid}" in proc.stderr
    assert leaklab("diff", f"./{pid}", str(PASTE), cwd=tmp_path).returncode == 0


@pytest.mark.skipif(os.geteuid() != 0, reason="the advice differs for root only")
def test_root_is_not_told_to_run_as_root():
    from leaklab.census import _denied_reason

    reason = _denied_reason(1, "/proc/1/fd", listed=3)
    assert "run as root" not in reason and "even root" in reason
