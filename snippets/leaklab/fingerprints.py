"""FD fingerprints: what one leaked object of each known kind adds to a process's FD table.

A production histogram ("929 eventpoll, 64 pidfd, 3 sockets of 1024") names FD *types*; to get
from there to the object that leaked, compare the histogram with the per-object cost of every
mechanism the handbook reproduces. This module measures those costs, keeps them in
``fingerprints.json`` (shared by the fingerprint page, the triage CLI and the fingerprint
notebook), renders them as Markdown and matches a snapshot against them.

Each mechanism runs in a fresh child interpreter, so nothing else in the measuring process can
move the counts: the child sets up what the mechanism needs (a server, say), takes a census,
creates one object, takes a census, creates ``count - 1`` more, and takes a last census. From
those three points come the per-object ``delta`` (the slope; it must divide exactly, or the
mechanism is not a clean per-object leak) and the ``once`` cost paid by the first object only
(SQLite opens ``*-shm`` once per database per process). The same is done for the child
processes each object leaves behind (alive or zombie), which are not FDs but complete the
picture.

Command line::

    python -m leaklab.fingerprints --write      # re-measure and rewrite fingerprints.json
    python -m leaklab.fingerprints --check      # re-measure and compare with the committed file
    python -m leaklab.fingerprints --markdown   # print the Markdown table of the committed file
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .children import die_with_parent

__all__ = [
    "JSON_PATH",
    "MECHANISMS",
    "Mechanism",
    "compare",
    "fit_snapshot",
    "load_fingerprints",
    "measure_fingerprints",
    "render_markdown",
    "signature",
]

JSON_PATH = Path(__file__).resolve().with_name("fingerprints.json")
MARKDOWN_PATH = Path(__file__).resolve().with_name("fingerprints-table.md")
REGENERATE = "python -m leaklab.fingerprints --write"

#: Human names for census keys, in the order a signature lists them.
LABELS: dict[str, tuple[str, str]] = {
    "eventpoll": ("eventpoll", "eventpoll"),
    "pidfd": ("pidfd", "pidfds"),
    "socket.unix": ("unix socket", "unix sockets"),
    "socket.tcp.established": ("ESTABLISHED TCP socket", "ESTABLISHED TCP sockets"),
    "socket.tcp": ("TCP socket", "TCP sockets"),
    "socket": ("socket", "sockets"),
    "pipe": ("pipe end", "pipe ends"),
    "sqlite_db": ("`*.db`", "`*.db`"),
    "sqlite_wal": ("`*-wal`", "`*-wal`"),
    "sqlite_shm": ("`*-shm`", "`*-shm`"),
}


@dataclass(frozen=True)
class Mechanism:
    """One leak mechanism: how to provoke it in a child, and where the handbook explains it."""

    id: str
    mechanism: str
    notebook: str
    page: str
    observed_in: str = "the process that leaks"


MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism(
        "event-loop",
        "`asyncio.new_event_loop()` never closed",
        "notebooks/event-loops.ipynb",
        "playbook.md#eventpoll",
    ),
    Mechanism(
        "selector",
        "`selectors.DefaultSelector()` never closed (no loop around it)",
        "notebooks/fd-fingerprints.ipynb",
        "playbook.md#eventpoll",
    ),
    Mechanism(
        "httpx-async-client",
        "`httpx.AsyncClient` held after `asyncio.run(client.get(...))`",
        "notebooks/async-chat-clients.ipynb",
        "history.md#wave-6",
    ),
    Mechanism(
        "httpx-client",
        "`httpx.Client` held after one request (keep-alive)",
        "notebooks/http-sessions.ipynb",
        "history.md#wave-3",
    ),
    Mechanism(
        "asyncio-subprocess",
        "`asyncio.create_subprocess_exec` child still alive when its loop closes",
        "notebooks/pidfd-asyncio-subprocess.ipynb",
        "playbook.md#pidfd",
    ),
    Mechanism(
        "popen-pipe",
        "`subprocess.Popen(stdout=PIPE)` never waited or closed",
        "notebooks/subprocess-pipes.ipynb",
        "playbook.md#lookup-table",
    ),
    Mechanism(
        "multiprocessing-process",
        "`multiprocessing.Process` (fork) joined but not closed",
        "notebooks/subprocess-pipes.ipynb",
        "playbook.md#lookup-table",
    ),
    Mechanism(
        "sqlite-wal-connection",
        "SQLite connection in WAL mode kept by a SQLAlchemy pool",
        "notebooks/sqlite-wal-pools.ipynb",
        "playbook.md#wal-shm",
    ),
    Mechanism(
        "healthcheck-probe",
        "`urlopen()` without `timeout=` hung on a server that never answers",
        "notebooks/healthcheck-timeout.ipynb",
        "history.md#wave-7",
        observed_in="the server being probed",
    ),
)

_BY_ID = {m.id: m for m in MECHANISMS}


# --- child side: provoke one mechanism ----------------------------------------------------------

_HTTP_SERVER = r"""
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
    def handle(self):
        try:
            super().handle()
        except OSError:
            pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""


