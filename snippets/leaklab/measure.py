"""Cycle runner and verdict: run a cycle N times, take a census after each, judge each FD type.

The verdict rule (shown on the handbook's leaklab page)
-------------------------------------------------------
For one key (a category such as ``eventpoll`` or ``socket.tcp.established``) the measurement
holds the series ``s[0..n]``: the baseline census ``s[0]`` and one census after each of the
``n`` cycles. Its steps are ``d[i] = s[i] - s[i-1]``.

* **FLAT** - every point stays within ``slack`` of the baseline: ``|s[i] - s[0]| <= slack``.
  With the default slack of 0 that means the count never moved at all.
* **LEAK** - the count grows by at least one in at least 80% of the steps
  (``count(d[i] >= 1) >= ceil(0.8 * n)``) *and* the net growth ``s[n] - s[0]`` is at least
  ``max(slack + 1, ceil(n / 2))``.
* **NOISY** - anything else: the count moved, but not like a steady leak.

Why this shape:

* CPython's ``regrtest -R`` calls a leak only when *every* tracked run grows by at least one;
  demanding growth in 80% of the steps keeps that idea but survives the one or two steps where
  a garbage collection or a pool recycle closes something at an unlucky moment.
* The net-growth floor stops a count that climbs and then falls back (a pool that fills and
  recycles, ``+1 +1 +1 +1 -4``) from being called a leak even though most steps go up.
* psleak re-baselines and retries before it calls a leak: ``warmup`` cycles run unmeasured first
  so lazy one-off allocations (a first import, a pool's first connection) land before the
  baseline; run more warmup cycles if a pool fills during the measured run.
* LDR's own FD canaries compare only the *total* count, so they need a slack for background
  noise (the source documents +2 FDs over 5-10 iterations). Per-type keys do not share that
  noise: a type the code under test never touches stays exactly flat, so slack 0 works, and a
  one-FD-per-cycle leak is a LEAK after 5-10 cycles while noise in other types cannot flip it.

A leak slower than about 0.8 FD per cycle (one FD every other cycle) comes out NOISY, not LEAK:
batch the work so one cycle leaks at least one FD, or assert FLAT, which such a leak fails.
"""

from __future__ import annotations

import gc
import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from .census import Census, census

__all__ = ["Measurement", "Verdict", "assert_flat", "assert_leaks", "judge", "measure"]

#: Share of steps that must grow by >= 1 for a LEAK verdict.
LEAK_STEP_SHARE = 0.8


class Verdict(StrEnum):
    """Outcome for one key; a ``str``, so it equals ``"leak"``, ``"flat"`` or ``"noisy"``."""

    LEAK = "leak"
    FLAT = "flat"
    NOISY = "noisy"


# --8<-- [start:judge]
def judge(series: Sequence[int], slack: int = 0) -> Verdict:
    """Apply the verdict rule of this module's docstring to one series (baseline first)."""
    if len(series) < 2:
        raise ValueError("a verdict needs a baseline and at least one measured cycle")
    base, n = series[0], len(series) - 1
    if all(abs(value - base) <= slack for value in series):
        return Verdict.FLAT
    growing_steps = sum(1 for a, b in itertools.pairwise(series) if b - a >= 1)
    steady = growing_steps >= math.ceil(LEAK_STEP_SHARE * n)
    enough = series[-1] - base >= max(slack + 1, math.ceil(n / 2))
    return Verdict.LEAK if steady and enough else Verdict.NOISY


# --8<-- [end:judge]


