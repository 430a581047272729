"""The fd_canary fixture, as a contributor would use it, passing and failing."""

from __future__ import annotations

import select
import socket

import pytest

pytest_plugins = ["pytester"]


def test_fd_canary_passes_a_clean_cycle(fd_canary) -> None:
    def cycle() -> None:
        a, b = socket.socketpair()
        a.close()
        b.close()
        select.epoll().close()

    m = fd_canary(cycle, cycles=5)
    assert m.cycles == 5
    assert m.verdict("socket") == "flat"


def test_fd_canary_fails_a_leak_with_the_series(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import select

        held = []

        def test_clean(fd_canary):
            fd_canary(lambda: select.epoll().close(), cycles=5)

        def test_leaky(fd_canary):
            fd_canary(lambda: held.append(select.epoll()), cycles=5)
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*FD canary: 1 FD type(s) not flat (slack 0) after 5 cycles:*",
            "*eventpoll: LEAK over 5 cycles, growth +5 (+1.00/cycle), series (baseline first)*",
        ]
    )


def test_fd_canary_without_collection_catches_a_dropped_selector(pytester: pytest.Pytester) -> None:
    """The default collection between cycles hides a dropped selector; gc="off" does not."""
    pytester.makepyfile(
        """
        import selectors

        def drop():
            selectors.DefaultSelector()  # never closed

        def test_collected(fd_canary):
            fd_canary(drop, cycles=5)

        def test_uncollected(fd_canary):
            fd_canary(drop, cycles=5, gc="off")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*eventpoll: LEAK over 5 cycles, growth +5*"])
