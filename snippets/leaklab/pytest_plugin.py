"""pytest plugin entry point for leaklab: the ``fd_canary`` fixture and the ``fd_canary`` marker.

Installed with the handbook (entry point ``pytest11: leaklab``). The per-test check (the marker,
``--fd-leaks``, ``--fd-leaks-trace``) lives in :mod:`leaklab.pytest_fd_leaks`, one file with no
dependency beyond pytest and the standard library so that a project can copy it; it is
re-exported here so that pytest finds its hooks through this entry point. The cycle fixture
below needs ``leaklab/census.py`` and ``leaklab/measure.py`` too.
"""

from __future__ import annotations

import gc as gc_module
from collections.abc import Callable, Sequence

import pytest

from .measure import GcMode, Measurement, Verdict, measure
from .pytest_fd_leaks import pytest_addoption, pytest_configure

__all__ = ["CANARY_KEYS", "fd_canary", "pytest_addoption", "pytest_configure"]

# --8<-- [start:fd_canary]
#: Event loops, child watchers, HTTP connections and subprocess pipes: LDR's usual suspects.
CANARY_KEYS = ("eventpoll", "pidfd", "socket", "pipe")


@pytest.fixture
def fd_canary() -> Callable[..., Measurement]:
    """Run a cycle repeatedly and fail unless each watched FD type stays flat.

    Usage::

        def test_close_releases_the_client(fd_canary):
            fd_canary(lambda: close_after_use(make_client()))

    Watching types instead of the total means slack 0 works: the test runner's own FDs move
    other types, not the ones the cycle is about. ``gc="off"`` runs without any collection, so
    FDs that only the cyclic collector would release (a dropped, unclosed selector) fail it.
    """

    def run(
        cycle: Callable[[], object],
        cycles: int = 20,
        warmup: int = 1,
        keys: Sequence[str] = CANARY_KEYS,
        slack: int = 0,
        gc: GcMode = "on",
    ) -> Measurement:
        between = gc_module.collect if gc == "on" else None
        m = measure(cycle, cycles=cycles, warmup=warmup, slack=slack, between=between, gc=gc)
        failed = [k for k in keys if m.verdict(k) is not Verdict.FLAT]
        if failed:
            lines = "\n  ".join(m.describe(k) for k in failed)
            pytest.fail(
                f"FD canary: {len(failed)} FD type(s) not flat (slack {slack}) "
                f"after {cycles} cycles:\n  {lines}",
                pytrace=False,
            )
        return m

    return run


# --8<-- [end:fd_canary]
