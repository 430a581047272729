"""The verdict: a 1-FD-per-cycle leak of every type is caught, a clean cycle is always flat."""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import random
import select
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator

import pytest
from leaklab import Verdict, assert_flat, assert_leaks, measure, measure_gc_modes
from leaklab.measure import judge

_libc = ctypes.CDLL(None, use_errno=True)
_USERFAULTFD = {"x86_64": 323, "aarch64": 282}.get(platform.machine())


def _checked(fd: int) -> int:
    if fd < 0:
        err = ctypes.get_errno()
        pytest.skip(f"syscall refused here: {os.strerror(err)}")
    return fd


def _signalfd() -> int:
    mask = ctypes.create_string_buffer(128)  # sigset_t
    bit = signal.SIGUSR1 - 1
    mask[bit // 8] = bytes([1 << (bit % 8)])
    return _checked(_libc.signalfd(-1, mask, 0))


def _anon_inode() -> int:
    if _USERFAULTFD is None:
        pytest.skip("userfaultfd syscall number unknown on this machine")
    return _checked(_libc.syscall(_USERFAULTFD, 0))


def _timerfd() -> int:
    if not hasattr(os, "timerfd_create"):
        pytest.skip("os.timerfd_create needs CPython 3.13")
    return os.timerfd_create(time.CLOCK_MONOTONIC)


def _pipe_read_end() -> int:
    r, w = os.pipe()
    os.close(w)
    return r


@pytest.fixture(scope="module")
def sleeper() -> Iterator[int]:
    child = subprocess.Popen(["sleep", "120"], stdin=subprocess.DEVNULL)
    yield child.pid
    child.kill()
    child.wait(timeout=10)


@pytest.fixture
def workdir() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as path:
        yield path


def _makers(pid: int, workdir: str) -> dict[str, Callable[[], list[object]]]:
    """Per key, a function that opens exactly one new FD of that key (and returns its holders)."""
    counter = iter(range(10_000))

    def sqlite_conn() -> list[object]:
        conn = sqlite3.connect(os.path.join(workdir, f"db{next(counter)}.db"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        return [conn]

    def bound_tcp() -> list[object]:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        return [s]

    return {
        "pipe": lambda: [_pipe_read_end()],
        "eventpoll": lambda: [select.epoll()],
        "pidfd": lambda: [os.pidfd_open(pid)],
        "eventfd": lambda: [os.eventfd(0)],
        "timerfd": lambda: [_timerfd()],
        "signalfd": lambda: [_signalfd()],
        "inotify": lambda: [_checked(_libc.inotify_init())],
        "anon_inode": lambda: [_anon_inode()],
        "socket": lambda: [socket.socket()],
        "socket.tcp.listen": bound_tcp,
        "socket.unix": lambda: [socket.socket(socket.AF_UNIX)],
        "file": lambda: [open(os.path.join(workdir, f"f{next(counter)}"), "w")],
        "dev": lambda: [os.open(os.devnull, os.O_RDONLY)],
        # a new WAL database per cycle: one more db, -wal and -shm each
        "sqlite_db": sqlite_conn,
        "sqlite_wal": sqlite_conn,
        "sqlite_shm": sqlite_conn,
    }


def _release(held: list[object]) -> None:
    for h in held:
        if isinstance(h, int):
            os.close(h)
        else:
            h.close()  # type: ignore[attr-defined]


KEYS = list(_makers(0, "").keys())


@pytest.mark.parametrize("key", KEYS)
def test_one_fd_per_cycle_is_a_leak_within_ten_cycles(key: str, sleeper: int, workdir: str) -> None:
    make = _makers(sleeper, workdir)[key]
    held: list[object] = []
    try:
        # the FDs are held on purpose, there is no garbage to collect between cycles
        m = measure(lambda: held.extend(make()), cycles=10, warmup=0, between=None)
        assert m.verdict(key) is Verdict.LEAK, m.describe(key)
        assert_leaks(m, key, per_cycle=1)
        assert m.per_cycle(key) == 1.0
        # already after 5 cycles
        m5 = measure(lambda: held.extend(make()), cycles=5, warmup=0, between=None)
        assert m5.verdict(key) == "leak"
    finally:
        _release(held)


def _clean_cycle(pid: int, workdir: str) -> Callable[[], None]:
    """Opens one FD of (nearly) every type and closes all of them again."""
    makers = _makers(pid, workdir)
    keys = ["pipe", "eventpoll", "pidfd", "eventfd", "inotify", "socket", "file", "dev"]

    def cycle() -> None:
        held = [h for k in keys for h in makers[k]()]
        _release(held)

    return cycle


def test_clean_cycle_is_flat_in_100_runs(sleeper: int, workdir: str) -> None:
    """100 x 10 cycles; the cycle's objects die by reference counting, so after the first run
    the full collection between cycles is skipped (in a pytest process it costs ~0.1-0.4 s)."""
    cycle = _clean_cycle(sleeper, workdir)
    verdicts: dict[str, set[Verdict]] = {}
    for run in range(100):
        m = measure(cycle, cycles=10, warmup=1, between=None if run else gc.collect)
        for key, verdict in m.verdicts.items():
            verdicts.setdefault(key, set()).add(verdict)
    not_flat = {k: v for k, v in verdicts.items() if v != {Verdict.FLAT}}
    assert not_flat == {}


def test_noise_in_other_types_does_not_flip_the_verdict(sleeper: int) -> None:
    rng = random.Random(7)
    pool: list[object] = []
    leaked: list[object] = []

    def noise() -> None:
        # a pool of 0-4 pipes and sockets whose size wanders at random
        while len(pool) > rng.randint(0, 4):
            _release([pool.pop()])
        while len(pool) < rng.randint(0, 4):
            pool.append(_pipe_read_end() if rng.random() < 0.5 else socket.socket())

    def leaky() -> None:
        noise()
        leaked.append(select.epoll())

    try:
        m = measure(leaky, cycles=10, warmup=1, between=None)
        assert m.verdict("pipe") is not Verdict.FLAT or m.verdict("socket") is not Verdict.FLAT
        assert_leaks(m, "eventpoll", per_cycle=1)
        fixed = measure(noise, cycles=10, warmup=1, between=None)
        assert_flat(fixed, "eventpoll")
        assert_flat(fixed, "pidfd")
    finally:
        _release(pool + leaked)


@pytest.mark.parametrize(
    ("series", "slack", "verdict"),
    [
        ([5] * 11, 0, Verdict.FLAT),
        ([5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5], 1, Verdict.FLAT),  # within slack
        ([5, 6, 5, 6, 5, 6, 5, 6, 5, 6, 5], 0, Verdict.NOISY),
        (list(range(11)), 0, Verdict.LEAK),
        ([0, 1, 2, 3, 2, 3, 4, 5, 6, 7, 8], 0, Verdict.LEAK),  # one GC-timed drop
        ([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0], 0, Verdict.NOISY),  # pool fills and recycles
        ([0, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3], 0, Verdict.NOISY),  # saturates
        ([0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5], 0, Verdict.NOISY),  # 0.5/cycle: not called a leak
        ([0, 1, 2, 3, 4, 5], 0, Verdict.LEAK),
        (list(range(0, 21)), 8, Verdict.LEAK),  # LDR-style slack does not hide a real leak
        ([0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 8, 8, 8, 8, 8], 8, Verdict.FLAT),
        ([3, 2, 2, 2], 0, Verdict.NOISY),
    ],
)
def test_judge(series: list[int], slack: int, verdict: Verdict) -> None:
    assert judge(series, slack) is verdict


def test_assert_messages_show_the_series() -> None:
    held: list[int] = []
    try:
        leak = measure(lambda: held.append(_pipe_read_end()), cycles=4, warmup=0, between=None)
        with pytest.raises(AssertionError) as flat_error:
            assert_flat(leak, "pipe")
        msg = str(flat_error.value)
        assert "pipe" in msg and "LEAK" in msg
        base = leak.series["pipe"][0]
        assert str([base, base + 1, base + 2, base + 3, base + 4]) in msg
        with pytest.raises(AssertionError, match=r"eventpoll.*FLAT.*series"):
            assert_leaks(leak, "eventpoll")
        with pytest.raises(AssertionError, match=r">= 3 FD/cycle"):
            assert_leaks(leak, "pipe", per_cycle=3)
    finally:
        _release(held)


def test_measure_shape_and_between() -> None:
    calls: list[str] = []
    m = measure(
        lambda: calls.append("cycle"), cycles=3, warmup=2, between=lambda: calls.append("b")
    )
    assert calls == ["cycle", "cycle", "b"] + ["cycle", "b"] * 3
    assert all(len(s) == 4 for s in m.series.values())
    assert m.pid == os.getpid() and len(m.censuses) == 4
    assert m.growth("socket.tcp.listen") == 0 and m.verdict("pidfd") is Verdict.FLAT
    with pytest.raises(KeyError):
        m.verdict("unknown")
    assert "flat" in m.summary()
    with pytest.raises(ValueError):
        measure(lambda: None, cycles=0)


def test_a_misspelled_key_raises_instead_of_passing_as_flat() -> None:
    m = measure(lambda: None, cycles=2, warmup=0, between=None)
    with pytest.raises(KeyError, match="did you mean 'eventpoll'"):
        assert_flat(m, "evenpoll")
    with pytest.raises(KeyError):
        assert_leaks(m, "pidfds")
    with pytest.raises(KeyError):
        m.growth("sockets")


def test_a_known_key_no_census_saw_is_zero_and_flat() -> None:
    m = measure(lambda: None, cycles=2, warmup=0, between=None)
    assert m.series.get("socket.tcp.close_wait") is None
    assert m.growth("socket.tcp.close_wait") == 0
    assert_flat(m, "socket.tcp.close_wait")
    assert_flat(m, "unclassified")


def test_a_dropped_selector_waits_for_the_cyclic_collector() -> None:
    """The default gc.collect() between cycles hides it; gc="off" shows one eventpoll a cycle."""
    import selectors

    def drop_a_selector() -> None:
        selectors.DefaultSelector()  # never closed; it and its _SelectorMapping form a cycle

    both = measure_gc_modes(drop_a_selector, cycles=6, warmup=0)
    assert_leaks(both.uncollected, "eventpoll", per_cycle=1)
    assert_flat(both.collected, "eventpoll")
    assert both.deferred("eventpoll") == 6
    assert both.uncollected.collection == "no collection between cycles, cyclic GC off"
    assert [r["verdict"] for r in both.rows(["eventpoll"])] == ["leak", "flat"]
    gc.collect()


def test_gc_off_restores_the_collector_and_rejects_bad_modes() -> None:
    assert gc.isenabled()
    measure(lambda: None, cycles=1, warmup=0, between=None, gc="off")
    assert gc.isenabled()
    with pytest.raises(ValueError, match="'on' or 'off'"):
        measure(lambda: None, cycles=1, gc="sometimes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        measure_gc_modes(lambda: None, between=None)
