"""FD census: the open file descriptors of one process, grouped by what they point at.

A plain FD count says *that* something leaks; the type says *what*. LDR's worst incident was
visible only as "1024 FDs" until the ``/proc`` histogram showed 91% ``anon_inode:[eventpoll]``.
This module reads the same link targets the playbook's ``ls -l /proc/PID/fd`` pipeline reads, but
returns a value that can be compared, asserted on and serialised.

Only the standard library is imported at module level, so a bare child interpreter (another
CPython version with ``PYTHONPATH=snippets``) can run a census; psutil is imported only on
platforms without ``/proc``. ``leaklab census PID --json`` is timed against a shell pipeline
with start-up included, so this module also stays clear of ``dataclasses`` (which pulls in
``inspect``) and of ``typing``: it loads only what a census needs.
"""

from __future__ import annotations

import json
import os
import sys
from collections import namedtuple
from collections.abc import Iterator, Mapping
from types import MappingProxyType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CATEGORIES",
    "SOCKET_KINDS",
    "Census",
    "CensusDelta",
    "CensusError",
    "FdEntry",
    "ProcessAccessDenied",
    "ProcessNotFound",
    "categorize",
    "census",
]

#: Top-level categories; every census reports all of them, zero or not. Each FD is in exactly one.
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

#: Socket sub-keys, also always present; each socket is additionally counted in ``socket``.
SOCKET_KINDS: tuple[str, ...] = ("socket.tcp", "socket.udp", "socket.unix", "socket.other")

# The ``st`` column of /proc/net/tcp{,6} (include/net/tcp_states.h).
TCP_STATES: dict[int, str] = {
    0x01: "established",
    0x02: "syn_sent",
    0x03: "syn_recv",
    0x04: "fin_wait1",
    0x05: "fin_wait2",
    0x06: "time_wait",
    0x07: "close",
    0x08: "close_wait",
    0x09: "last_ack",
    0x0A: "listen",
    0x0B: "closing",
    0x0C: "new_syn_recv",
}

# anon_inode names with their own category; any other anon inode counts as "anon_inode".
_ANON_KINDS: dict[str, str] = {
    "[eventpoll]": "eventpoll",
    "[pidfd]": "pidfd",
    "[eventfd]": "eventfd",
    "[timerfd]": "timerfd",
    "[signalfd]": "signalfd",
    "inotify": "inotify",
    "[inotify]": "inotify",
}

_DELETED = " (deleted)"


class CensusError(RuntimeError):
    """A census could not be taken; ``pid`` names the process and the message says why."""

    def __init__(self, pid: int, reason: str) -> None:
        super().__init__(f"PID {pid}: {reason}")
        self.pid = pid
        self.reason = reason


class ProcessNotFound(CensusError):
    """The PID does not exist (or exited while it was being read)."""


class ProcessAccessDenied(CensusError):
    """The FD table exists but this user may not read it."""


class FdEntry(namedtuple("FdEntry", ("fd", "target", "category", "detail"), defaults=(None,))):
    """One open FD: its number, the raw link target, its category and an optional detail.

    ``fd`` is an int and the others are str; ``detail`` (default None) is the socket protocol
    and TCP state (``"tcp listen"``, ``"unix"``), the target PID of a pidfd (``"pid=-1"`` once
    the child has exited and been reaped), or ``"deleted"`` for a file unlinked while open.
    """

    __slots__ = ()

    fd: int
    target: str
    category: str
    detail: str | None


