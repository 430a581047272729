"""Per-test FD leak check for pytest: the fd_canary marker, --fd-leaks and --fd-leaks-trace.

For each checked test this plugin takes a census of the process's open file descriptors by type
before setup and after teardown (fixture finalizers included), with a garbage collection before
each census, and fails the test when a watched type grew. It also reports threads the test
started that are still alive after teardown, and asyncio tasks it left pending.

This one file needs only the standard library and pytest, so a project can copy it instead of
installing the handbook: put it next to the tests and run ``python -m pytest -p
tests.pytest_fd_leaks``. Installing the handbook registers it through ``leaklab.pytest_plugin``
(do one or the other: registering both adds the options twice).

What is never counted against a test:

- FDs, threads and tasks opened while a fixture of wider scope (class, module, package, session)
  is set up during the test's setup: they belong to that fixture and live past the test.
- Anything the garbage collector frees: ``gc.collect()`` runs before each census (turn it off
  with ``fd_leaks_gc = false`` or ``@pytest.mark.fd_canary(gc=False)``).
- Threads that end within ``fd_leaks_thread_grace`` seconds after teardown (default 1.0), such as
  a cancelled ``threading.Timer`` or a cleanup thread that is finishing its join.
"""

from __future__ import annotations

import gc
import os
import stat
import sys
import threading
import time
import tracemalloc
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = ["CATEGORIES", "Snapshot", "categorize", "fd_table", "snapshot"]

#: Every FD falls in exactly one category (the same rules as ``leaklab.census.categorize``).
CATEGORIES: tuple[str, ...] = (
    "socket",
    "pipe",
    "eventpoll",
    "pidfd",
    "eventfd",
    "timerfd",
    "signalfd",
    "inotify",
    "anon_inode",
    "file",
    "dev",
    "sqlite_db",
    "sqlite_wal",
    "sqlite_shm",
)
#: Keys that are not FD types: threads the test started and asyncio tasks it left pending.
EXTRA_KEYS: tuple[str, ...] = ("thread", "task")
#: Watched by default: everything.
DEFAULT_KEYS: tuple[str, ...] = CATEGORIES + EXTRA_KEYS
#: The port an Ollama server listens on unless told otherwise.
OLLAMA_PORT = 11434

_ANON_KINDS = {
    "[eventpoll]": "eventpoll",
    "[pidfd]": "pidfd",
    "[eventfd]": "eventfd",
    "[timerfd]": "timerfd",
    "[signalfd]": "signalfd",
    "inotify": "inotify",
    "[inotify]": "inotify",
}
_MARKER_DOC = (
    "fd_canary(keys=None, slack=0, gc=True): fail the test if FDs of a watched type (default: "
    "all types, plus threads and pending asyncio tasks) are still open after its teardown"
)
_PROPERTY = "fd_leaks"


# --- Census ---------------------------------------------------------------------------------


def categorize(target: str) -> str:
    """Category of one ``/proc/self/fd`` link target; SQLite names win over directories."""
    if target.startswith("socket:"):
        return "socket"
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("anon_inode:"):
        return _ANON_KINDS.get(target[len("anon_inode:") :], "anon_inode")
    if target.startswith("pidfd:"):
        return "pidfd"
    if not target.startswith("/"):
        return "anon_inode"
    path = target.removesuffix(" (deleted)")
    name = path.rsplit("/", 1)[-1]
    if name.endswith("-wal"):
        return "sqlite_wal"
    if name.endswith("-shm"):
        return "sqlite_shm"
    if name.endswith(".db") or ".sqlite" in name:
        return "sqlite_db"
    if path.startswith("/dev/") and not path.startswith("/dev/shm/"):
        return "dev"
    return "file"


def fd_table() -> dict[int, str]:
    """FD number -> link target for this process, without the FD used to read the table.

    Without ``/proc`` (macOS, the BSDs) the target is made up from ``fstat``: sockets, pipes,
    devices and files are told apart, every other kernel object is ``anon_inode``.
    """
    if os.path.isdir("/proc/self/fd"):
        dfd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
        try:
            table = {}
            for name in os.listdir(dfd):
                fd = int(name)
                if fd == dfd:
                    continue
                try:
                    table[fd] = os.readlink(name, dir_fd=dfd)
                except OSError:
                    continue  # closed meanwhile (the listing's own private FD)
            return table
        finally:
            os.close(dfd)
    return _fd_table_fstat()


