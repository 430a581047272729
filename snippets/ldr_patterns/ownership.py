"""Close only what you own: the ``_owns_llm`` flag (LDR PR #2712).

A class that *accepts* a resource it may or may not have created has to remember which case it
is in. If the caller passed the resource in, the caller (or a cache) still uses it, and
closing it would pull it out from under every other user: ``ChatOpenAI`` / ``ChatAnthropic``
hand out ``functools.lru_cache``'d ``httpx`` clients, so one close breaks every live model in
the process. If the class built the resource itself, nobody else will ever close it.

Rules (pinned by ``tests/test_ldr_ownership.py``):

* Injected (``llm=...``): borrowed, ``_owns_llm = False``, never closed here.
* Built from ``llm_factory`` by this object: owned, ``_owns_llm = True``, closed by ``close()``.
  A factory that returns cached, shared objects is not a constructor: pass its result as
  ``llm=`` instead.
* ``close()`` drops the reference in both cases, is idempotent, and never raises (the close
  goes through :func:`ldr_patterns.safe_close.safe_close`).
* No ``__del__``: the owner calls ``close()`` in ``finally`` or uses ``with``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from ldr_patterns.safe_close import safe_close

__all__ = ["LLMHolder"]


# --8<-- [start:holder]
class LLMHolder:
    """Holds an LLM (or any closeable client) and closes it only if it built it."""

    def __init__(
        self,
        llm: Any = None,
        *,
        llm_factory: Callable[[], Any] | None = None,
        name: str = "llm",
        logger: logging.Logger | None = None,
    ) -> None:
        if (llm is None) == (llm_factory is None):
            raise ValueError("pass exactly one of llm= (borrowed) or llm_factory= (owned)")
        self.name = name
        self._logger = logger
        if llm is not None:
            self.llm = llm
            self._owns_llm = False  # the caller's object: the caller closes it
        else:
            self.llm = llm_factory()
            self._owns_llm = True  # built here: nobody else will close it
        self._closed = False

    def close(self) -> None:
        """Release the LLM: close it if owned, just drop the reference if borrowed."""
        if self._closed is True:
            return
        self._closed = True
        llm, self.llm = self.llm, None
        if self._owns_llm is True:
            safe_close(llm, self.name, logger=self._logger)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


# --8<-- [end:holder]