def categorize(target: str) -> str:
    """Map one ``/proc/PID/fd`` link target to its category.

    Order matters: SQLite names are recognised wherever they live (``/dev/shm/x.db`` is a
    database, not a device), ``/dev/shm`` is ordinary tmpfs, and anything that is neither a path
    nor a known kernel object (``net:[...]`` namespace handles, ``[io_uring]``...) falls into
    ``anon_inode``.
    """
    if target.startswith("socket:"):
        return "socket"
    if target.startswith("pipe:"):
        return "pipe"
    if target.startswith("anon_inode:"):
        return _ANON_KINDS.get(target[len("anon_inode:") :], "anon_inode")
    if target.startswith("pidfd:"):  # kernels with pidfs (6.9+) may show "pidfd:[N]"
        return "pidfd"
    if not target.startswith("/"):
        return "anon_inode"
    path = target.removesuffix(_DELETED)
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


def _zero_counts() -> dict[str, int]:
    return dict.fromkeys(CATEGORIES + SOCKET_KINDS, 0)


def _only_fd_entries(entries: tuple[Any, ...]) -> bool:
    """True if every item is exactly an :class:`FdEntry` (one pass in C, no per-item call)."""
    return not entries or set(map(type, entries)) == {FdEntry}


class Census:
    """An immutable snapshot of one process's FD table.

    ``counts`` always holds every key of :data:`CATEGORIES` and :data:`SOCKET_KINDS`, plus a
    ``socket.tcp.<state>`` key for each TCP state present. ``unseen`` names the categories this
    platform cannot tell apart; on Linux it is empty, without ``/proc`` those FDs are counted
    under ``unclassified``.

    Written out rather than as a frozen dataclass: ``dataclasses`` costs the command line a
    fifth of its start-up. Attributes cannot be reassigned, and two censuses are equal when
    all six fields are.
    """

    __slots__ = ("counts", "entries", "origin", "pid", "source", "total", "unseen")
    _FIELDS = ("pid", "total", "counts", "entries", "unseen", "source")  # compared, serialised

    pid: int
    total: int
    counts: Mapping[str, int]
    entries: tuple[FdEntry, ...]
    unseen: frozenset[str]
    source: str
    #: Where a census read back from a file came from (``"json"``); "" for one taken here.
    #: Not serialised and not compared: a saved census of a live process must not read as live
    #: when reloaded, and is still equal to the census it was saved from.
    origin: str

    def __init__(
        self,
        pid: int,
        total: int,
        counts: Mapping[str, int],
        entries: tuple[FdEntry, ...] | Any = (),
        unseen: frozenset[str] | Any = frozenset(),
        source: str = "proc",
        origin: str = "",
    ) -> None:
        # A census of 20k FDs hands over a tuple of FdEntry already: keep it rather than
        # rebuilding every entry (that copy was a sixth of `leaklab census PID --json`).
        if type(entries) is not tuple or not _only_fd_entries(entries):
            entries = tuple(FdEntry(*e) for e in entries)
        init = object.__setattr__
        init(self, "pid", pid)
        init(self, "total", total)
        init(self, "counts", MappingProxyType(dict(counts)))
        init(self, "entries", entries)
        init(self, "unseen", frozenset(unseen))
        init(self, "source", source)
        init(self, "origin", origin)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Census is immutable: cannot assign {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Census is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, f) == getattr(other, f) for f in self._FIELDS)

    __hash__ = None  # type: ignore[assignment]  # counts is a mapping: not hashable

    def __repr__(self) -> str:
        fields = ", ".join(f"{f}={getattr(self, f)!r}" for f in (*self._FIELDS, "origin"))
        return f"Census({fields})"

    def __getitem__(self, key: str) -> int:
        """Count for ``key``; ``"total"`` is the total and unknown keys are 0, never KeyError."""
        if key == "total":
            return self.total
        return self.counts.get(key, 0)

    def __sub__(self, before: Census) -> CensusDelta:
        if not isinstance(before, Census):
            return NotImplemented
        return CensusDelta.between(before, self)

    def __reduce__(self) -> tuple[Any, ...]:
        # MappingProxyType cannot be pickled; go through the plain-dict form instead.
        return (Census.from_dict, (self.to_dict(),))

    def nonzero(self) -> dict[str, int]:
        """The counts that are not zero, for compact printing."""
        return {k: v for k, v in self.counts.items() if v}

    def to_dict(self) -> dict[str, Any]:
        return self._as_dict([list(e) for e in self.entries])

    def to_json(self, indent: int | None = None) -> str:
        # json writes a tuple exactly like a list, so the entries need no per-entry copy here;
        # and a census holds no reference cycles, so json need not track 20k containers.
        return json.dumps(self._as_dict(self.entries), indent=indent, check_circular=False)

    def _as_dict(self, entries: Any) -> dict[str, Any]:
        return {
            "pid": self.pid,
            "total": self.total,
            "counts": dict(self.counts),
            "entries": entries,
            "unseen": sorted(self.unseen),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], origin: str = "") -> Census:
        return cls(
            pid=int(data["pid"]),
            total=int(data["total"]),
            counts={str(k): int(v) for k, v in data["counts"].items()},
            entries=tuple(FdEntry(*e) for e in data.get("entries", ())),
            unseen=frozenset(data.get("unseen", ())),
            source=str(data.get("source", "proc")),
            origin=origin,
        )

    @classmethod
    def from_json(cls, text: str) -> Census:
        return cls.from_dict(json.loads(text))