def _fd_table_fstat() -> dict[int, str]:
    table = {}
    for name in os.listdir("/dev/fd"):
        fd = int(name)
        try:
            st = os.fstat(fd)
        except OSError:
            continue
        mode = st.st_mode
        if stat.S_ISSOCK(mode):
            table[fd] = f"socket:[{st.st_ino}]"
        elif stat.S_ISFIFO(mode):
            table[fd] = f"pipe:[{st.st_ino}]"
        elif stat.S_ISCHR(mode):
            table[fd] = "/dev/char"
        elif stat.S_ISREG(mode) or stat.S_ISDIR(mode):
            table[fd] = f"/inode/{st.st_ino}"
        else:
            table[fd] = "anon_inode:[unknown]"
    return table


def _tcp_ends(inodes: Iterable[str]) -> dict[str, tuple[str, str]]:
    """Socket inode -> (local, peer) address for those of ``inodes`` that are TCP, from /proc."""
    wanted = set(inodes)
    ends: dict[str, tuple[str, str]] = {}
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/self/net/{table}", encoding="ascii") as fh:
                next(fh, None)
                for line in fh:
                    cols = line.split()
                    if len(cols) > 9 and cols[9] in wanted:
                        ends[cols[9]] = (_address(cols[1]), _address(cols[2]))
        except OSError:
            continue
    return ends


def _address(hex_pair: str) -> str:
    """``0100007F:2CAA`` (as /proc/net/tcp writes it) -> ``127.0.0.1:11434``."""
    host, port = hex_pair.split(":")
    raw = bytes.fromhex(host)
    # The kernel prints each 32-bit word in host order; on little-endian hosts, reverse them.
    if sys.byteorder == "little":
        raw = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    import ipaddress

    ip = ipaddress.ip_address(raw)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    text = f"[{ip}]" if ip.version == 6 else str(ip)
    return f"{text}:{int(port, 16)}"


