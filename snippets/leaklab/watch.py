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

import contextlib
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from .census import CATEGORIES, Census, ProcessNotFound, census
from .lookup import row_for
from .measure import Verdict, judge
from .termsafe import printable

__all__ = ["PlotPathError", "Watch", "check_plot_path", "plot", "render_text", "sample"]


@dataclass(frozen=True)
class Watch:
    pid: int
    times: tuple[float, ...]  # seconds since the first sample
    censuses: tuple[Census, ...]  # counts only: entries are dropped as each sample is taken
    #: Seconds since the first sample at which the process was found gone, or None.
    gone_at: float | None = None
    gone_reason: str = ""
    #: True when Ctrl-C ended the series early.
    interrupted: bool = False

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


def _counts_only(c: Census) -> Census:
    """The census without its entries: 16k FDs' entries were about 2.9 MB per sample."""
    return Census(c.pid, c.total, c.counts, (), c.unseen, c.source)


def sample(
    pid: int,
    every: float,
    samples: int,
    stream: TextIO | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Watch:
    """Take ``samples`` censuses of ``pid``, ``every`` seconds apart, showing progress.

    A process that goes away mid-watch (the EMFILE crash a watch exists to catch) ends the
    series: the samples taken so far are returned with ``gone_at`` set. If even the first
    census fails, its :class:`CensusError` propagates.
    """
    out = stream if stream is not None else sys.stderr
    tty = out.isatty()
    start = time.monotonic()
    times: list[float] = []
    taken: list[Census] = []
    gone_at: float | None = None
    reason = ""
    interrupted = False
    try:
        for i in range(1, samples + 1):
            if i > 1:
                sleep(max(0.0, start + (i - 1) * every - time.monotonic()))
            try:
                c = _counts_only(census(pid))
            except ProcessNotFound as exc:
                if not taken:
                    raise
                gone_at, reason = time.monotonic() - start, exc.reason
                break
            taken.append(c)
            times.append(time.monotonic() - start)
            line = _progress_line(i, samples, taken[-1], taken[0])
            if tty:
                out.write("\r\x1b[2K" + line)
            else:
                out.write(line + "\n")
            out.flush()
    except KeyboardInterrupt:
        out.write("\ninterrupted; reporting the samples taken so far\n")
        interrupted = True
    finally:
        if tty:
            out.write("\n")
            out.flush()
    return Watch(pid, tuple(times), tuple(taken), gone_at, reason, interrupted)


def render_text(w: Watch) -> str:
    """Every sample, then each type's change and verdict, then the overall verdict."""
    span = w.times[-1] - w.times[0] if w.times else 0.0
    keys = w.keys
    lines = [f"Watched PID {w.pid}: {len(w.censuses)} samples over {span:.1f} s"]
    lines.append(f"{'sample':>6}  {'at s':>8}  {'total':>7}  " + "  ".join(keys))
    for i, (t, c) in enumerate(zip(w.times, w.censuses, strict=True), 1):
        cells = "  ".join(f"{c[k]:>{len(k)}d}" for k in keys)
        lines.append(f"{i:6d}  {t:8.1f}  {c.total:7d}  {cells}")
    if len(w.censuses) >= 2:
        lines.append(
            f"{'category':<12}  {'first':>7}  {'last':>7}  {'change':>7}  {'per hour':>10}  verdict"
        )
        for key in [*keys, "total"]:
            s = w.series(key)
            lines.append(
                f"{key:<12}  {s[0]:7d}  {s[-1]:7d}  {s[-1] - s[0]:+7d}  {w.per_hour(key):+10.1f}"
                f"  {w.verdict(key).value}"
            )
    if w.gone_at is not None:
        lines.append(
            f"PID {w.pid} went away between {w.times[-1]:.1f} s and {w.gone_at:.1f} s"
            f" ({w.gone_reason}); the verdict covers the samples before that"
        )
    if len(w.censuses) < 2:
        lines.append("Verdict: none (fewer than 2 samples: no growth to judge)")
    elif w.suspects:
        verb = "grows" if len(w.suspects) == 1 else "grow"
        lines.append(f"Verdict: LEAK SUSPECTED ({', '.join(w.suspects)} {verb} steadily)")
    else:
        lines.append("Verdict: no leak suspected (no known leak type grows steadily)")
    return "\n".join(lines) + "\n"


#: File types ``--plot`` writes; matplotlib picks the format from the extension.
PLOT_FORMATS = (".png", ".svg", ".pdf")


class PlotPathError(ValueError):
    """``--plot`` names a file that cannot or must not be written; said before sampling."""


def check_plot_path(path: str, force: bool = False) -> str:
    """The absolute path ``--plot`` will write, or :class:`PlotPathError` saying why not.

    Checked before the first sample, so a watch of an hour is not lost to a typo: a known
    extension, an existing writable folder, no symlink (never followed), and no existing file
    unless ``force`` (then only a regular file is replaced).
    """
    shown = printable(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in PLOT_FORMATS:
        raise PlotPathError(f"--plot {shown}: name a {', '.join(PLOT_FORMATS)} file")
    full = os.path.abspath(path)
    folder = os.path.dirname(full)
    if not os.path.isdir(folder):
        raise PlotPathError(f"--plot {shown}: folder {printable(folder)} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PlotPathError(f"--plot {shown}: folder {printable(folder)} is not writable")
    if os.path.islink(full):
        raise PlotPathError(f"--plot {shown}: is a symlink; symlinks are never followed")
    if os.path.lexists(full):
        if not force:
            raise PlotPathError(f"--plot {shown}: exists; add --force to replace it")
        if not os.path.isfile(full):
            raise PlotPathError(f"--plot {shown}: exists and is not a regular file")
    return full


def plot(w: Watch, path: str, force: bool = False) -> str:
    """Draw each moving type relative to its first sample; return the absolute path written.

    The figure is rendered in memory and written to a new file in the target folder, which
    then takes the final name: without ``force`` by a hard link that fails if the name exists,
    with ``force`` by rename. Either way no symlink is followed and a failed write leaves no
    partial file. matplotlib is imported only here.
    """
    import io
    import tempfile

    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    full = check_plot_path(path, force)
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
    buf = io.BytesIO()
    fig.savefig(buf, format=os.path.splitext(full)[1][1:].lower(), dpi=100)
    fd, tmp = tempfile.mkstemp(prefix=".leaklab-plot-", dir=os.path.dirname(full))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.chmod(tmp, 0o644)
        if force:
            os.replace(tmp, full)
        else:
            os.link(tmp, full)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return full