class CensusDelta(Mapping[str, int]):
    """``after - before``: the keys whose count changed, and the FDs that appeared or went away.

    Indexing a key that did not change gives 0. ``opened`` and ``closed`` compare entries by
    (fd number, target), so a number reused for a different object shows up in both.
    """

    __slots__ = ("_changes", "closed", "opened", "total")

    def __init__(
        self,
        changes: Mapping[str, int],
        total: int,
        opened: tuple[FdEntry, ...] = (),
        closed: tuple[FdEntry, ...] = (),
    ) -> None:
        self._changes = MappingProxyType({k: v for k, v in changes.items() if v})
        self.total = total
        self.opened = opened
        self.closed = closed

    @classmethod
    def between(cls, before: Census, after: Census) -> CensusDelta:
        keys = list(dict.fromkeys([*before.counts, *after.counts]))
        changes = {k: after[k] - before[k] for k in keys}
        old = {(e.fd, e.target) for e in before.entries}
        new = {(e.fd, e.target) for e in after.entries}
        opened = tuple(e for e in after.entries if (e.fd, e.target) not in old)
        closed = tuple(e for e in before.entries if (e.fd, e.target) not in new)
        return cls(changes, after.total - before.total, opened, closed)

    def __getitem__(self, key: str) -> int:
        if key == "total":
            return self.total
        return self._changes.get(key, 0)

    def __contains__(self, key: object) -> bool:
        return key in self._changes

    def __iter__(self) -> Iterator[str]:
        return iter(self._changes)

    def __len__(self) -> int:
        return len(self._changes)

    def __repr__(self) -> str:
        return f"CensusDelta(total={self.total:+d}, {dict(self._changes)!r})"


# --- Linux: /proc ---------------------------------------------------------------------------


# /proc/PID/net/<table>: (table, column of the inode, label or None for "tcp <state>").
_SOCKET_TABLES: tuple[tuple[str, int, str | None], ...] = (
    ("tcp", 9, None),
    ("tcp6", 9, None),
    ("udp", 9, "udp"),
    ("udp6", 9, "udp"),
    ("unix", 6, "unix"),
)


