"""``leaklab watch``: sample a live process over time and judge the growth of each FD type.

One snapshot shows a level; a leak is a slope. Round 8's pidfds sat at about 29 and grew by
about 3.6 per hour, which only a series of censuses shows. This module takes ``samples``
censuses ``every`` seconds apart, reports each type's change per hour, and applies the kit's
verdict rule (:func:`leaklab.measure.judge`, the rule the notebooks use) to each series: a type
with a lookup row whose series is a LEAK makes ``leaklab watch`` exit 1.

Progress goes to stderr: one rewritten line on a terminal, one plain line per sample otherwise,
so a log file or CI output stays readable. Ctrl-C stops early and reports what was sampled.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from .census import CATEGORIES, Census, census
from .lookup import row_for
from .measure import Verdict, judge

__all__ = ["Watch", "plot", "render_text", "sample"]


@dataclass(frozen=True)
class Watch:
    pid: int
    times: tuple[float, ...]  # seconds since the first sample
    censuses: tuple[Census, ...]

    @property
    def keys(self) -> list[str]:
        """Categories non-zero in at least one sample, in census order."""
        return [k for k in (*CATEGORIES, "unclassified") if any(c[k] for c in self.censuses)]

    def series(self, key: str) -> list[int]:
        return [c[key] for c in self.censuses]

    def per_hour(self, key: str) -> float:
        span = self.times[-1] - self.times[0]
        s = self.series(key)
        return (s[-1] - s[0]) / span * 3600 if span > 0 else 0.0

    def verdict(self, key: str) -> Verdict:
        return judge(self.series(key))

    @property
    def suspects(self) -> list[str]:
        """Types with a lookup row (and a leak threshold) whose series is a LEAK."""
        return [
            k
            for k in self.keys
            if (row := row_for(k))
            and row.suspect_at is not None
            and self.verdict(k) is Verdict.LEAK
        ]


def _progress_line(i: int, n: int, c: Census, first: Census) -> str:
    moved = sorted(((k, c[k] - first[k]) for k in CATEGORIES if c[k] != first[k]), key=str)
    change = ", ".join(f"{k} {d:+d}" for k, d in moved) or "no change"
    return f"[{i}/{n}] {c.total} FDs ({change})"


def sample(
    pid: int,
    every: float,
    samples: int,
    stream: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Watch:
    """Take ``samples`` censuses of ``pid``, ``every`` seconds apart, showing progress."""
    out = stream if stream is not None else sys.stderr
    tty = out.isatty()
    start = time.monotonic()
    times: list[float] = []
    taken: list[Census] = []
    try:
        for i in range(1, samples + 1):
            if i > 1:
                sleep(max(0.0, start + (i - 1) * every - time.monotonic()))
            taken.append(census(pid))
            times.append(time.monotonic() - start)
            line = _progress_line(i, samples, taken[-1], taken[0])
            if tty:
                out.write("\r\x1b[2K" + line)
            else:
                out.write(line + "\n")
            out.flush()
    except KeyboardInterrupt:
        out.write("\ninterrupted; reporting the samples taken so far\n")
    finally:
        if tty:
            out.write("\n")
            out.flush()
    return Watch(pid, tuple(times), tuple(taken))


def render_text(w: Watch) -> str:
    span = w.times[-1] - w.times[0]
    lines = [
        f"Watched PID {w.pid}: {len(w.censuses)} samples over {span:.1f} s",
        f"{'category':<12}  {'first':>7}  {'last':>7}  {'change':>7}  {'per hour':>10}  verdict",
    ]
    for key in [*w.keys, "total"]:
        s = w.series(key)
        lines.append(
            f"{key:<12}  {s[0]:7d}  {s[-1]:7d}  {s[-1] - s[0]:+7d}  {w.per_hour(key):+10.1f}"
            f"  {w.verdict(key).value}"
        )
    if w.suspects:
        verb = "grows" if len(w.suspects) == 1 else "grow"
        lines.append(f"Verdict: LEAK SUSPECTED ({', '.join(w.suspects)} {verb} steadily)")
    else:
        lines.append("Verdict: no leak suspected (no known leak type grows steadily)")
    return "\n".join(lines) + "\n"


def plot(w: Watch, path: str) -> None:
    """Draw each moving type relative to its first sample; matplotlib is imported only here."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 3.5), layout="constrained")
    ax = fig.add_subplot()
    minutes = [t / 60 for t in w.times]
    keys = [k for k in w.keys if len(set(w.series(k))) > 1] or w.keys[:1]
    for key in keys:
        s = w.series(key)
        ax.plot(
            minutes, [v - s[0] for v in s], marker="o", label=f"{key} ({w.per_hour(key):+.0f}/h)"
        )
    ax.set_xlabel("minutes since first sample")
    ax.set_ylabel("FDs relative to first sample")
    ax.set_title(f"PID {w.pid}: FD growth by type")
    ax.legend(loc="upper left", fontsize="small")
    fig.savefig(path, dpi=100)