def _pending_tasks() -> list[Any]:
    """asyncio tasks that exist and are not done, in any event loop (closed ones included)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return []
    tasks_module = asyncio.tasks
    found: list[Any] = []
    # 3.12 and 3.13 register every task in _scheduled_tasks (plus eager ones), 3.11 in _all_tasks.
    scheduled = getattr(tasks_module, "_scheduled_tasks", None)
    if scheduled is None:
        scheduled = getattr(tasks_module, "_all_tasks", None)
    if scheduled is not None and sys.version_info < (3, 14):
        found.extend(list(scheduled))
        found.extend(list(getattr(tasks_module, "_eager_tasks", ())))
    else:  # 3.14 keeps native tasks in per-thread lists that only all_tasks(loop) walks
        found.extend(o for o in gc.get_objects() if isinstance(o, asyncio.Task))
    return [t for t in found if not t.done()]


@dataclass
class Snapshot:
    """What a test could leak: the FD table, the live threads, the pending asyncio tasks."""

    fds: dict[int, str]
    threads: dict[int, threading.Thread]
    tasks: weakref.WeakSet = field(default_factory=weakref.WeakSet)

    def counts(self) -> Counter[str]:
        counts: Counter[str] = Counter(categorize(t) for t in self.fds.values())
        counts["thread"] = len(self.threads)
        counts["task"] = len(self.tasks)
        return counts


def snapshot(collect: bool = True) -> Snapshot:
    """Take a census; with ``collect``, after a full garbage collection."""
    if collect:
        gc.collect()
    threads = {t.ident: t for t in threading.enumerate() if t.ident is not None}
    tasks: weakref.WeakSet = weakref.WeakSet(_pending_tasks())
    return Snapshot(fd_table(), threads, tasks)


# --- The check of one test ------------------------------------------------------------------


@dataclass
class Excused:
    """What wider-scoped fixtures opened during the test's setup; not the test's to close."""

    counts: Counter[str] = field(default_factory=Counter)
    fds: set[tuple[int, str]] = field(default_factory=set)
    threads: set[int] = field(default_factory=set)
    tasks: weakref.WeakSet = field(default_factory=weakref.WeakSet)

    def add(self, before: Snapshot, after: Snapshot) -> None:
        grown = after.counts() - before.counts()
        self.counts.update(grown)
        self.fds.update(set(after.fds.items()) - set(before.fds.items()))
        self.threads.update(set(after.threads) - set(before.threads))
        for task in after.tasks:
            if task not in before.tasks:
                self.tasks.add(task)


@dataclass
class Settings:
    """What one test is checked for: watched keys, slack per key, gc before the census."""

    keys: tuple[str, ...]
    slack: dict[str, int]
    collect: bool

    @classmethod
    def for_item(cls, item: pytest.Item, config: pytest.Config) -> Settings:
        marker = item.get_closest_marker("fd_canary")
        kwargs: Mapping[str, Any] = marker.kwargs if marker else {}
        keys = kwargs.get("keys")
        if keys is None:
            keys = DEFAULT_KEYS
        elif isinstance(keys, str):
            keys = (keys,)
        slack = kwargs.get("slack", 0)
        named = set(keys) | (set(slack) if isinstance(slack, Mapping) else set())
        unknown = sorted(named - set(DEFAULT_KEYS))
        if unknown:
            raise pytest.UsageError(
                f"{item.nodeid}: fd_canary keys {unknown} are not FD types; "
                f"choose from {', '.join(DEFAULT_KEYS)}"
            )
        if isinstance(slack, Mapping):
            per_key = {k: int(slack.get(k, 0)) for k in keys}
        else:
            per_key = dict.fromkeys(keys, int(slack))
        collect = kwargs.get("gc", config.getini("fd_leaks_gc"))
        return cls(tuple(keys), per_key, bool(collect))


@dataclass
class Finding:
    """A checked test's leftovers: grown types and the evidence for each."""

    nodeid: str
    grown: dict[str, int]
    new_fds: list[tuple[int, str]]
    threads: list[threading.Thread]
    tasks: list[Any]
    slack: dict[str, int]

    @property
    def failed(self) -> bool:
        return any(n > self.slack.get(k, 0) for k, n in self.grown.items())

    def headline(self) -> str:
        parts = ", ".join(f"{k} +{n}" for k, n in self.grown.items())
        tolerated = "" if self.failed else " (within slack)"
        return f"{self.nodeid}: {parts}{tolerated}"

    def describe(self, tcp: Mapping[str, tuple[str, str]]) -> list[str]:
        watched_slack = {k: v for k, v in self.slack.items() if v}
        slack = f" (slack {watched_slack})" if watched_slack else ""
        lines = [f"FD leak check: {self.headline()} after teardown{slack}"]
        if self.new_fds:
            lines.append("  still open:")
            for fd, target in self.new_fds:
                lines.append(f"    fd {fd}: {_describe_target(target, tcp)}")
        for t in self.threads:
            kind = "daemon thread" if t.daemon else "thread"
            lines.append(f"  {kind} started by the test still alive: {t.name}")
        for task in self.tasks:
            lines.append(f"  asyncio task left pending: {_describe_task(task)}")
        return lines


def _describe_target(target: str, tcp: Mapping[str, tuple[str, str]]) -> str:
    kind = categorize(target)
    text = f"{kind} ({target})"
    if kind == "socket":
        ends = tcp.get(target[len("socket:[") : -1])
        if ends:
            local, peer = ends
            text += f" tcp {local} -> {peer}"
            if peer.endswith(f":{OLLAMA_PORT}"):
                text += " (Ollama's port)"
    return text


def _describe_task(task: Any) -> str:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or repr(coro)
    loop = task.get_loop()
    state = "a closed loop" if loop.is_closed() else "an open loop"
    return f"{task.get_name()} running {name}() in {state}"


