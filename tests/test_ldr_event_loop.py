"""Tests for ldr_patterns.event_loop: loops created for a coroutine are always closed."""

from __future__ import annotations

import asyncio

import pytest
from ldr_patterns.event_loop import run_in_new_loop, run_sync
from leaklab import assert_flat, assert_leaks, measure


async def _answer(value: int = 42) -> int:
    await asyncio.sleep(0)
    return value


async def _fail() -> None:
    await asyncio.sleep(0)
    raise ValueError("boom")


def test_run_sync_without_running_loop_returns_result() -> None:
    assert run_sync(_answer(7)) == 7


def test_run_sync_inside_running_loop_uses_fallback_thread() -> None:
    async def main() -> int:
        # asyncio.run() would raise here; the fallback runs the coroutine on its own loop
        return run_sync(_answer(5), timeout=10)

    assert asyncio.run(main()) == 5


def test_run_sync_propagates_exceptions_from_both_paths() -> None:
    with pytest.raises(ValueError, match="boom"):
        run_sync(_fail())

    async def main() -> None:
        run_sync(_fail(), timeout=10)

    with pytest.raises(ValueError, match="boom"):
        asyncio.run(main())


def test_run_sync_fallback_is_bounded() -> None:
    async def main() -> None:
        run_sync(asyncio.sleep(0.5), timeout=0.05)

    with pytest.raises(TimeoutError):
        asyncio.run(main())


def test_run_in_new_loop_closes_loop_on_error() -> None:
    with pytest.raises(ValueError):
        run_in_new_loop(_fail())


def test_unclosed_loops_leak_and_the_patterns_are_flat() -> None:
    held: list[asyncio.AbstractEventLoop] = []
    try:
        leak = measure(lambda: held.append(asyncio.new_event_loop()), cycles=5, warmup=0)
        assert_leaks(leak, "eventpoll", per_cycle=1)
        assert_leaks(leak, "socket.unix", per_cycle=2)
    finally:
        for loop in held:
            loop.close()

    async def in_loop() -> int:
        return run_sync(_answer(), timeout=10)

    flat_fallback = measure(lambda: asyncio.run(in_loop()), cycles=5)
    flat_new_loop = measure(lambda: run_in_new_loop(_answer()), cycles=5)
    for m in (flat_fallback, flat_new_loop):
        assert_flat(m, "eventpoll")
        assert_flat(m, "socket.unix")
