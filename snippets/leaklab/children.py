"""Children that never outlive their parent, and stopping one without leaving it behind.

A child that hangs by design (a CPython that blocks at exit, ``sleep 600`` holding a pidfd
target) is bounded by its parent's timeout, and that bound is gone if the parent dies first:
such a child once ran for twenty minutes with parent 1 after a stopped ``make serve``.
:func:`die_with_parent` asks the kernel to kill a child when its parent ends, however it ends.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["die_with_parent", "stop_child"]

_PR_SET_PDEATHSIG = 1  # include/uapi/linux/prctl.h


def die_with_parent(sig: int = signal.SIGKILL) -> bool:
    """Have the kernel send ``sig`` to this process when its parent thread ends (Linux).

    Meant as ``preexec_fn=die_with_parent`` (it then runs in the child, before ``exec``, and
    survives the ``exec``), or to be called by a process about itself. If the parent is
    already gone by the time it runs, the signal is raised at once. Returns False where the
    platform has no parent-death signal; nothing is changed then.
    """
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:  # the parent ended before the request was in place
        os.kill(os.getpid(), sig)
    return True


def stop_child(
    child: subprocess.Popen[Any],
    timeout: float = 10.0,
    *,
    kill_timeout: float | None = None,
    on_timeout: Callable[[], None] | None = None,
) -> None:
    """Close the child's stdin (its cue to exit) and reap it; kill it if it overstays.

    Waits up to ``timeout`` seconds for a clean exit. If the child is still running,
    ``on_timeout`` runs first (to kill anything the child would have cleaned up itself), then
    the child is killed and reaped within ``kill_timeout`` seconds (default: ``timeout``).
    Its stdout pipe is closed last.
    """
    if child.stdin:
        child.stdin.close()
    try:
        child.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if on_timeout is not None:
            on_timeout()
        child.kill()
        child.wait(timeout=timeout if kill_timeout is None else kill_timeout)
    if child.stdout:
        child.stdout.close()
