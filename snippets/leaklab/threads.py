"""Run one experiment step in a short-lived thread of its own, joined with a bound.

A Jupyter kernel runs its cells inside an event loop, so ``asyncio.run()`` (and a close helper
that asks ``asyncio.get_running_loop()``) would see the kernel's loop there. A fresh thread has
no loop until it makes one, which is the situation of a research thread in LDR and of a plain
script. The join is bounded so that a hung experiment fails the cell instead of the kernel.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["asyncio_run_in_thread", "in_thread"]

T = TypeVar("T")

#: Thread name the notebooks' clean-up cells look for when they check nothing is left running.
THREAD_NAME = "notebook-experiment"


def in_thread(fn: Callable[[], T], timeout: float = 30.0, *, name: str = THREAD_NAME) -> T:
    """Run ``fn()`` in a new daemon thread and return its result, or raise its exception.

    Raises :class:`TimeoutError` when the thread is still running after ``timeout`` seconds
    (the thread is a daemon, so it cannot keep the interpreter from exiting).
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # handed back to the caller below
            box["error"] = exc

    worker = threading.Thread(target=target, name=name, daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"{getattr(fn, '__name__', fn)!s} still running after {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def asyncio_run_in_thread(
    make_coro: Callable[[], Coroutine[Any, Any, T]], timeout: float = 30.0
) -> T:
    """``asyncio.run(make_coro())`` in a fresh thread (see :func:`in_thread`).

    Takes a factory rather than a coroutine so that no coroutine object is created in the
    caller's thread (one that never ran would warn "was never awaited" on a timeout).
    """
    return in_thread(lambda: asyncio.run(make_coro()), timeout)
