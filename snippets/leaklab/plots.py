"""Leak-versus-fix figure: FD count per cycle per type, two panels side by side.

The figure is built on :class:`matplotlib.figure.Figure` directly rather than through pyplot, so
no global figure state leaks between notebook cells (and a notebook shows it exactly once when it
is the cell's value). Backgrounds are transparent and text, axes and grid are mid-grey, so one
rendered PNG reads on the site's light and dark themes alike; the line colours are the
Okabe-Ito hues that keep their contrast on white and on near-black.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from functools import cache
from io import BytesIO
from typing import TYPE_CHECKING

from .measure import Measurement, Verdict

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .census import Census

__all__ = [
    "COLOURS",
    "counts_without_font_cache",
    "default_keys",
    "new_figure",
    "plot_leak_and_fix",
]

#: Okabe-Ito hues without black and yellow (invisible on one of the two themes).
COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#0072B2")
GREY = "#8c8c8c"
MAX_KEYS = 5


def default_keys(leak: Measurement, fix: Measurement, limit: int = MAX_KEYS) -> list[str]:
    """Keys that are not FLAT in either run, most growth in the leak run first.

    ``total`` and the aggregate ``socket`` are left out when a finer key (``socket.tcp``...)
    already shows the movement; an entirely flat pair falls back to ``total``.
    """
    moved = {k for k in leak.moved()} | {k for k in fix.moved()}
    moved.discard("total")
    if any(k.startswith("socket.") for k in moved):
        moved.discard("socket")
        # a TCP state key says more than its protocol key
        for proto in ("socket.tcp",):
            if any(k.startswith(proto + ".") for k in moved):
                moved.discard(proto)
    ranked = sorted(moved, key=lambda k: (-abs(leak.growth(k)), -abs(fix.growth(k)), k))
    return ranked[:limit] or ["total"]


def _style(ax, title: str) -> None:
    ax.set_facecolor("none")
    ax.set_title(title, color=GREY, fontsize=10, loc="left")
    ax.set_xlabel("cycle", color=GREY, fontsize=9)
    ax.tick_params(colors=GREY, labelsize=8)
    for spine in ax.spines.values():
        spine.set_color(GREY)
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, color=GREY, alpha=0.25, linewidth=0.6)


def _theme_for_both_schemes(fig: Figure) -> None:
    """Grey text, ticks and spines on a transparent background: readable on light and dark.

    Applied when the figure is rendered, so figures a notebook draws itself with
    :func:`new_figure` read as well on the dark site theme as the kit's own plots.
    """
    fig.patch.set_alpha(0.0)
    for ax in fig.axes:
        ax.set_facecolor("none")
        ax.tick_params(colors=GREY)
        ax.xaxis.label.set_color(GREY)
        ax.yaxis.label.set_color(GREY)
        ax.title.set_color(GREY)
        for spine in ax.spines.values():
            spine.set_color(GREY)
        legend = ax.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_color(GREY)
    if getattr(fig, "_suptitle", None) is not None:
        fig._suptitle.set_color(GREY)


@cache
def _displayable_figure_class() -> type[Figure]:
    """A Figure that Jupyter shows as a PNG image.

    The figure is built without pyplot (no global state, no GUI backend), and a bare
    ``Figure`` has no rich display in IPython: it would print as ``<Figure size ...>``.
    ``_repr_png_`` gives it one, for every front end and for the site build alike.
    """
    from matplotlib.figure import Figure

    class DisplayFigure(Figure):
        def _repr_png_(self) -> bytes:
            _theme_for_both_schemes(self)
            buffer = BytesIO()
            self.savefig(buffer, format="png", bbox_inches="tight", transparent=True)
            return buffer.getvalue()

    return DisplayFigure


def new_figure(figsize: tuple[float, float] = (9, 3), dpi: int = 100) -> Figure:
    """An empty figure for a notebook's own chart, shown as an image like the kit's plots."""
    return _displayable_figure_class()(figsize=figsize, dpi=dpi)


def plot_leak_and_fix(
    leak: Measurement,
    fix: Measurement,
    keys: Sequence[str] | None = None,
    title: str | None = None,
) -> Figure:
    """Draw FDs relative to the baseline per cycle for ``keys``: leak left, fix right.

    Both panels share the y-range, so a flat fix is visibly flat next to the leak's slope. Each
    legend entry carries the key's verdict in that run.
    """
    from matplotlib.ticker import MaxNLocator

    keys = list(keys) if keys is not None else default_keys(leak, fix)
    fig = _displayable_figure_class()(figsize=(9, 3.2), dpi=100)
    fig.patch.set_alpha(0.0)
    axes = fig.subplots(1, 2, sharey=True)
    lo, hi = 0, 1
    for ax, (label, m) in zip(axes, (("leak", leak), ("fix", fix)), strict=True):
        _style(ax, label)
        for i, key in enumerate(keys):
            s = m.series.get(key, [0] * (m.cycles + 1))
            rel = [v - s[0] for v in s]
            lo, hi = min(lo, *rel), max(hi, *rel)
            verdict = m.verdict(key)
            ax.plot(
                range(len(rel)),
                rel,
                color=COLOURS[i % len(COLOURS)],
                marker="o",
                markersize=3,
                linewidth=1.8,
                linestyle="-" if verdict is not Verdict.FLAT else "--",
                label=f"{key} ({verdict.value})",
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        legend = ax.legend(fontsize=8, frameon=False, loc="upper left")
        for text in legend.get_texts():
            text.set_color(GREY)
    pad = max(1, round((hi - lo) * 0.08))
    axes[0].set_ylim(lo - pad, hi + pad)
    axes[0].set_ylabel("FDs vs. baseline", color=GREY, fontsize=9)
    if title:
        fig.suptitle(title, color=GREY, fontsize=11)
    fig.tight_layout()
    return fig


def counts_without_font_cache(snapshot: Census) -> Counter[str]:
    """FD counts per type, leaving out the font files matplotlib keeps open once it has drawn.

    matplotlib's font cache holds each font file it used open for the life of the process: a
    cache, not a leak, and opened by the plot rather than by the code under test. A notebook's
    clean-up cell compares these counts at its end and at its start.
    """
    return Counter(e.category for e in snapshot.entries if "/matplotlib/" not in e.target)
