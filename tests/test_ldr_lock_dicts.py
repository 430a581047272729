"""Tests for ldr_patterns.lock_dicts: the #4077 pop, the close path, and the race-free variant.

Thread choreography uses ``threading.Event`` only; every wait has a bound so that a broken
implementation fails the test instead of hanging it.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator

import pytest
from ldr_patterns import lock_dicts
from ldr_patterns.lock_dicts import (
    RefCountedUserLocks,
    close_user,
    get_user_lock,
    pop_per_user_locks,
    pop_user_lock,
)

WAIT = 2.0  # upper bound for any event wait; the happy path never waits this long


@pytest.fixture
def user() -> Iterator[str]:
    name = f"test-user-{uuid.uuid4().hex}"
    yield name
    pop_user_lock(name)


def test_get_returns_the_same_lock_until_popped(user: str) -> None:
    first = get_user_lock(user)
    assert get_user_lock(user) is first
    assert pop_user_lock(user) is True
    assert user not in lock_dicts._user_locks
    assert get_user_lock(user) is not first


def test_pop_of_unknown_user_is_idempotent(user: str) -> None:
    assert pop_user_lock(user) is False
    assert pop_user_lock(user) is False
    get_user_lock(user)
    assert pop_user_lock(user) is True
    assert pop_user_lock(user) is False


def test_pop_does_not_disturb_a_holder(user: str) -> None:
    lock = get_user_lock(user)
    with lock:
        assert pop_user_lock(user) is True  # returns at once: the pop never takes `lock`
        assert lock.locked()
    assert not lock.locked()


def test_pop_runs_even_when_close_user_database_fails(
    user: str, caplog: pytest.LogCaptureFixture
) -> None:
    get_user_lock(user)

    def failing_close(name: str) -> None:
        raise OSError(f"database of {name} is locked")

    with caplog.at_level(logging.WARNING, logger=lock_dicts.__name__):
        close_user(user, failing_close, [pop_user_lock])
    assert user not in lock_dicts._user_locks
    assert any("closing the database" in r.getMessage() for r in caplog.records)


def test_one_failing_pop_does_not_skip_the_others(
    user: str, caplog: pytest.LogCaptureFixture
) -> None:
    other = RefCountedUserLocks()
    with other.hold(user):
        pass
    other.pop(user)  # idle: removed at once
    with other.hold(user):
        pass
    get_user_lock(user)

    def broken_pop(name: str) -> None:
        raise RuntimeError("queue processor not initialised")

    with caplog.at_level(logging.DEBUG, logger=lock_dicts.__name__):
        pop_per_user_locks(user, [broken_pop, pop_user_lock, other.pop])
    assert user not in lock_dicts._user_locks
    assert user not in other
    failures = [r for r in caplog.records if "could not pop" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].levelno == logging.WARNING
    assert "broken_pop" in failures[0].getMessage()


def _naive_holder(user: str, entered: threading.Event, leave: threading.Event) -> None:
    with get_user_lock(user):
        entered.set()
        leave.wait(WAIT)


def test_naive_pop_lets_a_second_holder_in(user: str) -> None:
    """The race of the #4077 shape, reproduced deterministically."""
    entered, leave = threading.Event(), threading.Event()
    first = threading.Thread(target=_naive_holder, args=(user, entered, leave))
    first.start()
    try:
        assert entered.wait(WAIT)
        pop_user_lock(user)  # e.g. the idle sweeper closes the user meanwhile
        second = get_user_lock(user)
        # A different lock, free, while the first thread is still in its critical section.
        assert second.acquire(timeout=0.2)
        second.release()
    finally:
        leave.set()
        first.join(WAIT)
    assert not first.is_alive()


def test_refcounted_pop_never_admits_two_holders(user: str) -> None:
    locks = RefCountedUserLocks()
    inside = 0
    most_inside = 0
    count_guard = threading.Lock()
    entered, leave = threading.Event(), threading.Event()
    second_done = threading.Event()

    def critical(signal: threading.Event | None) -> None:
        nonlocal inside, most_inside
        with locks.hold(user):
            with count_guard:
                inside += 1
                most_inside = max(most_inside, inside)
            if signal is not None:
                signal.set()
                leave.wait(WAIT)
            with count_guard:
                inside -= 1

    def second_caller() -> None:
        critical(None)
        second_done.set()

    first = threading.Thread(target=critical, args=(entered,))
    first.start()
    second = threading.Thread(target=second_caller)
    try:
        assert entered.wait(WAIT)
        assert locks.pop(user) is False  # in use: only marked for removal
        assert user in locks
        second.start()
        # The second caller must wait: it gets the same entry, not a fresh lock.
        assert not second_done.wait(0.2)
    finally:
        leave.set()
        first.join(WAIT)
        second.join(WAIT)
    assert second_done.is_set()
    assert most_inside == 1
    assert user not in locks  # the last thread out removed the retired entry
    assert len(locks) == 0


def test_refcounted_pop_of_unknown_or_idle_user(user: str) -> None:
    locks = RefCountedUserLocks()
    assert locks.pop(user) is False
    with locks.hold(user):
        assert user in locks
    assert user in locks  # not retired: kept for reuse
    assert locks.pop(user) is True
    assert locks.pop(user) is False
    assert len(locks) == 0


def test_refcounted_waiter_is_counted_before_it_blocks(user: str) -> None:
    """A thread already waiting on the lock keeps the entry alive across a pop."""
    locks = RefCountedUserLocks()
    entered, leave = threading.Event(), threading.Event()
    waiter_in = threading.Event()

    def holder() -> None:
        with locks.hold(user):
            entered.set()
            leave.wait(WAIT)

    def waiter() -> None:
        with locks.hold(user):
            waiter_in.set()

    t1 = threading.Thread(target=holder)
    t1.start()
    assert entered.wait(WAIT)
    t2 = threading.Thread(target=waiter)
    t2.start()
    try:
        # Wait until the waiter is registered on the entry (bounded polling on an event).
        for _ in range(400):
            if locks.users_of(user) == 2:
                break
            waiter_in.wait(0.005)
        assert locks.users_of(user) == 2
        assert locks.pop(user) is False
        assert user in locks  # still there for the waiter and any later caller
        assert not waiter_in.is_set()
    finally:
        leave.set()
        t1.join(WAIT)
        t2.join(WAIT)
    assert waiter_in.is_set()
    assert user not in locks