def _check(item: pytest.Item, settings: Settings, before: Snapshot, excused: Excused) -> Finding:
    # Threads the test started get their grace period first: one that is finishing its
    # cleanup (a server's handler seeing EOF, a cancelled Timer) closes its FDs before the census.
    started = [
        t
        for t in threading.enumerate()
        if before.threads.get(t.ident) is not t and t.ident not in excused.threads
    ]
    if started:
        deadline = time.monotonic() + float(item.config.getini("fd_leaks_thread_grace"))
        for t in started:
            t.join(max(0.0, deadline - time.monotonic()))
    after = snapshot(settings.collect)
    new_threads = [t for t in started if t.is_alive()]
    new_tasks = [t for t in after.tasks if t not in before.tasks and t not in excused.tasks]
    growth = after.counts() - before.counts()
    growth.subtract(excused.counts)
    growth["thread"] = len(new_threads)
    growth["task"] = len(new_tasks)
    grown = {k: growth[k] for k in settings.keys if growth[k] > 0}
    old = set(before.fds.items()) | excused.fds
    new_fds = [
        (fd, target)
        for fd, target in sorted(after.fds.items())
        if (fd, target) not in old and categorize(target) in grown
    ]
    return Finding(
        item.nodeid,
        grown,
        new_fds,
        new_threads if "thread" in grown else [],
        new_tasks if "task" in grown else [],
        settings.slack,
    )


# --- Allocation sites (--fd-leaks-trace) ----------------------------------------------------


def _owned_fds(obj: Any) -> Iterator[tuple[int, str, int]]:
    """(fd, what owns it, priority) for an object that owns FDs; higher priority wins."""
    mods = sys.modules
    asyncio = mods.get("asyncio")
    if asyncio is not None and isinstance(obj, asyncio.AbstractEventLoop):
        selector = getattr(obj, "_selector", None)
        name = f"asyncio event loop ({type(obj).__name__})"
        if selector is not None:
            yield _fileno(selector), name, 5
        for attr in ("_ssock", "_csock"):
            sock = getattr(obj, attr, None)
            if sock is not None:
                yield _fileno(sock), name + " self-pipe", 5
        return
    subprocess = mods.get("subprocess")
    if subprocess is not None and isinstance(obj, subprocess.Popen):
        for attr in ("stdin", "stdout", "stderr"):
            stream = getattr(obj, attr, None)
            if stream is not None:
                yield _fileno(stream), f"subprocess.Popen({obj.args!r}) {attr} pipe", 4
        return
    selectors = mods.get("selectors")
    if selectors is not None and isinstance(obj, selectors.BaseSelector):
        yield _fileno(obj), f"selectors.{type(obj).__name__}", 3
        return
    socket = mods.get("socket")
    if socket is not None and isinstance(obj, socket.socket):
        yield _fileno(obj), f"socket.socket ({obj.family.name}, {obj.type.name})", 2
        return
    io = mods.get("io")
    if io is not None and isinstance(obj, io.IOBase):
        yield _fileno(obj), f"{type(obj).__module__}.{type(obj).__qualname__}", 1


def _kind(cls: type, owner_types: tuple[type, ...]) -> int:
    if issubclass(cls, owner_types):
        return 1
    module = cls.__dict__.get("__module__")
    if isinstance(module, str) and module.startswith(_HTTP_MODULES):
        return 2 if cls.__name__.endswith(("Client", "Transport", "ConnectionPool")) else 0
    return 0


def _owner_types() -> tuple[type, ...]:
    """The classes :func:`_owned_fds` knows, from the modules that are already imported."""
    names = (
        ("asyncio", "AbstractEventLoop"),
        ("subprocess", "Popen"),
        ("selectors", "BaseSelector"),
        ("socket", "socket"),
        ("io", "IOBase"),
    )
    return tuple(getattr(sys.modules[mod], cls) for mod, cls in names if mod in sys.modules)


def _fileno(obj: Any) -> int:
    try:
        return int(obj.fileno())
    except Exception:
        return -1


