"""Close the per-instance HTTP clients of an Ollama chat model or embeddings object.

``langchain_ollama.ChatOllama`` and ``langchain_ollama.OllamaEmbeddings`` each build two
``ollama`` clients when they are constructed: ``llm._client`` (an ``ollama.Client`` around an
``httpx.Client``) and ``llm._async_client`` (an ``ollama.AsyncClient`` around an
``httpx.AsyncClient``). Neither class closes them, and every pooled keep-alive connection is
one ESTABLISHED TCP socket in the process until the client is closed or garbage-collected.

Rules this module follows (each pinned by ``tests/test_ldr_close_llm.py``):

* Only the two Ollama classes are touched. Other providers (``ChatOpenAI``, ``ChatAnthropic``
  and the OpenAI-compatible ones) share cached HTTP clients between instances; closing one of
  those would break every other live model in the process, so they are left alone.
* Both inner clients are closed: sync and async. Closing only the sync side (the Wave 3 shape,
  #2708) leaves every connection opened by ``ainvoke()`` in the pool.
* Idempotent through an ``_ldr_closed`` attribute on each inner httpx client, compared with
  ``is True``: a ``Mock()`` without a spec answers any attribute with a truthy child mock, and
  a truthy test would take such a mock for "already closed".
* An async client's connections belong to the event loop they were opened on. Their transports
  can only be closed by that loop: from another thread it is not thread-safe (``python -X dev``
  raises ``RuntimeError: Non-thread-safe operation invoked on an event loop other than the
  current one``), and once that loop is closed they cannot be closed through asyncio at all
  (``RuntimeError: Event loop is closed``; the sockets then wait for the garbage collector).
  So the thread-safe close runs ``aclose()`` on the owning loop.

Two variants are kept side by side for the handbook's pages: the ``wave7`` section is the
daemon-thread close LDR shipped in #4047, the ``threadsafe`` section the alternative that closes
on the owning loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any

__all__ = [
    "aclose_base_llm",
    "close_base_llm",
    "close_base_llm_on_loop",
    "close_base_llm_wave7",
    "inner_clients",
    "is_ollama_model",
]

_log = logging.getLogger(__name__)

#: LDR functions re-created here -> (the LDR function, the release whose code it follows).
#: ``leaklab ldr-check``'s differential test runs the same checks on both and compares.
MIRRORS = {"close_base_llm_wave7": ("utilities.llm_utils._close_base_llm", "1.6.11")}

#: Attribute set on an inner httpx client once it has been closed.
SENTINEL = "_ldr_closed"

# Tasks scheduled by close_base_llm() inside a running loop: a strong reference keeps them
# from being garbage-collected before they run (asyncio only keeps weak references).
_pending: set[asyncio.Task[None]] = set()


def is_ollama_model(llm: Any) -> bool:
    """True for ``ChatOllama`` and ``OllamaEmbeddings`` (the classes with their own clients)."""
    try:
        from langchain_ollama import ChatOllama, OllamaEmbeddings
    except ImportError:  # pragma: no cover - langchain_ollama is a dependency here
        return False
    return isinstance(llm, ChatOllama | OllamaEmbeddings)


def inner_clients(llm: Any) -> tuple[Any, Any]:
    """The inner ``(httpx.Client, httpx.AsyncClient)`` of an Ollama model, else ``(None, None)``."""
    if not is_ollama_model(llm):
        return None, None
    sync_ollama = getattr(llm, "_client", None)
    async_ollama = getattr(llm, "_async_client", None)
    return getattr(sync_ollama, "_client", None), getattr(async_ollama, "_client", None)


def _is_closed(client: Any) -> bool:
    return getattr(client, SENTINEL, None) is True


def _close_sync(client: Any) -> None:
    if client is None or _is_closed(client):
        return
    try:
        client.close()
    except Exception:
        _log.warning("closing the Ollama sync httpx client failed", exc_info=True)
    setattr(client, SENTINEL, True)


# --8<-- [start:threadsafe]
async def aclose_base_llm(llm: Any) -> None:
    """Close both clients of an Ollama model; await it on the loop that ran its ``ainvoke()``.

    The natural place is the coroutine that used the model, for example a ``finally`` block
    inside the ``asyncio.run(...)`` that called ``ainvoke()``: the connections are then closed
    by the loop that owns them, before that loop goes away.
    """
    sync_client, async_client = inner_clients(llm)
    _close_sync(sync_client)
    if async_client is None or _is_closed(async_client):
        return
    try:
        await async_client.aclose()
    except Exception:
        _log.warning("closing the Ollama async httpx client failed", exc_info=True)
    setattr(async_client, SENTINEL, True)


def close_base_llm_on_loop(llm: Any, loop: asyncio.AbstractEventLoop, timeout: float = 5.0) -> bool:
    """From another thread, run :func:`aclose_base_llm` on ``loop`` and wait at most ``timeout``.

    Returns True when the close finished. On timeout (the owning loop is busy, for example
    stuck in a blocking call to an unresponsive server) the scheduled close is cancelled, the
    sentinel stays unset so a later call retries, and a WARNING is logged. Never call this
    from ``loop``'s own thread: it would wait for a loop that cannot run until it returns.
    """
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        raise RuntimeError(
            "close_base_llm_on_loop() called on the owning loop; await aclose_base_llm()"
        )
    future = asyncio.run_coroutine_threadsafe(aclose_base_llm(llm), loop)
    try:
        future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        _log.warning(
            "closing the Ollama async client on its loop took more than %.1f s; "
            "left open, a later call retries",
            timeout,
        )
        return False
    return True


# --8<-- [end:threadsafe]


def close_base_llm(llm: Any) -> None:
    """Close the inner clients of a ``ChatOllama``/``OllamaEmbeddings``; do nothing for others.

    * No loop running in this thread: the async client is closed with ``asyncio.run``. That
      works when its connections were opened by a loop that is still alive; if they belong to
      a loop that is already closed (``asyncio.run(llm.ainvoke(...))`` followed by this call),
      asyncio cannot close them any more: a WARNING says so, the sentinel is set (another
      attempt cannot do better) and the sockets are released by the next garbage collection.
      Await :func:`aclose_base_llm` inside that ``asyncio.run`` instead.
    * A loop running in this thread (called from async code): the close is scheduled on that
      loop, which is the loop that owns the connections, and runs as soon as the caller
      yields (any ``await``). Awaiting :func:`aclose_base_llm` directly is better still.
    """
    sync_client, async_client = inner_clients(llm)
    _close_sync(sync_client)
    if async_client is None or _is_closed(async_client):
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is None:
        try:
            asyncio.run(async_client.aclose())
        except RuntimeError as exc:
            _log.warning(
                "Ollama async client could not be closed (%s): its connections belong to a "
                "closed event loop and are left to the garbage collector",
                exc,
            )
        setattr(async_client, SENTINEL, True)
        return
    task = loop.create_task(aclose_base_llm(llm), name="ldr-close-ollama-async-client")
    _pending.add(task)
    task.add_done_callback(_pending.discard)


# --8<-- [start:wave7]
def close_base_llm_wave7(llm: Any, join_timeout: float = 5.0) -> None:
    """LDR's close as shipped in Wave 7 (#4047), kept to measure it; use close_base_llm().

    With a loop running in the calling thread, ``aclose()`` runs in a short-lived daemon
    thread under that thread's own ``asyncio.run``, joined with a bound. The transports it
    closes belong to the caller's loop, so this is a cross-thread call into that loop: it
    works in normal mode only because the caller's loop is blocked in ``join()`` meanwhile,
    and under ``python -X dev`` it raises on every call and leaves the sockets to the GC.
    """
    sync_client, async_client = inner_clients(llm)
    _close_sync(sync_client)
    if async_client is None or _is_closed(async_client):
        return
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        try:
            asyncio.run(async_client.aclose())
        except Exception:
            _log.warning("closing the Ollama async httpx client failed", exc_info=True)
        setattr(async_client, SENTINEL, True)
        return

    def close_in_thread() -> None:
        try:
            asyncio.run(async_client.aclose())
        except Exception:
            _log.warning("closing the Ollama async httpx client in a thread failed", exc_info=True)

    worker = threading.Thread(target=close_in_thread, name="ldr-async-llm-close", daemon=True)
    worker.start()
    worker.join(join_timeout)
    if worker.is_alive():
        _log.warning(
            "async httpx close still running after %.1f s; sentinel left unset so a later "
            "call retries; watch anon_inode:[eventpoll] counts",
            join_timeout,
        )
        return
    setattr(async_client, SENTINEL, True)


# --8<-- [end:wave7]
