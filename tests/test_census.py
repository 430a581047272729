"""The census on real FDs: an exact known mix, self-exclusion, deltas, JSON, errors, TCP states."""

from __future__ import annotations

import importlib
import json
import os
import pickle
import select
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from leaklab import Census, ProcessAccessDenied, ProcessNotFound, census
from leaklab.census import CATEGORIES, SOCKET_KINDS, _census_psutil, categorize
from leaklab.children import stop_child

SNIPPETS = str(Path(__file__).resolve().parent.parent / "snippets")

# A child that holds an exact mix of FDs, prints "ready" and waits for stdin to close.
# Its own standard streams add 2 pipes (stdin, stdout) and 1 dev (stderr = /dev/null).
MIX = textwrap.dedent(
    """
    import os, select, socket, sqlite3, subprocess, sys
    eps = [select.epoll() for _ in range(3)]
    kids = [subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL) for _ in range(2)]
    pidfds = [os.pidfd_open(k.pid) for k in kids]
    pipes = [os.pipe(), os.pipe()]
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    left, right = socket.socketpair()
    right.close()
    db = sqlite3.connect(os.path.join(sys.argv[1], "mix.db"))
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
    print("ready", flush=True)
    sys.stdin.read()
    for k in kids:
        k.kill()
        k.wait(timeout=10)
    """
)

EXPECTED_MIX = {
    "eventpoll": 3,
    "pidfd": 2,
    "pipe": 4 + 2,
    "socket": 2,
    "socket.tcp": 1,
    "socket.tcp.listen": 1,
    "socket.unix": 1,
    "socket.udp": 0,
    "socket.other": 0,
    "sqlite_db": 1,
    "sqlite_wal": 1,
    "sqlite_shm": 1,
    "dev": 1,
    "file": 0,
    "eventfd": 0,
    "anon_inode": 0,
}


@pytest.fixture
def mix_child(tmp_path: Path) -> Iterator[subprocess.Popen[str]]:
    child = subprocess.Popen(
        [sys.executable, "-c", MIX, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        yield child
    finally:
        stop_child(child, 20, kill_timeout=10)


def test_census_counts_an_exact_known_mix(mix_child: subprocess.Popen[str]) -> None:
    c = census(mix_child.pid)
    got = {key: c[key] for key in EXPECTED_MIX}
    assert got == EXPECTED_MIX, c.entries
    assert c.total == sum(c[k] for k in CATEGORIES) == 17
    assert set(CATEGORIES + SOCKET_KINDS) <= set(c.counts)
    assert c.unseen == frozenset()
    wal = next(e for e in c.entries if e.category == "sqlite_wal")
    assert wal.target.endswith("mix.db-wal")
    # the children are alive, so each pidfd names a real PID
    assert all(e.detail and e.detail != "pid=-1" for e in c.entries if e.category == "pidfd")


def test_psutil_fallback_is_honest_about_what_it_cannot_see(
    mix_child: subprocess.Popen[str],
) -> None:
    c = _census_psutil(mix_child.pid)
    assert c.source == "psutil"
    assert c.total == 17
    assert (c["socket"], c["socket.tcp.listen"], c["socket.unix"]) == (2, 1, 1)
    assert (c["sqlite_db"], c["sqlite_wal"], c["sqlite_shm"]) == (1, 1, 1)
    assert {"eventpoll", "pidfd", "pipe"} <= c.unseen
    assert c["unclassified"] == c.total - len(c.entries) > 0


def test_self_census_leaves_out_its_own_listing_fd() -> None:
    c = census()
    me = os.getpid()
    assert all(e.target not in (f"/proc/{me}/fd", "/proc/self/fd") for e in c.entries)
    # os.listdir sees exactly one more: the directory FD it opened for itself
    assert c.total == len(os.listdir("/proc/self/fd")) - 1
    assert c.total == len(c.entries)


def test_after_minus_before_is_the_per_category_delta() -> None:
    before = census()
    r, w = os.pipe()
    ep = select.epoll()
    opened = sorted([r, w, ep.fileno()])
    try:
        after = census()
    finally:
        os.close(r)
        os.close(w)
        ep.close()
    delta = after - before
    assert dict(delta) == {"pipe": 2, "eventpoll": 1}
    assert delta.total == 3
    assert delta["pidfd"] == 0 and "pidfd" not in delta
    assert sorted(e.fd for e in delta.opened) == opened
    assert delta.closed == ()
    assert dict(census() - before) == {}


def test_json_and_pickle_round_trip() -> None:
    a, b = socket.socketpair()
    with a, b:
        c = census()
    again = Census.from_dict(json.loads(c.to_json()))
    assert again == c
    assert Census.from_json(c.to_json(indent=2)) == c
    assert pickle.loads(pickle.dumps(c)) == c
    assert again["socket.unix"] >= 2 and again["no-such-key"] == 0
    with pytest.raises(TypeError):
        c.counts["pipe"] = 99  # type: ignore[index]


def test_missing_pid_raises_process_not_found() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    with pytest.raises(ProcessNotFound, match=rf"PID {child.pid}: no such process") as info:
        census(child.pid)
    assert info.value.pid == child.pid


def test_unreadable_pid_raises_access_denied_naming_pid_and_fix() -> None:
    """Real privilege drop: a child turns into nobody, then censuses a root-owned process."""
    if os.geteuid() != 0:
        pytest.skip("needs root to drop privileges")
    target = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL)
    probe = textwrap.dedent(
        """
        import os, sys
        from leaklab import census, ProcessAccessDenied
        os.setgroups([]); os.setgid(65534); os.setuid(65534)
        try:
            census(int(sys.argv[1]))
        except ProcessAccessDenied as exc:
            print("denied", exc.pid, exc)
        """
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", probe, str(target.pid)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PYTHONPATH": SNIPPETS},
        )
    finally:
        target.kill()
        target.wait(timeout=10)
    assert out.stdout.startswith(f"denied {target.pid} PID {target.pid}: permission denied"), (
        out.stdout + out.stderr
    )
    assert "uid 65534" in out.stdout and "docker exec --user 0" in out.stdout
    assert issubclass(ProcessAccessDenied, Exception)


