"""An IPython kernel extension: when the kernel's parent ends, the kernel's children end too.

A Jupyter kernel runs in a session of its own, so stopping the build or test run that started
it (Ctrl-C on ``make serve``, a killed pytest worker) does not reach it: ipykernel notices its
parent is gone within a second and exits, but the children a notebook started (a CPython that
hangs at exit by design, a server) are orphaned and run on with parent 1. Loaded as an extension
(``c.InteractiveShellApp.extensions = ["leaklab.kernel_guard"]``, which the handbook's
executions get through their own ``IPYTHONDIR``), this module:

* asks the kernel (Linux ``PR_SET_PDEATHSIG``) for ``SIGTERM`` when its parent ends, however
  the parent ends, ``SIGKILL`` included;
* on ``SIGTERM`` kills the kernel's whole process group, the kernel and every child that did
  not leave the group, at once.

It does nothing unless the kernel leads its own process group, so it can never signal the
group of whatever started it. No thread is started and nothing enters the user namespace.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from .children import die_with_parent

__all__ = ["install", "load_ipython_extension"]


def _kill_group(signum: int, frame: Any) -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)


def install() -> bool:
    """Set up both steps for this process; False (and nothing changed) where they cannot apply."""
    if not sys.platform.startswith("linux") or os.getpgid(0) != os.getpid():
        return False
    signal.signal(signal.SIGTERM, _kill_group)
    return die_with_parent(signal.SIGTERM)


def load_ipython_extension(ipython: Any) -> None:
    """IPython's entry point for ``%load_ext`` and the ``extensions`` setting."""
    install()