def _socket_table(pid: int, wanted: set[str] | None = None) -> dict[str, str]:
    """Socket inode -> "proto[ state]" from the process's network namespace tables.

    With ``wanted`` (the inodes the census needs), reading stops at the first table after which
    every wanted inode is known: a process holding only TCP sockets never reads the host's
    often long ``unix`` table.
    """
    table: dict[str, str] = {}
    missing = None if wanted is None else set(wanted)
    for proto, inode_col, label in _SOCKET_TABLES:
        if missing is not None and not missing:
            break
        try:
            with open(f"/proc/{pid}/net/{proto}", encoding="ascii", errors="replace") as fh:
                next(fh, None)  # header
                for line in fh:
                    cols = line.split()
                    if len(cols) <= inode_col:
                        continue
                    inode = cols[inode_col]
                    if label is None:
                        state = TCP_STATES.get(int(cols[3], 16), cols[3].lower())
                        table[inode] = f"tcp {state}"
                    else:
                        table[inode] = label
                    if missing is not None:
                        missing.discard(inode)
        except OSError:
            continue  # table missing (no IPv6) or namespace not readable: sockets stay "other"
    return table


def _pidfd_target(pid: int, fd: int) -> str | None:
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Pid:"):
                    return "pid=" + line.split()[1]
    except (OSError, IndexError):
        pass
    return None


#: From this many FDs on, the links are read by two threads (when two CPUs are usable).
#: ``readlinkat`` on procfs releases the GIL, so on 2 cores a 20,000-FD table is read in about
#: 0.7x the time; below a few thousand FDs a thread costs more than it saves.
PARALLEL_FROM = 4096


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask), else all of the machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _read_chunk(numbered: list[tuple[int, str]], dfd: int, skip: int) -> list[tuple[int, str]]:
    """(fd, target) for each listed FD still open; PermissionError propagates."""
    readlink = os.readlink
    pairs: list[tuple[int, str]] = []
    append = pairs.append
    for fd, name in numbered:
        if fd == skip:
            continue
        try:
            append((fd, readlink(name, dir_fd=dfd)))
        except FileNotFoundError:
            continue  # closed between listing and reading
    return pairs


def _read_split(numbered: list[tuple[int, str]], dfd: int, skip: int) -> list[tuple[int, str]]:
    """:func:`_read_chunk` with the second half read by a worker thread, order kept."""
    import threading

    half = len(numbered) // 2
    result: list[list[tuple[int, str]] | BaseException] = []

    def second_half() -> None:
        try:
            result.append(_read_chunk(numbered[half:], dfd, skip))
        except BaseException as exc:  # handed to the caller's thread below
            result.append(exc)

    worker = threading.Thread(target=second_half, name="leaklab-census", daemon=True)
    worker.start()
    try:
        first = _read_chunk(numbered[:half], dfd, skip)
    finally:
        worker.join()
    second = result[0]
    if isinstance(second, BaseException):
        raise second
    return first + second


def _read_links(pid: int, is_self: bool) -> list[tuple[int, str]]:
    """(fd, target) pairs in FD order, without the FDs this function itself holds open.

    The directory FD ``dfd`` is opened explicitly so its number is known and skipped, and each
    link is read relative to it (``readlinkat``), so the kernel resolves one name per FD rather
    than the whole ``/proc/PID/fd/N`` path. listdir() works on a private duplicate of ``dfd``,
    closed when the listing ends, so by the time the links are read that duplicate no longer
    resolves and is dropped like any FD closed mid-census. A large table is read by two threads
    (:data:`PARALLEL_FROM`); the result is the same either way.
    """
    fd_dir = f"/proc/{pid}/fd"
    try:
        dfd = os.open(fd_dir, os.O_RDONLY | os.O_DIRECTORY)
    except FileNotFoundError:
        raise ProcessNotFound(pid, f"no such process ({fd_dir} does not exist)") from None
    except PermissionError:
        raise ProcessAccessDenied(pid, _denied_reason(pid, fd_dir, listed=None)) from None
    try:
        names = os.listdir(dfd)
        fds = list(map(int, names))
        numbered = list(zip(fds, names, strict=True))
        if fds != sorted(fds):  # /proc lists in FD order; sorted() of sorted ints is one pass
            numbered.sort()
        skip = dfd if is_self else -1
        split = len(numbered) >= PARALLEL_FROM and usable_cpus() > 1
        try:
            return (_read_split if split else _read_chunk)(numbered, dfd, skip)
        except PermissionError:
            reason = _denied_reason(pid, fd_dir, listed=len(names))
            raise ProcessAccessDenied(pid, reason) from None
    finally:
        os.close(dfd)


