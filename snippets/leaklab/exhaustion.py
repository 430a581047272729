"""A full FD table, reproduced: what async calls and LDR's Wave 7 close do at the limit.

Why this exists: a snapshot taken at the FD limit shows what the table holds *after* the
process has run into the limit, and running into it changes the mix. ``asyncio.run()`` (and
``new_event_loop()``) on Linux first creates its selector, which takes one FD
(``epoll_create1``), then the self-pipe ``socketpair()``, which takes two. With one or two FDs
free the epoll FD is obtained and ``socketpair()`` fails with ``EMFILE``. The half-built loop
has no ``_ssock``: when it is freed, its ``__del__`` calls ``close()``, which raises
``AttributeError: '_UnixSelectorEventLoop' object has no attribute '_ssock'`` (reported through
``sys.unraisablehook``) before it gets to close the selector; the selector and its
``_SelectorMapping`` refer to each other, so the eventpoll stays open until the cyclic garbage
collector runs. Every FD freed at the limit can thus turn into an eventpoll.

How it is measured: :func:`run_at_cap` starts a child interpreter (any installed CPython: the
child needs only the standard library and this module), lowers its soft ``RLIMIT_NOFILE``, fills
the table with a per-call leak (each call keeps one TCP connection to a local acceptor that
lives in the parent), then runs a workload at the limit. At each checkpoint the child stops and
the parent takes the census of the child's FD table from outside (the child itself cannot
open ``/proc/self/fd`` at the limit), exactly as an operator would take it from a live process.

Workloads:

``async-call``
    Each round releases one held connection (a request finishing) and makes one async call
    (``asyncio.run`` of a coroutine that opens a connection).
``wave7-close``
    Each round releases one held connection, then closes the next held client the way LDR's
    Wave 7 ``_close_base_llm`` does from inside a running loop: ``asyncio.run(aclose())`` in a
    daemon thread joined with a 5-second bound, the "closed" marker set once the thread ends.
``ladder``
    For 0 to 4 free FDs: free that many, attempt one async call, record where it failed and
    what it left; then collect and refill to the limit.

The child is this module's ``_child_main()``, configured through ``LEAKLAB_CAP_CONFIG``.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SSOCK_ERROR",
    "WORKLOADS",
    "CapRun",
    "Checkpoint",
    "run_at_cap",
]

#: The unraisable error a half-built loop reports when it is freed.
SSOCK_ERROR = "'_UnixSelectorEventLoop' object has no attribute '_ssock'"
WORKLOADS = ("async-call", "wave7-close", "ladder")
_PREFIX = "LEAKLAB-CAP "
_JOIN_TIMEOUT = 5.0  # LDR's Wave 7 bound on the close thread


# ---------------------------------------------------------------------------------------------
# The child: standard library only, no FD opened after the limit is lowered except on purpose.


class _Child:
    """State of the child process: held connections, counters, the checkpoint protocol."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.addr = ("127.0.0.1", int(config["port"]))
        self.config = config
        self.held: list[socket.socket] = []
        self.counts: dict[str, int] = {}
        self.unraisable: list[str] = []
        self.first_error: str | None = None
        sys.unraisablehook = self._on_unraisable

    def _on_unraisable(self, info: Any) -> None:
        self.unraisable.append(f"{type(info.exc_value).__name__}: {info.exc_value}")

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.bump("gc_runs")

    def bump(self, name: str, by: int = 1) -> None:
        self.counts[name] = self.counts.get(name, 0) + by

    def checkpoint(self, phase: str, **extra: Any) -> None:
        """Report, then wait until the parent has taken its census."""
        state = {
            "phase": phase,
            "held": len(self.held),
            "counts": dict(self.counts),
            "unraisable": len(self.unraisable),
            "ssock_errors": sum(SSOCK_ERROR in u for u in self.unraisable),
            "first_unraisable": self.unraisable[0] if self.unraisable else None,
            "first_error": self.first_error,
            "gc_enabled": gc.isenabled(),
            **extra,
        }
        sys.stdout.write(_PREFIX + json.dumps(state) + "\n")
        sys.stdout.flush()
        if not sys.stdin.readline():
            raise SystemExit(3)  # the parent went away

    # -- the per-call leak ----------------------------------------------------------------

    def connect_sync(self) -> socket.socket:
        return socket.create_connection(self.addr)

    async def _connect(self) -> socket.socket:
        loop = asyncio.get_running_loop()
        sock = socket.socket()
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, self.addr)
        except BaseException:
            sock.close()
            raise
        return sock

    def async_call(self) -> socket.socket:
        """One async call on a fresh loop, as ``asyncio.run(llm.ainvoke(...))`` makes it."""
        coro = self._connect()
        try:
            return asyncio.run(coro)
        except BaseException:
            coro.close()  # never started: no "coroutine was never awaited" warning
            raise

    def fill(self, call: Callable[[], socket.socket], every: int) -> int:
        """Call until EMFILE, keeping every connection; checkpoint every ``every`` calls."""
        made = 0
        while True:
            try:
                self.held.append(call())
            except OSError as exc:
                if exc.errno != errno.EMFILE:
                    raise
                self.note_failure(exc)
                return made
            made += 1
            if every and made % every == 0:
                self.checkpoint("fill", calls=made)

    def note_failure(self, exc: BaseException) -> str:
        """Where an EMFILE struck: the selector, the self-pipe, or the call's own socket."""
        names = {frame.name for frame in traceback.extract_tb(exc.__traceback__)}
        if "_make_self_pipe" in names:
            where = "socketpair"
        elif "new_event_loop" in names or "_lazy_init" in names:
            where = "epoll"
        else:
            where = "call"
        self.bump(f"emfile_at_{where}")
        if self.first_error is None:
            self.first_error = f"{type(exc).__name__}: {exc} (at {where})"
        return where

    def release_one(self) -> None:
        """A request finishing elsewhere in the process: one held connection is closed."""
        if self.held:
            self.held.pop(0).close()
            self.bump("released")

    # -- workloads ------------------------------------------------------------------------

    def attempt_async_call(self) -> str:
        try:
            self.held.append(self.async_call())
        except OSError as exc:
            if exc.errno != errno.EMFILE:
                raise
            return self.note_failure(exc)
        self.bump("calls_ok")
        return "ok"

    def run_async_calls(self, rounds: int, every: int) -> None:
        for i in range(rounds):
            self.release_one()
            self.attempt_async_call()
            if (i + 1) % every == 0 or i + 1 == rounds:
                self.checkpoint("round", round=i + 1)

    def close_wave7(self, client: socket.socket) -> bool:
        """LDR's Wave 7 in-loop branch: ``asyncio.run(aclose())`` on a daemon thread, bounded."""
        failed: list[str] = []  # where it failed; never the exception, which would keep the
        # half-built loop alive through its traceback's frames

        async def aclose() -> None:
            client.close()

        def close_in_thread() -> None:
            coro = aclose()
            try:
                asyncio.run(coro)
            except Exception as exc:  # LDR logs a WARNING and carries on
                coro.close()
                failed.append(self.note_failure(exc) if isinstance(exc, OSError) else "other")

        worker = threading.Thread(target=close_in_thread, daemon=True)
        worker.start()
        worker.join(_JOIN_TIMEOUT)
        if worker.is_alive():
            self.bump("close_timeouts")
            return False
        self.bump("closed_marker_set")  # LDR sets _ldr_closed once the thread has ended
        if failed:
            self.bump("close_failed")
        return not failed

    def run_wave7_closes(self, rounds: int, every: int) -> None:
        async def in_running_loop() -> None:
            for i in range(rounds):
                self.release_one()
                if not self.held:
                    break
                client = self.held.pop(0)
                if self.close_wave7(client):
                    self.bump("closes_ok")
                else:
                    self.bump("clients_left_open")
                    self.held.append(client)  # still open, though marked closed
                if (i + 1) % every == 0 or i + 1 == rounds:
                    self.checkpoint("round", round=i + 1)

        self.app_loop.run_until_complete(in_running_loop())

    def run_ladder(self, steps: Sequence[int]) -> None:
        for free in steps:
            for _ in range(free):
                self.release_one()
            self.checkpoint("ladder-before", free=free)
            outcome = self.attempt_async_call()
            self.checkpoint("ladder-after", free=free, outcome=outcome)
            gc.collect()
            self.fill(self.connect_sync, every=0)

    def main(self) -> None:
        config = self.config
        if config["gc"] == "off":
            gc.disable()
        gc.callbacks.append(self._on_gc)
        workload = config["workload"]
        if workload == "wave7-close":
            # The application's running loop exists from before the limit, as a server's does.
            self.app_loop = asyncio.new_event_loop()
        self.async_call().close()  # import and warm everything before the limit
        _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (int(config["limit"]), hard))
        self.checkpoint("start")
        fill_call = self.connect_sync if config["fill"] == "sync" else self.async_call
        self.fill(fill_call, int(config["fill_every"]))
        self.checkpoint("full")
        every = max(1, int(config["round_every"]))
        if workload == "async-call":
            self.run_async_calls(int(config["rounds"]), every)
        elif workload == "wave7-close":
            self.run_wave7_closes(int(config["rounds"]), every)
        else:
            self.run_ladder(config["ladder"])
        self.checkpoint("before-collect")
        gc.collect()
        self.checkpoint("collected")
        for sock in self.held:
            sock.close()
        if workload == "wave7-close":
            self.app_loop.close()