def test_tcp_states_established_and_close_wait() -> None:
    before = census()
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname(), timeout=10)
    server_side, _ = listener.accept()
    try:
        connected = census() - before
        assert connected["socket.tcp.listen"] == 1
        assert connected["socket.tcp.established"] == 2
        server_side.close()  # peer closed: the client's socket waits for our close()
        half_closed = census() - before
        assert half_closed["socket.tcp.close_wait"] == 1
        assert half_closed["socket.tcp.established"] == 0
        states = {e.detail for e in census().entries if e.fd == client.fileno()}
        assert states == {"tcp close_wait"}
    finally:
        client.close()
        listener.close()
        server_side.close()


@pytest.mark.parametrize(
    ("target", "category"),
    [
        ("socket:[123]", "socket"),
        ("pipe:[456]", "pipe"),
        ("anon_inode:[eventpoll]", "eventpoll"),
        ("anon_inode:[pidfd]", "pidfd"),
        ("pidfd:[789]", "pidfd"),
        ("anon_inode:[eventfd]", "eventfd"),
        ("anon_inode:[timerfd]", "timerfd"),
        ("anon_inode:[signalfd]", "signalfd"),
        ("anon_inode:inotify", "inotify"),
        ("anon_inode:[io_uring]", "anon_inode"),
        ("net:[4026531840]", "anon_inode"),
        ("/data/ldr.db", "sqlite_db"),
        ("/data/ldr.db (deleted)", "sqlite_db"),
        ("/data/cache.sqlite3", "sqlite_db"),
        ("/data/ldr.db-wal", "sqlite_wal"),
        ("/data/ldr.db-shm", "sqlite_shm"),
        ("/dev/shm/ldr.db-wal", "sqlite_wal"),
        ("/dev/null", "dev"),
        ("/dev/pts/0", "dev"),
        ("/dev/shm/segment", "file"),
        ("/memfd:buffer (deleted)", "file"),
        ("/var/log/app.log", "file"),
    ],
)
def test_categorize(target: str, category: str) -> None:
    assert categorize(target) == category


def test_a_large_table_read_by_two_threads_gives_the_same_census(
    mix_child: subprocess.Popen[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    census_module = importlib.import_module("leaklab.census")

    one_thread = census(mix_child.pid)
    started = []
    real_split = census_module._read_split
    monkeypatch.setattr(census_module, "PARALLEL_FROM", 1)
    monkeypatch.setattr(census_module, "usable_cpus", lambda: 2)
    monkeypatch.setattr(
        census_module, "_read_split", lambda *a: started.append(1) or real_split(*a)
    )
    two_threads = census(mix_child.pid)
    own = census()  # this process: the listing's own FD is skipped on the split path too
    assert len(started) == 2
    assert two_threads.entries == one_thread.entries
    assert two_threads.counts == one_thread.counts
    assert own.total == len(os.listdir("/proc/self/fd")) - 1