def _wait(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.01)


def _children() -> dict[int, str]:
    """Direct children of this process and their state letter (``Z`` = zombie)."""
    pids: set[int] = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/children") as fh:
                pids.update(int(p) for p in fh.read().split())
        except OSError:
            continue
    states: dict[int, str] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                states[pid] = fh.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
    return states


def _processes() -> dict[str, int]:
    states = _children().values()
    return {
        "alive": sum(1 for s in states if s != "Z"),
        "zombie": sum(1 for s in states if s == "Z"),
    }


class _Probe:
    """Set-up, one-object factory and tear-down for one mechanism, run inside the child."""

    def __init__(self, mech_id: str) -> None:
        self.id = mech_id
        self.kept: list[Any] = []
        self.cleanups: list[Callable[[], object]] = []
        getattr(self, "setup_" + mech_id.replace("-", "_"), lambda: None)()

    def make(self) -> None:
        getattr(self, "make_" + self.id.replace("-", "_"))()

    def close(self) -> None:
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as exc:  # tear-down must run to the end
                print(f"cleanup error: {exc!r}", file=sys.stderr)

    # helpers
    def _http_server(self) -> str:
        srv = subprocess.Popen(
            [sys.executable, "-c", _HTTP_SERVER],
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,
        )
        self.cleanups.append(lambda: (srv.kill(), srv.wait(10), srv.stdout.close()))
        port = int(srv.stdout.readline())
        return f"http://127.0.0.1:{port}/"

    # event loop / selector
    def make_event_loop(self) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        self.kept.append(loop)
        self.cleanups.append(loop.close)

    def make_selector(self) -> None:
        import selectors

        sel = selectors.DefaultSelector()
        self.kept.append(sel)
        self.cleanups.append(sel.close)

    # HTTP clients
    def setup_httpx_async_client(self) -> None:
        import asyncio

        import httpx

        self.url = self._http_server()
        # one unmeasured round trip, so imports and lazy module state land before the baseline
        with httpx.Client() as c:
            c.get(self.url)
        asyncio.run(asyncio.sleep(0))

    def make_httpx_async_client(self) -> None:
        import asyncio

        import httpx

        client = httpx.AsyncClient()
        asyncio.run(client.get(self.url))
        self.kept.append(client)
        self.cleanups.append(lambda: asyncio.run(client.aclose()))

    def setup_httpx_client(self) -> None:
        import httpx

        self.url = self._http_server()
        with httpx.Client() as c:
            c.get(self.url)

    def make_httpx_client(self) -> None:
        import httpx

        client = httpx.Client()
        client.get(self.url)
        self.kept.append(client)
        self.cleanups.append(client.close)

    # processes
    def make_asyncio_subprocess(self) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        try:
            proc = loop.run_until_complete(
                asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(60)")
            )
        finally:
            loop.close()
        pid = proc.pid

        def reap() -> None:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass

        self.kept.append(proc)
        self.cleanups.append(reap)

    def make_popen_pipe(self) -> None:
        proc = subprocess.Popen([sys.executable, "-c", "pass"], stdout=subprocess.PIPE)
        # wait until it has exited, without reaping it (WNOWAIT), so it is counted as a zombie
        _wait(
            lambda: os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None,
            "the Popen child to exit",
        )
        self.kept.append(proc)
        self.cleanups.append(lambda: (proc.wait(10), proc.stdout.close()))

    def make_multiprocessing_process(self) -> None:
        import multiprocessing

        proc = multiprocessing.get_context("fork").Process(target=int)
        proc.start()
        proc.join(10)
        self.kept.append(proc)
        self.cleanups.append(proc.close)

    # SQLite
    def setup_sqlite_wal_connection(self) -> None:
        import tempfile

        import sqlalchemy as sa
        from sqlalchemy.pool import QueuePool

        tmp = tempfile.TemporaryDirectory(prefix="leaklab-fp-")
        self.cleanups.append(tmp.cleanup)
        engine = sa.create_engine(
            f"sqlite:///{tmp.name}/user.db", poolclass=QueuePool, pool_size=20, max_overflow=40
        )

        @sa.event.listens_for(engine, "connect")
        def _wal(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA journal_mode=WAL")

        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (x INTEGER)"))
        engine.dispose()  # the baseline has no connection open
        self.engine, self.sa = engine, sa
        self.cleanups.append(engine.dispose)

    def make_sqlite_wal_connection(self) -> None:
        conn = self.engine.connect()  # a checked-out pooled connection: one per concurrent user
        conn.execute(self.sa.text("SELECT count(*) FROM t")).all()
        self.kept.append(conn)
        self.cleanups.append(conn.close)

    # healthcheck
    def setup_healthcheck_probe(self) -> None:
        import socket
        import threading

        listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{listener.getsockname()[1]}/health"
        self.accepted: list[socket.socket] = []

        def accept_forever() -> None:  # accepts, reads nothing, never answers
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                self.accepted.append(conn)

        threading.Thread(target=accept_forever, daemon=True).start()

        def stop() -> None:
            listener.close()
            for conn in self.accepted:
                conn.close()

        self.cleanups.append(stop)

    def make_healthcheck_probe(self) -> None:
        code = f"import urllib.request; urllib.request.urlopen({self.url!r})"
        probe = subprocess.Popen([sys.executable, "-c", code], preexec_fn=die_with_parent)
        self.kept.append(probe)
        self.cleanups.append(lambda: (probe.kill(), probe.wait(10)))
        expected = len(self.kept)
        _wait(lambda: len(self.accepted) >= expected, "the probe to connect")


def _run_probe(mech_id: str, count: int) -> dict[str, Any]:
    import gc

    from .census import census

    probe = _Probe(mech_id)
    try:
        gc.collect()
        points = [(census(), _processes())]
        for n in range(count):
            probe.make()
            if n == 0 or n == count - 1:
                gc.collect()
                points.append((census(), _processes()))
    finally:
        probe.close()
    return {
        "counts": [dict(c.counts) for c, _ in points],
        "processes": [p for _, p in points],
        "python": ".".join(map(str, sys.version_info[:3])),
    }


# --- parent side: measure, compare, render ------------------------------------------------------


def _slope(points: Sequence[Mapping[str, int]], count: int, what: str) -> tuple[dict, dict]:
    """Per-object delta (exact) and the first object's extra cost, from three points."""
    first, one, last = points
    keys = sorted(set(first) | set(one) | set(last))
    per: dict[str, int] = {}
    once: dict[str, int] = {}
    for key in keys:
        grow = last.get(key, 0) - one.get(key, 0)
        if grow % (count - 1):
            raise AssertionError(
                f"{what}: {key} grew by {grow} over {count - 1} objects, not a whole number per"
                " object; this is not a clean per-object fingerprint"
            )
        step = grow // (count - 1)
        extra = one.get(key, 0) - first.get(key, 0) - step
        if step:
            per[key] = step
        if extra:
            once[key] = extra
    return per, once


def signature(delta: Mapping[str, int], once: Mapping[str, int] | None = None) -> str:
    """A short text for a delta: the most specific key of each FD type, e.g. ``1 eventpoll : 2
    unix sockets``; a ``once`` cost is added in brackets."""

    def words(d: Mapping[str, int]) -> list[str]:
        out: list[str] = []
        shown: set[str] = set()
        for key, (one, many) in LABELS.items():
            n = d.get(key, 0)
            if not n or any(s.startswith(key + ".") for s in shown):
                continue
            shown.add(key)
            out.append(f"{n} {one if n == 1 else many}")
        return out

    text = " : ".join(words(delta)) or "no FD"
    if once:
        text += " (+ " + " + ".join(words(once)) + " with the first object only)"
    return text


def measure_fingerprints(
    count: int = 5,
    mechanisms: Iterable[str] | None = None,
    python: str | None = None,
    timeout: float = 60.0,
) -> list[dict[str, Any]]:
    """Measure every mechanism (or the named ids) in its own child interpreter.

    ``count`` objects are created per mechanism (at least 2: the per-object slope needs two
    points after the first object). Returns records in :data:`MECHANISMS` order, in the shape of
    ``fingerprints.json``.
    """
    if count < 2:
        raise ValueError("count must be >= 2")
    from .interpreters import child_env

    ids = list(mechanisms) if mechanisms is not None else [m.id for m in MECHANISMS]
    records = []
    for mech_id in ids:
        mech = _BY_ID[mech_id]
        cmd = [python or sys.executable, "-m", "leaklab.fingerprints", "--probe", mech_id]
        cmd += ["--count", str(count)]
        child = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=child_env(),
            start_new_session=True,  # on a timeout the whole group (probe's own children) goes
            preexec_fn=die_with_parent,  # and it goes with us: a new session escapes our group
        )
        try:
            out, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
            raise TimeoutError(f"{mech_id}: the probe took longer than {timeout:.0f} s") from None
        if child.returncode != 0:
            raise RuntimeError(f"{mech_id}: probe failed (exit {child.returncode}):\n{err}")
        raw = json.loads(out.strip().splitlines()[-1])
        delta, once = _slope(raw["counts"], count, mech_id)
        procs, _ = _slope(raw["processes"], count, mech_id + " (processes)")
        records.append(
            {
                "id": mech.id,
                "mechanism": mech.mechanism,
                "delta": delta,
                "once": once,
                "processes": procs,
                "signature": signature(delta, once),
                "observed_in": mech.observed_in,
                "notebook": mech.notebook,
                "page": mech.page,
            }
        )
    return records