# ---------------------------------------------------------------------------------------------
# The parent.


@dataclass(frozen=True)
class Checkpoint:
    """One stop of the child: its phase, its own counters, and the census taken from outside."""

    phase: str
    state: dict[str, Any]
    counts: dict[str, int]
    total: int

    def __getitem__(self, key: str) -> int:
        return self.total if key == "total" else self.counts.get(key, 0)

    def share(self, key: str) -> float:
        return self[key] / self.total if self.total else 0.0

    def count(self, name: str) -> int:
        """A counter of the child (``calls_ok``, ``emfile_at_socketpair``, ``gc_runs``...)."""
        return int(self.state["counts"].get(name, 0))


@dataclass(frozen=True)
class CapRun:
    """All checkpoints of one child run, with the settings it ran under."""

    version: tuple[int, int, int]
    workload: str
    gc: str
    fill: str
    limit: int
    checkpoints: tuple[Checkpoint, ...] = field(repr=False)

    def at(self, phase: str) -> Checkpoint:
        """The last checkpoint of ``phase``."""
        for cp in reversed(self.checkpoints):
            if cp.phase == phase:
                return cp
        raise KeyError(f"no checkpoint {phase!r} in this run")

    def all(self, phase: str) -> list[Checkpoint]:
        return [cp for cp in self.checkpoints if cp.phase == phase]

    @property
    def python(self) -> str:
        return ".".join(map(str, self.version))

    def dominant(self, phase: str) -> str:
        """The largest top-level FD type at ``phase`` (sockets counted as one type)."""
        cp = self.at(phase)
        top = {k: v for k, v in cp.counts.items() if "." not in k}
        return max(sorted(top), key=lambda k: top[k])