@dataclass(frozen=True)
class Measurement:
    """Per-key FD series of one :func:`measure` run, with verdicts.

    ``series[key]`` has ``cycles + 1`` values, baseline first, for every key any census reported.
    """

    cycles: int
    warmup: int
    pid: int
    censuses: tuple[Census, ...]
    slack: int = 0
    elapsed: float = 0.0
    series: dict[str, list[int]] = field(init=False)

    def __post_init__(self) -> None:
        keys = list(dict.fromkeys(["total", *(k for c in self.censuses for k in c.counts)]))
        object.__setattr__(self, "series", {k: [c[k] for c in self.censuses] for k in keys})

    def _series(self, key: str) -> list[int]:
        return self.series.get(key, [0] * (self.cycles + 1))

    def verdict(self, key: str, slack: int | None = None) -> Verdict:
        """Verdict for ``key`` with ``slack`` (default: the slack given to :func:`measure`)."""
        return judge(self._series(key), self.slack if slack is None else slack)

    @property
    def verdicts(self) -> dict[str, Verdict]:
        return {k: self.verdict(k) for k in self.series}

    def growth(self, key: str) -> int:
        """Last value minus baseline."""
        s = self._series(key)
        return s[-1] - s[0]

    def per_cycle(self, key: str) -> float:
        return self.growth(key) / self.cycles

    def moved(self) -> dict[str, Verdict]:
        """The keys whose verdict is not FLAT (what a plot or a report should show)."""
        return {k: v for k, v in self.verdicts.items() if v is not Verdict.FLAT}

    def describe(self, key: str) -> str:
        """One line with the series, its steps and the verdict, used in assertion messages."""
        s = self._series(key)
        steps = [b - a for a, b in itertools.pairwise(s)]
        return (
            f"{key}: {self.verdict(key).value.upper()} over {self.cycles} cycles, "
            f"growth {self.growth(key):+d} ({self.per_cycle(key):+.2f}/cycle), "
            f"series (baseline first) {s}, steps {steps}"
        )

    def summary(self) -> str:
        """One :meth:`describe` line per key that moved, or a note that everything stayed flat."""
        moved = [k for k in self.moved() if k != "total"]
        if not moved:
            return f"all FD types flat over {self.cycles} cycles (total {self.series['total'][0]})"
        return "\n".join(self.describe(k) for k in ["total", *moved])


def measure(
    cycle: Callable[[], object],
    cycles: int = 10,
    warmup: int = 1,
    between: Callable[[], object] | None = gc.collect,
    pid: int | None = None,
    slack: int = 0,
) -> Measurement:
    """Run ``cycle`` ``warmup`` times unmeasured, then ``cycles`` times with a census after each.

    ``between`` runs after every cycle and before the baseline (default ``gc.collect``, so FDs
    owned by unreachable objects are released before counting; ``None`` skips it). ``pid``
    measures another process, for example a server the cycle talks to. ``slack`` is the default
    for :meth:`Measurement.verdict`.
    """
    if cycles < 1:
        raise ValueError("cycles must be >= 1")
    start = time.perf_counter()
    for _ in range(warmup):
        cycle()
    if between is not None:
        between()
    taken = [census(pid)]
    for _ in range(cycles):
        cycle()
        if between is not None:
            between()
        taken.append(census(pid))
    return Measurement(
        cycles=cycles,
        warmup=warmup,
        pid=taken[0].pid,
        censuses=tuple(taken),
        slack=slack,
        elapsed=time.perf_counter() - start,
    )


def assert_leaks(m: Measurement, key: str, per_cycle: float = 1) -> None:
    """Assert ``key`` is a LEAK of about ``per_cycle`` FDs per cycle or more.

    "About": the growth must reach 80% of ``per_cycle * cycles``, the same allowance the verdict
    gives for steps a collection happened to cancel.
    """
    need = math.floor(LEAK_STEP_SHARE * per_cycle * m.cycles)
    verdict = m.verdict(key)
    if verdict is not Verdict.LEAK or m.growth(key) < need:
        raise AssertionError(
            f"expected {key} to leak >= {per_cycle} FD/cycle (growth >= {need}); {m.describe(key)}"
        )


def assert_flat(m: Measurement, key: str, slack: int | None = None) -> None:
    """Assert ``key`` is FLAT (within ``slack`` of the baseline at every census)."""
    if m.verdict(key, slack) is not Verdict.FLAT:
        used = m.slack if slack is None else slack
        raise AssertionError(f"expected {key} flat (slack {used}); {m.describe(key)}")