def load_fingerprints(path: Path | str = JSON_PATH) -> list[dict[str, Any]]:
    """The committed fingerprint table."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def dumps(records: Sequence[Mapping[str, Any]]) -> str:
    return json.dumps(list(records), indent=2, sort_keys=False) + "\n"


MEASURED_FIELDS = ("delta", "once", "processes")


def compare(
    measured: Sequence[Mapping[str, Any]], committed: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Differences between a fresh measurement and the committed table (empty = identical)."""
    problems: list[str] = []
    old = {r["id"]: r for r in committed}
    new = {r["id"]: r for r in measured}
    for mech_id in new.keys() - old.keys():
        problems.append(f"{mech_id}: measured but missing from fingerprints.json")
    for mech_id in old.keys() - new.keys():
        problems.append(f"{mech_id}: in fingerprints.json but not measured")
    for mech_id in new.keys() & old.keys():
        for field in MEASURED_FIELDS:
            if dict(new[mech_id][field]) != dict(old[mech_id][field]):
                problems.append(
                    f"{mech_id}: {field} measured {dict(new[mech_id][field])}, "
                    f"committed {dict(old[mech_id][field])}"
                )
    return sorted(problems)


def _fd_cell(delta: Mapping[str, int]) -> str:
    return ", ".join(f"`{k}` +{v}" for k, v in delta.items()) or "-"


