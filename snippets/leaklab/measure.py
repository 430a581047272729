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

Collecting between cycles
-------------------------
By default :func:`measure` runs ``gc.collect()`` after every cycle, so an FD held only by
cyclic garbage is released before the census and the cycle looks FLAT. A production process
has no such collection: objects in reference cycles keep their FDs until the collector's
thresholds happen to trigger it. A dropped, unclosed ``selectors.EpollSelector`` is such an
object (it and its ``_SelectorMapping`` refer to each other). ``gc="off"`` measures with the
cyclic collector disabled, so everything that waits for it shows up, and
:func:`measure_gc_modes` measures both ways for a notebook to show side by side.

Keys are checked: a key that is neither a census key (:data:`leaklab.census.CATEGORIES`, the
socket kinds, ``socket.tcp.<state>``, ``total``, ``unclassified``) nor one any census reported
raises :class:`KeyError`, so ``assert_flat(m, "evenpoll")`` cannot pass on a typo.
"""

from __future__ import annotations

import difflib
import gc as _gc
import itertools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from .census import CATEGORIES, SOCKET_KINDS, TCP_STATES, Census, census

__all__ = [
    "KNOWN_KEYS",
    "GcComparison",
    "Measurement",
    "Verdict",
    "assert_flat",
    "assert_leaks",
    "judge",
    "measure",
    "measure_gc_modes",
]

#: Every key a census can report, whether or not this run saw one (``socket.tcp.<state>`` too).
KNOWN_KEYS: frozenset[str] = frozenset(
    {"total", "unclassified", *CATEGORIES, *SOCKET_KINDS}
    | {f"socket.tcp.{state}" for state in TCP_STATES.values()}
)

#: How the cyclic garbage collector is treated during a :func:`measure` run.
GcMode = Literal["on", "off"]

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
    #: What ran between cycles and whether the cyclic collector was on, e.g. "gc.collect()".
    collection: str = "gc.collect() between cycles"
    series: dict[str, list[int]] = field(init=False)

    def __post_init__(self) -> None:
        keys = list(dict.fromkeys(["total", *(k for c in self.censuses for k in c.counts)]))
        object.__setattr__(self, "series", {k: [c[k] for c in self.censuses] for k in keys})

    def _series(self, key: str) -> list[int]:
        """The series of ``key``; zeros for a known key no census saw, KeyError for a typo."""
        if key in self.series:
            return self.series[key]
        if key in KNOWN_KEYS:
            return [0] * (self.cycles + 1)
        close = difflib.get_close_matches(key, sorted(KNOWN_KEYS | set(self.series)), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise KeyError(f"unknown FD key {key!r}{hint}")

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


@contextmanager
def _collector(mode: GcMode) -> Iterator[None]:
    """Run the body with the cyclic collector on or off, restoring its previous state."""
    if mode not in ("on", "off"):
        raise ValueError(f"gc must be 'on' or 'off', got {mode!r}")
    was_enabled = _gc.isenabled()
    if mode == "off":
        _gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            _gc.enable()


def _describe_collection(between: Callable[[], object] | None, mode: GcMode) -> str:
    if between is _gc.collect:
        ran = "gc.collect() between cycles"
    elif between is None:
        ran = "no collection between cycles"
    else:
        ran = f"{getattr(between, '__name__', 'a callable')}() between cycles"
    return ran + (", cyclic GC off" if mode == "off" else "")


def measure(
    cycle: Callable[[], object],
    cycles: int = 10,
    warmup: int = 1,
    between: Callable[[], object] | None = _gc.collect,
    pid: int | None = None,
    slack: int = 0,
    gc: GcMode = "on",
) -> Measurement:
    """Run ``cycle`` ``warmup`` times unmeasured, then ``cycles`` times with a census after each.

    ``between`` runs after every cycle and before the baseline (default ``gc.collect``, so FDs
    owned by unreachable objects are released before counting; ``None`` skips it). ``gc="off"``
    disables the cyclic collector for the run (warm-up included, restored afterwards), so FDs
    that only a collection would release accumulate as they do between a production process's
    collections; pair it with ``between=None``, or use :func:`measure_gc_modes`. ``pid``
    measures another process, for example a server the cycle talks to. ``slack`` is the default
    for :meth:`Measurement.verdict`.
    """
    if cycles < 1:
        raise ValueError("cycles must be >= 1")
    start = time.perf_counter()
    with _collector(gc):
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
        collection=_describe_collection(between, gc),
    )


@dataclass(frozen=True)
class GcComparison:
    """The same cycle measured with ``gc.collect()`` between cycles and with the collector off.

    ``deferred(key)`` is how many FDs of ``key`` waited for the cyclic collector: the growth
    without collection minus the growth with it.
    """

    collected: Measurement
    uncollected: Measurement

    def deferred(self, key: str) -> int:
        return self.uncollected.growth(key) - self.collected.growth(key)

    def rows(self, keys: Sequence[str]) -> list[dict[str, object]]:
        """One row per key and mode, for printing or a DataFrame-free table."""
        return [
            {
                "key": key,
                "mode": m.collection,
                "growth": m.growth(key),
                "verdict": m.verdict(key).value,
            }
            for key in keys
            for m in (self.uncollected, self.collected)
        ]


def measure_gc_modes(cycle: Callable[[], object], **kwargs: object) -> GcComparison:
    """:func:`measure` twice: cyclic GC off and nothing between cycles, then ``gc.collect()``.

    Keyword arguments go to both runs (``cycles``, ``warmup``, ``pid``, ``slack``). The run
    without collection comes first, so whatever it leaves for the collector is collected
    before the second run's baseline.
    """
    for name in ("between", "gc"):
        if name in kwargs:
            raise TypeError(f"measure_gc_modes() sets {name!r} itself")
    uncollected = measure(cycle, between=None, gc="off", **kwargs)  # type: ignore[arg-type]
    collected = measure(cycle, between=_gc.collect, gc="on", **kwargs)  # type: ignore[arg-type]
    return GcComparison(collected=collected, uncollected=uncollected)


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
