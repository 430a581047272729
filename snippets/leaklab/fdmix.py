"""A child process that holds a known mix of FDs, for the CLI's tests and the page examples.

Every number the command line prints on the handbook's pages has to come from a real run, and
the tests have to know the exact answer. This child opens exactly what it is told to (epoll
objects, pidfds to live children and to children that already exited, pipes, sockets, a SQLite
database in WAL mode), reports the PIDs it started, and waits on stdin; closing its stdin ends
it, and it kills and reaps its own children on the way out. With ``leak_every`` it adds one
eventpoll per interval, the slow drip ``leaklab watch`` is for.

Its own stdin and stdout are pipes to the parent and its stderr is ``/dev/null``, so it holds
``2 * pipes + 2`` pipe ends and one ``dev`` FD besides the requested mix.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .children import die_with_parent, stop_child

__all__ = ["FdMix", "expected_counts", "spawn"]

_CHILD = r"""
import json, os, select, socket, sqlite3, subprocess, sys
spec = json.loads(sys.argv[1])
quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
held = [select.epoll() for _ in range(spec["eventpoll"])]
held += [os.pipe() for _ in range(spec["pipes"])]
import ctypes, signal
def die_with_parent():  # leaklab.children.die_with_parent, inlined: sleep 600 must not outlive us
    ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0)
live = [subprocess.Popen(["sleep", "600"], preexec_fn=die_with_parent, **quiet)
        for _ in range(spec["live"])]
held += [os.pidfd_open(p.pid) for p in live]
gone = []
for _ in range(spec["orphan"]):
    p = subprocess.Popen(["true"], **quiet)
    held.append(os.pidfd_open(p.pid))
    p.wait(timeout=10)  # reaped: the pidfd now reports Pid: -1
    gone.append(p.pid)
for _ in range(spec["tcp_listen"]):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    held.append(s)
for _ in range(spec["unix_pairs"]):
    held.append(socket.socketpair())
if spec["sqlite"]:
    db = sqlite3.connect(spec["sqlite"])
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE IF NOT EXISTS t (x)")
    db.execute("INSERT INTO t VALUES (1)")
    db.commit()
print(json.dumps({"pid": os.getpid(), "live": [p.pid for p in live], "gone": gone}), flush=True)
try:
    every = spec["leak_every"] or None
    while not select.select([sys.stdin], [], [], every)[0]:
        held.append(select.epoll())  # the drip: one eventpoll per interval
    sys.stdin.read()
finally:
    for p in live:
        p.kill()
        p.wait(timeout=10)
"""


@dataclass
class FdMix:
    """What to open; :func:`expected_counts` says what a census must then report."""

    eventpoll: int = 3
    pipes: int = 2
    live: int = 1
    orphan: int = 1
    tcp_listen: int = 1
    unix_pairs: int = 1
    sqlite: str | None = None
    leak_every: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def spec(self) -> str:
        keys = ("eventpoll", "pipes", "live", "orphan", "tcp_listen", "unix_pairs", "sqlite")
        return json.dumps({k: getattr(self, k) for k in keys} | {"leak_every": self.leak_every})


def expected_counts(mix: FdMix) -> dict[str, int]:
    """The census of a fresh child (before any drip), by category and socket sub-key."""
    sqlite = 1 if mix.sqlite else 0
    return {
        "eventpoll": mix.eventpoll,
        "pipe": 2 * mix.pipes + 2,
        "pidfd": mix.live + mix.orphan,
        "socket": mix.tcp_listen + 2 * mix.unix_pairs,
        "socket.tcp": mix.tcp_listen,
        "socket.tcp.listen": mix.tcp_listen,
        "socket.unix": 2 * mix.unix_pairs,
        "dev": 1,
        "sqlite_db": sqlite,
        "sqlite_wal": sqlite,
        "sqlite_shm": sqlite,
    }


@contextlib.contextmanager
def spawn(mix: FdMix, timeout: float = 20.0) -> Iterator[FdMix]:
    """Start the child, wait until it holds the mix, yield the mix with ``info`` filled in."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, mix.spec()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=die_with_parent,
    )

    def kill_sleepers() -> None:  # the child did not get to reap them
        for pid in mix.info.get("live", []):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        if not ready:
            raise TimeoutError(f"FD mix child did not start within {timeout} s")
        mix.info = json.loads(proc.stdout.readline())
        yield mix
    finally:
        # EOF on stdin: the child kills and reaps its sleepers, then exits.
        stop_child(proc, timeout, on_timeout=kill_sleepers)
