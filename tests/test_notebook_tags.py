"""Tag-based hiding of notebook set-up cells, with the mkdocs-jupyter the build runs.

mkdocs.yml's ``remove_tag_config`` hands a tag to nbconvert's TagRemovePreprocessor; a cell
with that tag shows its output but not its code. The option exists in mkdocs-jupyter 0.26
(Python 3.11) and 0.27 alike, and the plugin passes on only the first tag of each list, so a
second tag or a misspelt one in a notebook would be ignored without a word: both are checked.
"""

from __future__ import annotations

import json

import nbformat
import pytest
import yaml
from conftest import ROOT
from mkdocs_jupyter.nbconvert2 import nb2html

HIDE = "hide-input"
NBVAL_TAGS = {"nbval-skip", "nbval-ignore-output", "nbval-raises-exception", "raises-exception"}


class _Loader(yaml.SafeLoader):
    """mkdocs.yml uses !ENV and python tags; their values do not matter here."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
_Loader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def _remove_tag_config() -> dict:
    config = yaml.load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)
    plugin = next(p["mkdocs-jupyter"] for p in config["plugins"] if "mkdocs-jupyter" in p)
    return plugin["remove_tag_config"]


def test_the_build_hides_the_input_of_tagged_cells(tmp_path):
    config = _remove_tag_config()
    assert config == {"remove_input_tags": [HIDE]}
    nb = nbformat.v4.new_notebook()
    hidden = nbformat.v4.new_code_cell("SET_UP_PLUMBING = 1", metadata={"tags": [HIDE]})
    hidden.outputs = [nbformat.v4.new_output("stream", name="stdout", text="SET-UP OUTPUT\n")]
    nb.cells = [hidden, nbformat.v4.new_code_cell("the_experiment = 2")]
    path = tmp_path / "tagged.ipynb"
    nbformat.write(nb, path)
    html = nb2html(str(path), remove_tag_config=config)
    assert "SET-UP OUTPUT" in html
    assert "the_experiment" in html
    assert "SET_UP_PLUMBING" not in html


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebooks_use_only_known_tags(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        assert tags <= {HIDE} | NBVAL_TAGS, tags
        if HIDE in tags:
            assert cell["cell_type"] == "code"