def render_markdown(records: Sequence[Mapping[str, Any]], site_root: str | None = None) -> str:
    """The fingerprint table as Markdown.

    Links are relative to ``docs/`` by default, for the page that includes the table: MkDocs
    turns them into URLs. Output displayed in a notebook reaches the site as HTML that nothing
    rewrites, so there ``site_root`` gives final site URLs instead: pass
    :data:`leaklab.lookup.FROM_NOTEBOOK` and ``playbook.md#eventpoll`` becomes
    ``../../playbook/#eventpoll``, which resolves from the notebook's own page.
    """
    from .lookup import site_url

    def link(target: str) -> str:
        return target if site_root is None else site_url(target, site_root)

    lines = [
        "| Leaked object | Signature | Per object (census keys) | Once per process |"
        " Child processes per object | Counted in | Reproduced in |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        procs = ", ".join(f"{v} {k}" for k, v in r["processes"].items()) or "-"
        stem = Path(r["notebook"]).stem
        lines.append(
            f"| {r['mechanism']} | {r['signature']} | {_fd_cell(r['delta'])} |"
            f" {_fd_cell(r['once'])} | {procs} | {r['observed_in']} |"
            f" [{stem}]({link(r['notebook'])}), [page]({link(r['page'])}) |"
        )
    return "\n".join(lines) + "\n"


def fit_snapshot(
    snapshot: Mapping[str, int], records: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """How well each fingerprint explains a histogram of top-level FD types.

    For each mechanism: the most objects of that kind the snapshot can hold (no FD type may be
    needed more often than the snapshot has it), and the share of each of the snapshot's FD
    types those objects would account for. ``snapshot`` uses top-level keys (``eventpoll``,
    ``pidfd``, ``socket``...); sub-keys of a fingerprint (``socket.unix``) are folded into them.
    """
    rows = []
    for r in records:
        top = {k: v for k, v in r["delta"].items() if "." not in k}
        if not top:
            continue
        most = min(snapshot.get(k, 0) // v for k, v in top.items())
        explains = {k: most * v for k, v in top.items()}
        rows.append(
            {
                "id": r["id"],
                "objects": most,
                "explains": explains,
                "share": {k: explains[k] / snapshot[k] for k in top if snapshot.get(k)},
                "limited_by": min(top, key=lambda k: snapshot.get(k, 0) // top[k]),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leaklab.fingerprints", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--write", action="store_true", help="re-measure, rewrite the JSON")
    group.add_argument("--check", action="store_true", help="re-measure, compare with the JSON")
    group.add_argument("--markdown", action="store_true", help="print the committed table")
    group.add_argument("--probe", metavar="ID", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=5, help="objects per mechanism (default 5)")
    args = parser.parse_args(argv)
    if args.probe:
        print(json.dumps(_run_probe(args.probe, args.count)))
        return 0
    if args.markdown:
        sys.stdout.write(render_markdown(load_fingerprints()))
        return 0
    measured = measure_fingerprints(count=args.count)
    if args.write:
        JSON_PATH.write_text(dumps(measured), encoding="utf-8")
        print(f"wrote {JSON_PATH} ({len(measured)} mechanisms)")
        return 0
    problems = compare(measured, load_fingerprints())
    for line in problems:
        print(line)
    if problems:
        print(f"fingerprints.json is out of date; regenerate with `{REGENERATE}`")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
