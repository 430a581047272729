"""Stopping a child process that waits on stdin, without leaving it (or its pipes) behind."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

__all__ = ["stop_child"]


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
