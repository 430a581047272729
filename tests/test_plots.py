"""The leak-and-fix figure: two panels, shared y-range, theme-neutral colours."""

from __future__ import annotations

import io
import os
import select

from leaklab import measure
from leaklab.plots import COLOURS, default_keys, plot_leak_and_fix


def _pair():
    held: list[select.epoll] = []
    leak = measure(lambda: held.append(select.epoll()), cycles=6, warmup=0, between=None)
    fix = measure(lambda: select.epoll().close(), cycles=6, warmup=0, between=None)
    for ep in held:
        ep.close()
    return leak, fix


def test_figure_has_leak_and_fix_panels_with_the_same_y_range() -> None:
    leak, fix = _pair()
    assert default_keys(leak, fix) == ["eventpoll"]
    fig = plot_leak_and_fix(leak, fix, title="eventpoll per cycle")
    left, right = fig.axes
    assert (left.get_title(loc="left"), right.get_title(loc="left")) == ("leak", "fix")
    assert left.get_ylim() == right.get_ylim()
    assert left.get_ylim()[1] >= 6
    (leak_line,) = left.get_lines()
    (fix_line,) = right.get_lines()
    assert list(leak_line.get_ydata()) == [0, 1, 2, 3, 4, 5, 6]
    assert set(fix_line.get_ydata()) == {0}
    assert leak_line.get_color() == COLOURS[0]
    assert fig.patch.get_alpha() == 0.0
    assert tuple(fig.get_size_inches()) == (9.0, 3.2)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    assert buf.getvalue().startswith(b"\x89PNG")


def test_explicit_keys_and_all_flat_fallback() -> None:
    calm = measure(lambda: os.close(os.dup(0)), cycles=3, warmup=0, between=None)
    assert default_keys(calm, calm) == ["total"]
    fig = plot_leak_and_fix(calm, calm, keys=["pipe", "socket.tcp", "dev"])
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 3]
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["pipe (flat)", "socket.tcp (flat)", "dev (flat)"]


def test_figure_displays_as_png_in_jupyter():
    """Notebooks show the returned figure as an image, not as '<Figure size ...>' text."""
    import gc
    import os

    from leaklab import measure
    from leaklab.plots import plot_leak_and_fix

    held: list[tuple[int, int]] = []
    try:
        leak = measure(lambda: held.append(os.pipe()), cycles=3, between=gc.collect)
        fix = measure(lambda: None, cycles=3, between=gc.collect)
        png = plot_leak_and_fix(leak, fix)._repr_png_()
    finally:
        for read_end, write_end in held:
            os.close(read_end)
            os.close(write_end)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000