def _owners(fds: Iterable[int]) -> dict[int, tuple[str, Any]]:
    """FD -> (description, object) for the live Python objects that own the given FDs.

    A socket reached from an httpx or httpcore client or transport is described as held by it.
    """
    wanted = set(fds)
    found: dict[int, tuple[int, str, Any]] = {}
    http_holders = []
    owner_types = _owner_types()
    kinds: dict[type, int] = {}  # 0: nothing, 1: may own FDs, 2: an httpx client or transport
    for obj in gc.get_objects():
        # Decided once per class: with tracemalloc on, per-object work makes this scan slow.
        cls = type(obj)
        kind = kinds.get(cls)
        if kind is None:
            kind = kinds[cls] = _kind(cls, owner_types)
        if kind == 0:
            continue
        if kind == 2:
            http_holders.append(obj)
            continue
        try:
            owned = list(_owned_fds(obj))
        except Exception:
            continue
        for fd, what, rank in owned:
            if fd in wanted and rank > found.get(fd, (-1, "", None))[0]:
                found[fd] = (rank, what, obj)
    owners = {fd: (what, obj) for fd, (_, what, obj) in found.items()}
    sockets = {id(obj): fd for fd, (what, obj) in owners.items() if what.startswith("socket")}
    for holder in http_holders if sockets else ():
        for fd in _reaches(holder, sockets):
            what, obj = owners[fd]
            if "held by" not in what:
                name = f"{type(holder).__module__}.{type(holder).__qualname__}"
                owners[fd] = (f"{what}, held by {name}", obj)
    return owners


def _reaches(root: Any, targets: Mapping[int, int], limit: int = 5000) -> list[int]:
    """Values of ``targets`` (keyed by object id) reachable from ``root`` through references."""
    seen = {id(root)}
    stack = [root]
    hits = []
    while stack and len(seen) < limit:
        for ref in gc.get_referents(stack.pop()):
            if id(ref) in seen:
                continue
            seen.add(id(ref))
            if id(ref) in targets:
                hits.append(targets[id(ref)])
            elif isinstance(ref, _CONTAINERS) or _module_of(ref).startswith(_HTTP_MODULES):
                stack.append(ref)  # never functions or modules: their globals reach everything
    return hits


_CONTAINERS = (list, tuple, dict, set, frozenset)
_HTTP_MODULES = ("httpx", "httpcore")


def _module_of(obj: Any) -> str:
    module = type(obj).__dict__.get("__module__")
    return module if isinstance(module, str) else ""


def _allocation(obj: Any, item: pytest.Item, depth: int = 6) -> list[str]:
    """Where ``obj`` was allocated: the innermost frame in test code first, then the stack."""
    tb = tracemalloc.get_object_traceback(obj)
    if tb is None:
        return ["allocated before tracing started (or not traced)"]
    frames = list(reversed(tb))  # innermost first
    test_file = str(item.path)
    root = str(item.config.rootpath)

    def in_test_code(filename: str) -> bool:
        return filename == test_file

    def in_project(filename: str) -> bool:
        return filename.startswith(root) and "site-packages" not in filename

    first = next((f for f in frames if in_test_code(f.filename)), None)
    first = first or next((f for f in frames if in_project(f.filename)), None)
    first = first or frames[0]
    lines = [f"allocated at {_where(first, root)}{_source(first)}"]
    inner = frames[: frames.index(first)]
    if inner:  # the library frames between the test's line and the allocation, outermost last
        lines.append("  via " + " <- ".join(_where(f, root) for f in inner[:depth]))
    return lines


_STDLIB = os.path.dirname(os.__file__) + os.sep


def _where(frame: Any, root: str) -> str:
    """``file:line`` relative to the rootdir, site-packages or the standard library."""
    name = frame.filename
    if name.startswith(root + os.sep):
        name = name[len(root) + 1 :]
    elif "site-packages" + os.sep in name:
        name = name.split("site-packages" + os.sep, 1)[1]
    elif name.startswith(_STDLIB):
        name = name[len(_STDLIB) :]
    return f"{name}:{frame.lineno}"


def _source(frame: Any) -> str:
    import linecache

    text = linecache.getline(frame.filename, frame.lineno).strip()
    return f"  {text}" if text else ""


def _trace_lines(finding: Finding, item: pytest.Item) -> list[str]:
    if not finding.new_fds:
        return []
    owners = _owners(fd for fd, _ in finding.new_fds)
    lines = ["  allocation sites (--fd-leaks-trace):"]
    for fd, target in finding.new_fds:
        owner = owners.get(fd)
        if owner is None:
            lines.append(f"    fd {fd} ({categorize(target)}): no Python object owns it")
            continue
        what, obj = owner
        lines.append(f"    fd {fd}: {what}")
        lines.extend(f"      {line}" for line in _allocation(obj, item))
    for t in finding.threads:
        target = getattr(t, "_target", None)
        name = getattr(target, "__qualname__", None)
        if name:
            lines.append(f"    thread {t.name} runs {name}()")
    return lines


