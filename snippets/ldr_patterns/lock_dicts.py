"""Per-user lock dicts: LDR's get/pop pair (#4077) and a variant that cannot admit two holders.

LDR keeps three dicts that map a user name to a ``threading.Lock``: ``_user_init_locks``
(``database/library_init.py``), ``_user_locks`` (``database/backup/backup_service.py``) and
``_user_critical_locks`` (an attribute of ``QueueProcessorV2``). Before #4077 nothing removed
an entry, so each dict grew by one lock per user name for the life of the process.

Three sections are shown on the handbook's pages:

* ``naive``: the shape #4077 added. ``get_user_lock`` creates the lock on first use under a
  guard lock, ``pop_user_lock`` removes it under the same guard. The pop is idempotent and
  never blocks on the per-user lock, so a thread inside ``with lock:`` is not disturbed: it
  keeps its reference and releases normally. What the pop cannot do is stop the *next* caller
  from getting a brand-new lock while an old holder (or a thread already waiting on the old
  lock) is still inside the critical section.
* ``cleanup``: the close path. ``pop_per_user_locks`` calls every pop in its own
  ``try``/``except`` and logs failures at WARNING; ``close_user`` runs it *after* the ``try``
  around the database close, so a failing close still pops.
* ``safe``: ``RefCountedUserLocks``. Every user of an entry is counted under the guard before
  it waits on the lock, and an entry leaves the dict only when its count is zero. A pop while
  the entry is in use only marks it; the last thread out removes it. No caller can ever get a
  second lock for a user while the first one is held or awaited.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator

__all__ = [
    "RefCountedUserLocks",
    "close_user",
    "get_user_lock",
    "pop_per_user_locks",
    "pop_user_lock",
]

_log = logging.getLogger(__name__)

# --8<-- [start:naive]
_user_locks: dict[str, threading.Lock] = {}
_user_locks_guard = threading.Lock()


def get_user_lock(username: str) -> threading.Lock:
    """The lock of ``username``, created on first use."""
    with _user_locks_guard:
        lock = _user_locks.get(username)
        if lock is None:
            lock = _user_locks[username] = threading.Lock()
        return lock


def pop_user_lock(username: str) -> bool:
    """Forget the lock of ``username``. Idempotent; never waits for the lock itself.

    Returns True when an entry was removed. A thread that is inside ``with lock:`` keeps
    its reference and is unaffected, but the next ``get_user_lock`` creates a new lock.
    """
    with _user_locks_guard:
        return _user_locks.pop(username, None) is not None


# --8<-- [end:naive]


# --8<-- [start:cleanup]
def pop_per_user_locks(username: str, poppers: Iterable[Callable[[str], object]]) -> None:
    """Run every pop for ``username``; one failing pop must not skip the others.

    Mirrors ``connection_cleanup._pop_per_user_locks``: each call in its own try/except,
    logged at WARNING so that a dict that keeps growing shows up in the logs.
    """
    for pop in poppers:
        try:
            pop(username)
        except Exception:
            _log.warning(
                "could not pop the per-user lock of %r via %s",
                username,
                getattr(pop, "__qualname__", repr(pop)),
                exc_info=True,
            )


def close_user(
    username: str,
    close_user_database: Callable[[str], object],
    poppers: Iterable[Callable[[str], object]],
) -> None:
    """Close a user's database, then pop their lock entries whatever the close did."""
    try:
        close_user_database(username)
    except Exception:
        _log.warning("closing the database of %r failed", username, exc_info=True)
    # Outside the try above: a failing close must not leave the lock entries behind.
    pop_per_user_locks(username, poppers)


# --8<-- [end:cleanup]


# --8<-- [start:safe]
class _Entry:
    __slots__ = ("lock", "retired", "users")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.users = 0  # threads holding or waiting for ``lock``
        self.retired = False  # pop() asked for removal while the entry was in use


class RefCountedUserLocks:
    """Per-user locks whose entries can be popped without breaking mutual exclusion."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        with self._guard:
            return len(self._entries)

    def __contains__(self, username: object) -> bool:
        with self._guard:
            return username in self._entries

    def users_of(self, username: str) -> int:
        """Threads currently holding or waiting for the user's lock (0 when no entry)."""
        with self._guard:
            entry = self._entries.get(username)
            return 0 if entry is None else entry.users

    @contextlib.contextmanager
    def hold(self, username: str) -> Iterator[None]:
        """``with locks.hold(user):`` runs the block with the user's lock held."""
        with self._guard:
            entry = self._entries.get(username)
            if entry is None:
                entry = self._entries[username] = _Entry()
            entry.users += 1  # counted before waiting, so pop() can see us
        try:
            with entry.lock:
                yield
        finally:
            with self._guard:
                entry.users -= 1
                if entry.users == 0 and entry.retired:
                    self._entries.pop(username, None)

    def pop(self, username: str) -> bool:
        """Remove the user's entry now if idle, else when its last user leaves.

        Idempotent. Returns True when the entry was removed immediately.
        """
        with self._guard:
            entry = self._entries.get(username)
            if entry is None:
                return False
            if entry.users == 0:
                del self._entries[username]
                return True
            entry.retired = True
            return False


# --8<-- [end:safe]
