"""Static checks on the stored notebooks that executing them cannot see."""

from __future__ import annotations

import ast
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


def _parsed_cells(path):
    """Each code cell as a Python AST (IPython magics and shell lines left out)."""
    for source in code_cells(path):
        kept = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
        yield ast.parse("\n".join(kept), filename=path.name)


def _reads_source(node: ast.AST) -> bool:
    """True for ``inspect.getsource(...)``-like calls and ``Path('x.py').read_text()``."""
    for sub in ast.walk(node):
        if not isinstance(sub, ast.Call):
            continue
        name = getattr(sub.func, "attr", getattr(sub.func, "id", ""))
        if name in {"getsource", "getsourcelines"}:
            return True
        if name in {"read_text", "read"} and ".py" in ast.unparse(sub.func):
            return True
    return False


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_reference_code_is_not_printed_as_text(path):
    """Printed source is unhighlighted and wraps mid-word: use leaklab.source.show_source."""
    for tree in _parsed_cells(path):
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "print":
                assert not _reads_source(node), f"prints source code: {ast.unparse(node)}"
        last = tree.body[-1] if tree.body else None
        if isinstance(last, ast.Expr):  # a cell's last value is displayed as its repr
            assert not (
                isinstance(last.value, ast.Call)
                and getattr(last.value.func, "attr", "") in {"getsource", "read_text"}
            ), f"shows source as a string: {ast.unparse(last)}"


def test_no_helper_is_defined_in_two_notebooks():
    """Shared plumbing lives in the kit (leaklab), once, with tests; not copied per notebook."""
    where: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for tree in _parsed_cells(path):
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    where.setdefault(node.name, set()).add(path.stem)
    shared = {name: sorted(stems) for name, stems in where.items() if len(stems) > 1}
    assert shared == {}, f"defined in several notebooks (move to snippets/leaklab): {shared}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_markdown_line_starts_with_a_pr_number(path):
    """``#3818 (...`` at the start of a line is a heading to the notebook renderer."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] != "markdown":
            continue
        in_fence = False
        for line in "".join(cell["source"]).splitlines():
            if line.lstrip().startswith(("```", "~~~")):
                in_fence = not in_fence
            assert in_fence or not re.match(r"\s*#+\d", line), f"stray heading: {line!r}"