class _Acceptor:
    """A loopback TCP server in the parent that accepts every connection and holds it."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._serve, name="leaklab-acceptor", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        # shutdown() wakes the blocked accept() on Linux; close() alone would not.
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(10)
        for conn in self._held:
            conn.close()
        self._held.clear()


@contextmanager
def _acceptor() -> Iterator[_Acceptor]:
    server = _Acceptor()
    try:
        yield server
    finally:
        server.close()


def run_at_cap(
    python: str = sys.executable,
    *,
    workload: str = "async-call",
    gc: str = "off",
    fill: str = "sync",
    limit: int = 256,
    rounds: int = 64,
    fill_every: int = 16,
    round_every: int = 1,
    ladder: Sequence[int] = (0, 1, 2, 3, 4),
    timeout: float = 120.0,
) -> CapRun:
    """Run one child at a lowered FD limit and return every checkpoint with its census.

    ``gc`` is ``"off"`` (cyclic collector disabled in the child) or ``"auto"`` (its default
    thresholds, as in production); either way the run ends with one ``gc.collect()`` so the
    last two checkpoints show what the collector releases. ``fill`` is the per-call leak that
    fills the table: ``"sync"`` keeps one connection per synchronous call, ``"async"`` one per
    ``asyncio.run`` call. A census is taken every ``fill_every`` calls while filling and every
    ``round_every`` rounds at the limit.
    """
    from .census import census
    from .interpreters import child_env

    if workload not in WORKLOADS:
        raise ValueError(f"workload must be one of {WORKLOADS}, got {workload!r}")
    if gc not in ("off", "auto") or fill not in ("sync", "async"):
        raise ValueError("gc must be 'off' or 'auto', fill 'sync' or 'async'")
    if limit < 16 or rounds < 0:
        raise ValueError("limit must be >= 16 and rounds >= 0")
    checkpoints: list[Checkpoint] = []
    version: tuple[int, int, int] | None = None
    with _acceptor() as server, tempfile.TemporaryFile("w+") as errors:
        config = {
            "port": server.port,
            "workload": workload,
            "gc": gc,
            "fill": fill,
            "limit": limit,
            "rounds": rounds,
            "fill_every": fill_every,
            "round_every": round_every,
            "ladder": list(ladder),
        }
        probe = "import sys;print(*sys.version_info[:3])"
        from .children import die_with_parent

        child = subprocess.Popen(
            [python, "-c", f"{probe};import leaklab.exhaustion as m;m._child_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env=child_env(LEAKLAB_CAP_CONFIG=json.dumps(config)),
            preexec_fn=die_with_parent,
        )
        assert child.stdin is not None and child.stdout is not None
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        try:
            version = tuple(int(x) for x in child.stdout.readline().split())  # type: ignore[assignment]
            for line in child.stdout:
                if not line.startswith(_PREFIX):
                    continue
                state = json.loads(line[len(_PREFIX) :])
                c = census(child.pid)
                checkpoints.append(Checkpoint(state["phase"], state, dict(c.counts), c.total))
                child.stdin.write("\n")
                child.stdin.flush()
            child.stdin.close()
            rc = child.wait(timeout)
        finally:
            timer.cancel()
            if child.poll() is None:
                child.kill()
                child.wait()
            child.stdout.close()
        if rc != 0:
            errors.seek(0)
            tail = errors.read()[-2000:]
            raise RuntimeError(f"{python}: child exited with {rc}:\n{tail}")
    if version is None or len(version) != 3:
        raise RuntimeError(f"{python}: the child did not report its version")
    return CapRun(version, workload, gc, fill, limit, tuple(checkpoints))


def _child_main() -> None:
    _Child(json.loads(os.environ["LEAKLAB_CAP_CONFIG"])).main()


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table for ``IPython.display.Markdown`` (cells are written as given)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def plot_histograms(run: CapRun, title: str, keys: Sequence[str] = ("eventpoll", "socket.tcp")):
    """Stacked FD counts of the child at every checkpoint: the table filling, then skewing.

    Everything not in ``keys`` is drawn as "other"; the dashed line is the FD limit.
    """
    from .plots import COLOURS, GREY, new_figure

    fig = new_figure(figsize=(9, 3.4))
    ax = fig.subplots()
    xs = range(len(run.checkpoints))
    bottom = [0] * len(run.checkpoints)
    layers = [(k, [cp[k] for cp in run.checkpoints]) for k in keys]
    layers.append(("other", [cp.total - sum(cp[k] for k in keys) for cp in run.checkpoints]))
    for i, (name, values) in enumerate(layers):
        colour = COLOURS[i % len(COLOURS)] if name != "other" else GREY
        ax.bar(xs, values, bottom=bottom, color=colour, label=name, width=0.85)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.axhline(run.limit, color=GREY, linestyle="--", linewidth=1)
    ticks = [i for i, cp in enumerate(run.checkpoints) if cp.phase != "fill" or i == 0]
    ax.set_xticks(ticks)
    ax.set_xticklabels(
        [_tick(run.checkpoints[i]) for i in ticks], rotation=60, ha="right", fontsize=7
    )
    ax.set_ylabel(f"FDs (limit {run.limit})", fontsize=9)
    ax.set_title(title, fontsize=10, loc="left")
    ax.legend(fontsize=8, frameon=False, loc="upper left", ncols=len(layers))
    ax.set_ylim(0, run.limit * 1.25)
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    fig.tight_layout()
    return fig


def _tick(cp: Checkpoint) -> str:
    if cp.phase == "round":
        return f"round {cp.state['round']}"
    if cp.phase.startswith("ladder"):
        return f"{cp.phase[7:]} ({cp.state['free']} free)"
    return cp.phase
