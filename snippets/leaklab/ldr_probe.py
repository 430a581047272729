"""The checks of ``leaklab ldr-check``, as they run *inside* an LDR environment's interpreter.

Run as ``python -c "from leaklab.ldr_probe import main; main()" CHECK_ID`` by
:mod:`leaklab.ldr_check`, one child per check. The child imports LDR's real function, drives it
against the Ollama server named in ``LEAKLAB_OLLAMA_URL`` (the kit's fake, or ``OLLAMA_HOST``)
and real SQLite/SQLCipher files in its temporary working folder, measures the cycle with the
kit's census and verdict, and prints one JSON object as its last stdout line.

A function the release does not have is ``n/a``, not an error: the check reports what the
release *can* do. Everything else that goes wrong is ``error`` with one line.

Only the standard library and the kit are imported at module level; LDR and its dependencies
are imported inside each check, so a missing function is found per check.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from .measure import Measurement, Verdict, measure

__all__ = ["CHECKS", "CYCLES", "NotAvailable", "main"]

#: Cycles per measured variant: five calls, as in the leak reports this reproduces.
CYCLES = 5
#: FD types whose series every result carries, moved or not, so a plot can show flat lines.
SHOWN = ("socket.tcp.established", "eventpoll")
_WORST = {Verdict.LEAK: 2, Verdict.NOISY: 1, Verdict.FLAT: 0}


class NotAvailable(Exception):
    """The release lacks the function a check calls (reported as ``n/a``)."""


def _overrides() -> dict[str, str]:
    """``LEAKLAB_LDR_IMPL``: LDR function -> ``module:name`` measured in its place.

    The differential test uses it to run the very same check on a handbook re-creation in
    ``ldr_patterns`` (``{"utilities.resource_utils.safe_close": "ldr_patterns.safe_close:
    safe_close"}``) inside the environment of the release that re-creation mirrors.
    """
    return json.loads(os.environ.get("LEAKLAB_LDR_IMPL") or "{}")


def _import(module: str, name: str) -> Any:
    """``from local_deep_research.<module> import <name>``, or :class:`NotAvailable`."""
    import importlib

    replacement = _overrides().get(f"{module}.{name}")
    if replacement is not None:
        mod_name, _, attr = replacement.partition(":")
        obj: Any = importlib.import_module(mod_name)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj
    full = f"local_deep_research.{module}"
    try:
        mod = importlib.import_module(full)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("local_deep_research"):
            raise NotAvailable(f"{full} does not exist in this release") from None
        raise
    obj = mod
    for part in name.split("."):
        if not hasattr(obj, part):
            raise NotAvailable(f"{full}.{name} does not exist in this release")
        obj = getattr(obj, part)
    return obj


def _capture_warnings() -> list[str]:
    """Collect WARNING and above from loguru (LDR) and ``logging`` (the re-creations) in a list.

    Warnings are part of what ``safe_close`` promises, and they must not reach stderr, where
    the parent looks for a failing child's last line.
    """
    import logging

    messages: list[str] = []
    try:
        from loguru import logger
    except ImportError:
        pass
    else:
        logger.remove()
        logger.enable("local_deep_research")  # LDR disables its own logging on import
        logger.add(lambda m: messages.append(str(m).strip()), level="WARNING", format="{message}")

    class _ToList(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    root = logging.getLogger()
    root.handlers[:] = [_ToList(logging.WARNING)]
    return messages


def _url() -> str:
    return os.environ["LEAKLAB_OLLAMA_URL"]


def _model() -> str:
    return os.environ.get("LEAKLAB_OLLAMA_MODEL", "fake")


def _moved(m: Measurement) -> dict[str, int]:
    """Growth per FD type that did not stay flat (``total`` left out: it repeats the rest)."""
    return {k: m.growth(k) for k in m.moved() if k != "total" and m.growth(k)}


def _judge(m: Measurement) -> Verdict:
    verdicts = [v for k, v in m.verdicts.items() if k != "total"]
    return max(verdicts, key=_WORST.__getitem__, default=Verdict.FLAT)


def _variants(
    cycle: Callable[[list[Any]], None], variants: tuple[str, ...] = ("dropped", "held")
) -> dict[str, Any]:
    """Measure ``cycle`` with the closed object dropped (as LDR does) and held by the caller.

    ``cycle(keep)`` appends what it closed to ``keep`` only in the *held* variant, so a close
    that really releases the FDs is flat in both, and one that relies on garbage collection is
    flat only when dropped.
    """
    out: dict[str, Any] = {"variants": {}}
    worst = Verdict.FLAT
    # LangChain's import leaves a large heap; without this every between-cycle collection
    # rescans it (about half a second each). Frozen objects are not garbage anyway.
    gc.collect()
    gc.freeze()
    for name in variants:
        keep: list[Any] = []

        def run(keep: list[Any] = keep, drop: bool = name == "dropped") -> None:
            cycle(keep)
            if drop:
                keep.clear()

        m = measure(run, cycles=CYCLES, warmup=1)
        verdict = _judge(m)
        out["variants"][name] = {
            "verdict": verdict.value,
            "delta": _moved(m),
            "series": {k: m._series(k) for k in dict.fromkeys([*SHOWN, *_moved(m)])},
        }
        keep.clear()
        gc.collect()
        if _WORST[verdict] > _WORST[worst]:
            worst = verdict
    out["verdict"] = worst.value
    worst_variant = max(out["variants"].values(), key=lambda v: _WORST[Verdict(v["verdict"])])
    out["delta"] = worst_variant["delta"]
    return out


# -- the checks -------------------------------------------------------------------------------


def _close_helper() -> Callable[[Any], None]:
    return _import("utilities.llm_utils", "_close_base_llm")


def check_async_close_in_running_loop() -> dict[str, Any]:
    """``ainvoke``, then LDR's close helper while that loop still runs (Waves 6-7)."""
    close = _close_helper()
    from langchain_ollama import ChatOllama

    def cycle(keep: list[Any]) -> None:
        async def body() -> None:
            llm = ChatOllama(model=_model(), base_url=_url())
            await llm.ainvoke("hello")
            close(llm)
            keep.append(llm)

        asyncio.run(body())

    return _variants(cycle)


def check_async_close_after_loop() -> dict[str, Any]:
    """``asyncio.run(ainvoke)``, then the close from sync code (the #4143 shape)."""
    close = _close_helper()
    from langchain_ollama import ChatOllama

    def cycle(keep: list[Any]) -> None:
        llm = ChatOllama(model=_model(), base_url=_url())
        asyncio.run(llm.ainvoke("hello"))
        close(llm)
        keep.append(llm)

    return _variants(cycle)


def check_sync_close() -> dict[str, Any]:
    """``invoke``, then the close helper (Wave 3, #2708)."""
    close = _close_helper()
    from langchain_ollama import ChatOllama

    def cycle(keep: list[Any]) -> None:
        llm = ChatOllama(model=_model(), base_url=_url())
        llm.invoke("hello")
        close(llm)
        keep.append(llm)

    return _variants(cycle)


def check_embeddings_close() -> dict[str, Any]:
    """``OllamaEmbeddings`` through the same helper, sync and async (#4352/#4353)."""
    close = _close_helper()
    from langchain_ollama import OllamaEmbeddings

    def cycle(keep: list[Any]) -> None:
        emb = OllamaEmbeddings(model=_model(), base_url=_url())
        emb.embed_query("hello")
        asyncio.run(emb.aembed_query("hello"))
        close(emb)
        keep.append(emb)

    return _variants(cycle)


def check_search_engine_close_cascade() -> dict[str, Any]:
    """``BaseSearchEngine.close()`` must reach its HTTP session and both filter lists."""
    base = _import("web_search_engines.search_engine_base", "BaseSearchEngine")
    if "close" not in vars(base):
        raise NotAvailable("BaseSearchEngine has no close() in this release")
    import requests

    url = _url() + "/api/version"

    class SessionFilter:
        """A filter holding a used HTTP session, as the journal-reputation filter does."""

        def __init__(self) -> None:
            self.session = requests.Session()
            self.session.get(url, timeout=10).raise_for_status()

        def close(self) -> None:
            self.session.close()

    class ProbeEngine(base):  # type: ignore[misc, valid-type]
        """The smallest engine: no search, one used session, one filter of each kind."""

        def __init__(self) -> None:
            import inspect

            accepted = inspect.signature(base.__init__).parameters
            extra = {"programmatic_mode": True} if "programmatic_mode" in accepted else {}
            super().__init__(
                preview_filters=[SessionFilter()], content_filters=[SessionFilter()], **extra
            )
            self.session = requests.Session()
            self.session.get(url, timeout=10).raise_for_status()

        def _get_previews(self, query: str) -> list[dict[str, Any]]:
            return []

        def _get_full_content(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return items

    def cycle(keep: list[Any]) -> None:
        engine = ProbeEngine()
        engine.close()
        keep.append(engine)

    return _variants(cycle)


def check_encrypted_db_pool() -> dict[str, Any]:
    """LDR's per-user SQLCipher engine in WAL mode: FDs per pooled connection, then dispose()."""
    manager_cls = _import("database.encrypted_db", "DatabaseManager")
    from sqlalchemy import text

    from .census import census

    manager = manager_cls()
    if not getattr(manager, "has_encryption", False):
        raise RuntimeError("SQLCipher is not available in this environment")
    pool_kwargs = manager._get_pool_kwargs() if hasattr(manager, "_get_pool_kwargs") else {}
    user, password = "leaklab", "correct horse battery staple"
    # Creating runs LDR's migrations (seconds); the measured cycle is the login path.
    manager.create_user_database(user, password)
    manager.close_user_database(user)
    opened: dict[str, int] = {}

    def cycle(keep: list[Any]) -> None:
        engine = manager.open_user_database(user, password)
        conns = [engine.connect() for _ in range(4)]
        for conn in conns:
            conn.execute(text("SELECT count(*) FROM sqlite_master")).scalar()
        during = census()
        pooled = engine.pool.checkedout() + engine.pool.checkedin()
        for conn in conns:
            conn.close()
        manager.close_user_database(user)
        held = during - census()  # what dispose() released: every pooled connection's FDs
        opened.update(
            connections=pooled, **{k: held[k] for k in ("sqlite_db", "sqlite_wal", "sqlite_shm")}
        )
        keep.append(engine)

    out = _variants(cycle, variants=("held",))
    per_conn = (opened["sqlite_db"] + opened["sqlite_wal"]) / opened["connections"]
    size = pool_kwargs.get("pool_size", 0) + pool_kwargs.get("max_overflow", 0)
    worst_case = int(per_conn * size) + opened["sqlite_shm"]
    out["detail"] = (
        f"{per_conn:g} FDs per pooled connection (+{opened['sqlite_shm']} shared -shm); "
        f"pool {pool_kwargs.get('pool_size')}+{pool_kwargs.get('max_overflow')} -> worst case "
        f"{worst_case} FDs per user; after dispose(): {out['verdict']}"
    )
    out["facts"] = {
        "fds_per_connection": per_conn,
        "shared_shm": opened["sqlite_shm"],
        "pool_size": pool_kwargs.get("pool_size"),
        "max_overflow": pool_kwargs.get("max_overflow"),
        "worst_case_fds": worst_case,
    }
    return out


def check_safe_close() -> dict[str, Any]:
    """``safe_close``: closes, logs and swallows a failing close, accepts ``None``."""
    safe_close = _import("utilities.resource_utils", "safe_close")
    messages = _capture_warnings()

    class Broken:
        def close(self) -> None:
            raise OSError("close failed")

    broken: list[str] = []
    safe_close(Broken(), "broken resource")  # must not raise
    if not any("broken resource" in m for m in messages):
        broken.append("a failing close() was not logged")
    try:
        safe_close(None, "nothing", allow_none=True)
    except TypeError:
        safe_close(None, "nothing")  # older signature without allow_none
    if broken:
        raise AssertionError("; ".join(broken))

    def cycle(keep: list[Any]) -> None:
        read, write = os.pipe()
        handles = [os.fdopen(read, "rb"), os.fdopen(write, "wb")]
        for handle in handles:
            safe_close(handle, "pipe end")
        keep.append(handles)

    out = _variants(cycle)
    out["detail"] = "failing close() logged and swallowed; None accepted"
    return out


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {
    "ollama-async-close-in-running-loop": check_async_close_in_running_loop,
    "ollama-async-close-after-loop": check_async_close_after_loop,
    "ollama-sync-close": check_sync_close,
    "embeddings-close": check_embeddings_close,
    "search-engine-close-cascade": check_search_engine_close_cascade,
    "encrypted-db-pool": check_encrypted_db_pool,
    "safe-close": check_safe_close,
}


def run_check(check_id: str) -> dict[str, Any]:
    """One check's result dict; never raises (``n/a`` and ``error`` are results too)."""
    _capture_warnings()
    try:
        return CHECKS[check_id]()
    except NotAvailable as exc:
        return {"verdict": "n/a", "delta": {}, "detail": str(exc)}
    except Exception as exc:
        line = " ".join(f"{type(exc).__name__}: {exc}".split())
        return {"verdict": "error", "delta": {}, "detail": line[:300]}


def main(argv: list[str] | None = None) -> None:
    """Run the check named on the command line; print its result as the last stdout line."""
    argv = sys.argv[1:] if argv is None else argv
    result = run_check(argv[0])
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
