"""Static checks on the stored notebooks that nbval's execution cannot see."""

from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def code_cells(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_figures_are_shown_as_images(path):
    """A bare matplotlib Figure prints as '<Figure size ...>' text, and ';' hides a plot."""
    for source in code_cells(path):
        assert "from matplotlib.figure import Figure" not in source, "use leaklab.plots.new_figure"
        if re.search(r"^plot_leak_and_fix\(", source, re.M):
            assert not source.rstrip().endswith(";"), "a trailing ';' hides the plot"
