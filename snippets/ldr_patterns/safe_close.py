"""Close a resource without letting the close hide the error that is already on its way out.

LDR's convention (Wave 3, PR #2756): every cleanup goes through ``safe_close(resource, name)``
instead of a bare ``.close()`` in a ``finally`` block. A ``close()`` that raises inside
``finally`` replaces the exception the ``try`` body raised; the caller then debugs the close
failure and never sees the real one (it survives only as ``__context__``).

Decisions, each pinned by ``tests/test_ldr_safe_close.py``:

* ``None`` is a no-op that returns ``True``: "nothing to close" is not a failure, and the
  usual call site (``safe_close(self._client, ...)`` on a half-built object) needs no guard.
* Any ``Exception`` from ``close()`` is logged at WARNING with the human-readable name and the
  traceback, and ``False`` is returned. Nothing derived from ``Exception`` escapes.
* ``BaseException`` that is not an ``Exception`` (``KeyboardInterrupt``, ``SystemExit``,
  ``GeneratorExit``, ``asyncio.CancelledError``) propagates: a Ctrl-C or a cancellation that
  arrives while a socket is being closed must still stop the program or the task.
* An object without a callable ``close`` is logged and reported as ``False``: it is a bug at
  the call site, but cleanup code is the wrong place to crash over it.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

__all__ = ["close_once", "safe_close"]

_log = logging.getLogger(__name__)

#: LDR functions re-created here -> (the LDR function, the release whose code it follows).
MIRRORS = {"safe_close": ("utilities.resource_utils.safe_close", "1.6.11")}


# --8<-- [start:safe_close]
def safe_close(resource: Any, name: str, *, logger: logging.Logger | None = None) -> bool:
    """Call ``resource.close()``; log a failure at WARNING instead of raising it.

    Returns True if the resource closed cleanly (or was None), False if closing failed.
    KeyboardInterrupt, SystemExit and other non-Exception BaseExceptions still propagate.
    """
    log = logger if logger is not None else _log
    if resource is None:
        return True
    close = getattr(resource, "close", None)
    if not callable(close):
        log.warning("Cannot close %s: %s has no close() method", name, type(resource).__name__)
        return False
    try:
        close()
    except Exception:
        log.warning("Error closing %s", name, exc_info=True)
        return False
    return True


# --8<-- [end:safe_close]


# --8<-- [start:close_once]
def close_once(
    resource: Any,
    name: str,
    *,
    sentinel: str = "_ldr_closed",
    logger: logging.Logger | None = None,
) -> bool:
    """Close ``resource`` at most once, remembering success in an attribute on it.

    The sentinel is compared with ``is True``: on an unspecced ``unittest.mock.Mock`` every
    missing attribute is a truthy child Mock, so a plain truthiness check would skip the close.
    The sentinel is set only after a clean close, so a failed close is retried next time.
    """
    if resource is None or getattr(resource, sentinel, None) is True:
        return True
    if not safe_close(resource, name, logger=logger):
        return False
    # __slots__ or a read-only object: it is closed, it just cannot be marked.
    with contextlib.suppress(AttributeError, TypeError):
        setattr(resource, sentinel, True)
    return True


# --8<-- [end:close_once]
