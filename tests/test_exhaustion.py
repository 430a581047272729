"""leaklab.exhaustion on the running CPython: what one async call leaves at a full FD table."""

from __future__ import annotations

import pytest
from leaklab.exhaustion import SSOCK_ERROR, run_at_cap


def test_free_fds_decide_what_a_failed_async_call_leaves() -> None:
    run = run_at_cap(workload="ladder", gc="off", limit=64)
    before = {cp.state["free"]: cp for cp in run.all("ladder-before")}
    outcome = {}
    for after in run.all("ladder-after"):
        free = after.state["free"]
        outcome[free] = (after.state["outcome"], after["eventpoll"] - before[free]["eventpoll"])
    assert outcome == {
        0: ("epoll", 0),
        1: ("socketpair", 1),
        2: ("socketpair", 1),
        3: ("call", 0),
        4: ("ok", 0),
    }
    end = run.at("collected")
    assert end.state["ssock_errors"] == 3 and SSOCK_ERROR in end.state["first_unraisable"]


def test_async_calls_at_the_limit_turn_freed_sockets_into_eventpoll() -> None:
    run = run_at_cap(workload="async-call", gc="off", limit=64, rounds=20, round_every=5)
    full, end, collected = run.at("full"), run.at("before-collect"), run.at("collected")
    assert full["eventpoll"] == 0 and full.total == 64
    assert end["eventpoll"] == 20 and end["socket"] == full["socket"] - 20
    assert collected["eventpoll"] == 0 and collected.total == 44


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        run_at_cap(workload="nope")
    with pytest.raises(ValueError):
        run_at_cap(gc="sometimes")
