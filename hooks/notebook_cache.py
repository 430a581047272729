"""Publish the executed notebooks that the tests validated, executing the missing ones first.

mkdocs-jupyter can execute notebooks itself, one after another, keyed on the notebook file
alone. This hook takes execution over (the plugin's own ``execute`` stays off): before any page
is rendered it asks ``notebook_runner`` for an executed copy of every notebook, which runs the
ones not cached yet in parallel, then has mkdocs-jupyter render each page from that copy. The
notebook tests use the same cache, so a build after ``make test`` executes nothing, and the
outputs on the page are the ones the tests checked. A notebook that fails fails the build
with the failing cell and its traceback.

``HANDBOOK_EXECUTE=false`` builds without executing: pages show the cached copy where there
is one and the stored notebook otherwise.

``make serve`` must answer within seconds, but executing every notebook takes minutes. So it
sets ``HANDBOOK_SERVE_WARMING=1``: until a background build has executed every notebook for
the current code (it then writes ``.cache/ready/<fingerprint>``), the served site executes
nothing; when the marker appears, the watched folder triggers a rebuild that finds every
output in the cache.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import event_priority
from notebook_runner import NotebookRunner, cache_dir, code_fingerprint

READY_ROOT = Path(".cache/ready")

_runner: NotebookRunner | None = None
_execute = True
_copies: dict[str, str] = {}  # source notebook -> executed copy, for this build
_swapped: dict[int, str] = {}  # id(page.file) -> source path, while a page renders


def on_config(config):
    global _runner, _execute
    plugin = config["plugins"].get("mkdocs-jupyter")
    if plugin is None:
        return config
    root = Path(config["config_file_path"]).parent
    plugin.config["execute"] = False  # this hook executes, through notebook_runner
    plugin.config["cache_dir"] = str(cache_dir(root) / "mkdocs-jupyter")
    _runner = NotebookRunner(root)
    _execute = os.environ.get("HANDBOOK_EXECUTE", "true").lower() not in {"false", "0", "no"}
    warming = os.environ.get("HANDBOOK_SERVE_WARMING") == "1"
    if warming and not (root / READY_ROOT / _runner.fingerprint).exists():
        _execute = False
        # No HTML cache either: after each build mkdocs-jupyter deletes every entry that build
        # did not use, which would be the pages the background build had just rendered.
        plugin.config["cache"] = False
    _runner.prune()
    return config


@event_priority(-100)  # after mkdocs-jupyter has turned the notebooks into pages
def on_files(files, config):
    _copies.clear()
    if _runner is None:
        return files
    notebooks = [Path(f.abs_src_path) for f in files if f.src_uri.endswith(".ipynb")]
    outcomes = _runner.run(notebooks, execute=_execute)
    failed = [o for o in outcomes if not o.ok and _execute]
    if failed:
        report = "\n\n".join(f"{o.notebook.name}:\n{o.error}" for o in failed)
        raise PluginError(f"{len(failed)} notebook(s) failed to execute:\n\n{report}")
    _copies.update({str(o.notebook): str(o.executed) for o in outcomes if o.ok})
    return files


@event_priority(50)  # before mkdocs-jupyter reads the notebook for this page
def on_pre_page(page, config, files):
    source = str(Path(page.file.abs_src_path).resolve()) if page.file.abs_src_path else None
    if source in _copies:
        _swapped[id(page.file)] = page.file.abs_src_path
        page.file.abs_src_path = _copies[source]
    return page


@event_priority(50)  # after rendering, before mkdocs-jupyter resolves links or copies the source
def on_page_content(html, page, config, files):
    source = _swapped.pop(id(page.file), None)
    if source is not None:
        page.file.abs_src_path = source  # the download button offers the stored notebook
    return html


if __name__ == "__main__":
    # `python hooks/notebook_cache.py --ready-file` prints the marker path for this code.
    if sys.argv[1:] != ["--ready-file"]:
        sys.exit("usage: notebook_cache.py --ready-file")
    here = Path(__file__).resolve().parent.parent
    print(here / READY_ROOT / code_fingerprint(here))