def _denied_reason(pid: int, fd_dir: str, listed: int | None) -> str:
    who = f"uid {os.geteuid()}" if hasattr(os, "geteuid") else "this user"
    seen = f"could list {listed} FDs but not read their targets" if listed is not None else ""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Advice to "run as root" would send root in a circle.
        advice = (
            "; even root is refused here: the process is likely outside this container's"
            " reach (another PID or user namespace) or a security module (Yama ptrace_scope,"
            " AppArmor, SELinux) forbids it; read it from the host, or inside its container"
            " with `docker exec --user 0 ...`"
        )
    else:
        advice = (
            "; another user's FD table needs root: run as root (sudo) on the host, or inside a"
            " container with `docker exec --user 0 ...`"
        )
    return f"permission denied reading {fd_dir} as {who}" + (f" ({seen})" if seen else "") + advice


_PF_KTHREAD = 0x00200000  # include/linux/sched.h
# Set at the start of do_exit(), before the kernel closes the FD table (exit_files) and long
# before the task turns zombie: a listing read while it is set may be empty or partial.
_PF_EXITING = 0x00000004


def _stat(pid: int) -> tuple[str, int, str] | None:
    """(state letter, flags, start time) from /proc/PID/stat; None once the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rpartition(b")")[2].split()
        return fields[0].decode(), int(fields[6]), fields[19].decode()
    except (OSError, IndexError, ValueError):
        return None


def _check_readable(pid: int) -> tuple[str, int, str] | None:
    """Refuse a zombie or a kernel thread, which hold no FD table, before reading."""
    before = _stat(pid)
    if before is None:
        return None  # _read_links reports the missing process
    state, flags, _ = before
    if state == "Z":
        raise ProcessNotFound(pid, "is a zombie (it exited; its parent has not reaped it): no FDs")
    if flags & _PF_KTHREAD:
        raise CensusError(pid, "is a kernel thread: it has no FD table")
    return before


def _census_proc(pid: int, is_self: bool) -> Census:
    before = None if is_self else _check_readable(pid)
    pairs = _read_links(pid, is_self)
    if not is_self:
        after = _stat(pid)
        # Gone, a zombie now, or the PID reused by another process: the listing is partial.
        if (
            after is None
            or after[0] in ("Z", "X")
            or after[1] & _PF_EXITING
            or (before and after[2] != before[2])
        ):
            raise ProcessNotFound(pid, "process exited while being read")
    elif not pairs and not os.path.exists(f"/proc/{pid}"):
        raise ProcessNotFound(pid, "process exited while being read")
    counts = _zero_counts()
    entries: list[FdEntry] = []
    append = entries.append
    new_entry = tuple.__new__  # FdEntry's own __new__ is a Python call; 20k of them add up
    # Targets such as "anon_inode:[eventpoll]" or "/dev/null" repeat by the thousand: classify
    # each distinct one once. Pipes and sockets are unique per FD and pidfds need a lookup per
    # FD, so those are never cached.
    seen: dict[str, tuple[str, str | None]] = {}
    sockets: list[int] = []
    for fd, target in pairs:
        known = seen.get(target)
        if known is None:
            category = categorize(target)
            if category == "socket":
                sockets.append(len(entries))
            elif category == "pidfd":
                append(new_entry(FdEntry, (fd, target, category, _pidfd_target(pid, fd))))
                counts[category] += 1
                continue
            detail = "deleted" if target.endswith(_DELETED) else None
            if category != "socket" and category != "pipe":
                seen[target] = (category, detail)
        else:
            category, detail = known
        counts[category] += 1
        append(new_entry(FdEntry, (fd, target, category, detail)))
    if sockets:
        _resolve_sockets(pid, entries, sockets, counts)
    return Census(pid=pid, total=len(entries), counts=counts, entries=tuple(entries))


def _resolve_sockets(
    pid: int, entries: list[FdEntry], where: list[int], counts: dict[str, int]
) -> None:
    """Fill in protocol and TCP state of the socket entries at ``where``, and count them."""
    inodes = [entries[i].target[len("socket:[") : -1] for i in where]
    table = _socket_table(pid, set(inodes))
    for i, inode in zip(where, inodes, strict=True):
        detail = table.get(inode)
        proto = detail.split()[0] if detail else "other"
        counts[f"socket.{proto}"] += 1
        if detail and proto == "tcp":
            key = "socket.tcp." + detail.split()[1]
            counts[key] = counts.get(key, 0) + 1
        entries[i] = entries[i]._replace(detail=detail)


# --- Fallback: psutil (macOS, BSD) ---------------------------------------------------------

#: What a census without /proc cannot tell apart: these FDs are counted as "unclassified".
PSUTIL_UNSEEN = frozenset(
    {"pipe", "eventpoll", "pidfd", "eventfd", "timerfd", "signalfd", "inotify", "anon_inode"}
)


def _census_psutil(pid: int) -> Census:
    """Total from num_fds(); files and sockets by type; everything else honestly unclassified."""
    import socket

    try:
        import psutil
    except ImportError:  # pragma: no cover - psutil is a dependency of the handbook
        raise CensusError(pid, "no /proc on this platform and psutil is not installed") from None
    try:
        proc = psutil.Process(pid)
        total = proc.num_fds()
        files = proc.open_files()
        conns = proc.net_connections(kind="all")
    except psutil.NoSuchProcess:
        raise ProcessNotFound(pid, "no such process") from None
    except psutil.AccessDenied:
        raise ProcessAccessDenied(pid, _denied_reason(pid, "its FD table", None)) from None
    except AttributeError:
        raise CensusError(pid, f"psutil cannot count FDs on {sys.platform}") from None
    counts = _zero_counts()
    entries: list[FdEntry] = []
    for f in files:
        category = categorize(f.path)
        counts[category] += 1
        entries.append(FdEntry(f.fd, f.path, category, None))
    for c in conns:
        if c.fd is None or c.fd < 0:
            continue
        if c.family == socket.AF_UNIX:
            proto = "unix"
        elif c.family in (socket.AF_INET, socket.AF_INET6):
            proto = "tcp" if c.type == socket.SOCK_STREAM else "udp"
        else:
            proto = "other"
        detail = proto
        counts["socket"] += 1
        counts[f"socket.{proto}"] += 1
        if proto == "tcp" and c.status and c.status != "NONE":
            key = "socket.tcp." + c.status.lower()
            counts[key] = counts.get(key, 0) + 1
            detail = f"tcp {c.status.lower()}"
        entries.append(FdEntry(c.fd, "socket", "socket", detail))
    counts["unclassified"] = max(0, total - len(entries))
    return Census(
        pid=pid,
        total=total,
        counts=counts,
        entries=tuple(sorted(entries)),
        unseen=PSUTIL_UNSEEN,
        source="psutil",
    )


def census(pid: int | None = None) -> Census:
    """Take a census of ``pid`` (default: this process).

    On Linux the FD table is read from ``/proc/PID/fd``; the census's own directory FD is left
    out, so ``census().total`` equals the FDs the program itself holds. Elsewhere psutil supplies
    the total, the named files and the sockets, and ``unseen`` lists the rest.

    Raises :class:`ProcessNotFound` or :class:`ProcessAccessDenied` (both :class:`CensusError`).
    """
    me = os.getpid()
    target = me if pid is None else int(pid)
    if os.path.isdir(f"/proc/{me}/fd"):
        return _census_proc(target, is_self=target == me)
    return _census_psutil(target)
