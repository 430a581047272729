"""Run a coroutine from synchronous code without leaving an event loop behind.

Wave 4 (#3018) found ``asyncio.new_event_loop()`` in LDR's ``news_strategy.py`` with no
``loop.close()``. Every such loop holds one ``anon_inode:[eventpoll]`` FD (its selector) and two
unix sockets (its self-pipe) until it is closed, or, once dropped, until the cyclic garbage
collector happens to reclaim it. The fix used ``asyncio.run()``; where sync code may already be
inside a running loop (``asyncio.run`` raises there), the fallback is a short-lived thread with
its own loop, closed in ``finally``.

:func:`run_sync` is that pattern. It is pinned by ``tests/test_ldr_event_loop.py``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["run_in_new_loop", "run_sync"]

T = TypeVar("T")


# --8<-- [start:new-loop]
def run_in_new_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a loop created for it and closed afterwards, whatever happens."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()  # releases the eventpoll FD and both self-pipe sockets


# --8<-- [end:new-loop]


# --8<-- [start:fallback]
def run_sync(coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coro`` to completion from sync code and return its result.

    No loop running in this thread: ``asyncio.run``. A loop running here (sync code called
    from async code): a background thread runs the coroutine on a loop of its own, closed in
    ``finally``. ``timeout`` bounds the wait for that thread; on expiry ``TimeoutError`` is
    raised and the thread's loop is still closed once the coroutine ends.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)

    outcome: dict[str, Any] = {}

    def worker() -> None:
        try:
            outcome["value"] = run_in_new_loop(coro)
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=worker, name="run-sync-fallback", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"coroutine did not finish within {timeout} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# --8<-- [end:fallback]