# --- pytest hooks ---------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("fd-leaks", "FD leak check per test (fd_canary marker)")
    group.addoption(
        "--fd-leaks",
        action="store_true",
        default=False,
        help="check every test, not only those marked fd_canary, and summarise leaks at the end",
    )
    group.addoption(
        "--fd-leaks-trace",
        action="store_true",
        default=False,
        help="start tracemalloc and show where each leaked FD's Python owner was allocated",
    )
    parser.addini("fd_leaks_gc", "gc.collect() before each census", type="bool", default=True)
    parser.addini(
        "fd_leaks_thread_grace",
        "seconds to wait for threads the test started to end after teardown",
        default="1.0",
    )
    parser.addini("fd_leaks_trace_frames", "frames tracemalloc keeps per allocation", default="32")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER_DOC)
    if not config.pluginmanager.has_plugin(FdLeakChecker.name):
        config.pluginmanager.register(FdLeakChecker(config), FdLeakChecker.name)


class FdLeakChecker:
    """Runs checked tests between two censuses and collects every finding for the summary."""

    name = "fd-leaks-checker"

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.check_all = bool(config.getoption("fd_leaks"))
        self.trace = bool(config.getoption("fd_leaks_trace"))
        self.summary: list[str] = []
        self._excused: Excused | None = None
        self._depth = 0
        if self.trace and not _is_xdist_controller(config) and not tracemalloc.is_tracing():
            tracemalloc.start(int(config.getini("fd_leaks_trace_frames")))

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Reject a misspelt marker option before any test runs, like --strict-markers."""
        for item in items:
            if item.get_closest_marker("fd_canary") is not None:
                Settings.for_item(item, self.config)

    def _checked(self, item: pytest.Item) -> bool:
        return self.check_all or item.get_closest_marker("fd_canary") is not None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Any:
        if not self._checked(item):
            return None
        from _pytest.runner import runtestprotocol

        settings = Settings.for_item(item, self.config)
        ihook = item.ihook
        ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        before = snapshot(settings.collect)
        self._excused = excused = Excused()
        try:
            reports = runtestprotocol(item, log=False, nextitem=nextitem)
        finally:
            self._excused = None
        finding = _check(item, settings, before, excused)
        if finding.grown:
            self._attach(item, finding, reports)
        for report in reports:
            ihook.pytest_runtest_logreport(report=report)
        ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
        return True

    def _attach(self, item: pytest.Item, finding: Finding, reports: list[Any]) -> None:
        inodes = (t[len("socket:[") : -1] for _, t in finding.new_fds if t.startswith("socket:"))
        lines = finding.describe(_tcp_ends(inodes))
        if self.trace:
            try:
                lines.extend(_trace_lines(finding, item))
            except Exception as exc:  # the verdict stands even if the trace cannot be drawn
                lines.append(f"  allocation sites unavailable: {exc!r}")
        text = "\n".join(lines)
        call = next((r for r in reports if r.when == "call"), None)
        target = call or reports[-1]
        target.user_properties.append((_PROPERTY, finding.headline()))
        if finding.failed and target.passed:
            target.outcome = "failed"
            target.longrepr = text
        else:
            target.sections.append(("fd leaks", text))

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Any:
        excused = self._excused
        if excused is None or fixturedef.scope == "function" or self._depth:
            return (yield)
        self._depth += 1
        before = snapshot(collect=False)
        try:
            return (yield)
        finally:
            self._depth -= 1
            excused.add(before, snapshot(collect=False))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == _PROPERTY:
                self.summary.append(str(value))

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.summary and not self.check_all:
            return
        if not self.summary:
            if not _is_xdist_worker(self.config):
                terminalreporter.write_line("FD leak check: no test left anything open")
            return
        terminalreporter.section(f"FD leaks: {len(self.summary)} test(s)")
        for line in self.summary:
            terminalreporter.write_line(line)


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _is_xdist_controller(config: pytest.Config) -> bool:
    return not _is_xdist_worker(config) and bool(getattr(config.option, "numprocesses", None))
