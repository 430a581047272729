"""The execution report page, and the same stamp on every notebook page.

The numbers on the site come from running the notebooks, so a reader needs to know which run:
when, how long it took, whether it passed, on which CPython, kernel and library versions. The
notebook runner (``hooks/notebook_runner.py``) keeps the executed copy of each notebook, and
nbclient stamps each cell of it with when it ran; this hook reads those copies (or a
``run.json`` beside one, where a runner writes it) and renders the runs as a table on the page
that holds ``[[execution-report]]``, and as a one-line stamp at the top of each notebook page,
linked to the report.
"""

from __future__ import annotations

import html
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mkdocs.utils import get_relative_url

sys.path.insert(0, str(Path(__file__).resolve().parent))

PLACEHOLDER = "[[execution-report]]"
REPORT_PAGE = "execution.md"
RUN_RECORD = "run.json"


@dataclass(frozen=True)
class Run:
    """One notebook's execution, as the runner recorded it."""

    notebook: str
    status: str
    seconds: float
    python: str
    kernel: str
    libraries: dict[str, str]
    date: str

    def libraries_text(self) -> str:
        return ", ".join(
            f"{n} {v}" for n, v in sorted(self.libraries.items(), key=lambda i: i[0].lower())
        )

    def stamp(self) -> str:
        return (
            f"Executed {self.date} in {self.seconds:.1f} s on CPython {self.python}, "
            f"{self.kernel}; {self.libraries_text()}"
        )


def read_run(path: Path) -> Run | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Run(**{field: data[field] for field in Run.__dataclass_fields__})
    except (OSError, ValueError, KeyError, TypeError):
        return None


_runs: dict[str, Run] | None = None


def runs(root: Path) -> dict[str, Run]:
    """The recorded run of every notebook's current executed copy, by notebook file stem."""
    global _runs
    if _runs is None:
        _runs = _read_runs(root)
    return _runs


def on_pre_build(config) -> None:
    global _runs
    _runs = None


def run_from_copy(copy: Path, environment: dict) -> Run | None:
    """The run that made an executed copy, from the copy itself.

    nbclient stamps every cell with when it started and finished, and the notebook with the
    kernel's language version; the kernel ran in this environment (the runner starts it with
    this interpreter), so the OS kernel and library versions are this process's. A copy exists
    only for a run in which every cell passed.
    """
    try:
        nb = json.loads(copy.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    starts, ends = [], []
    for cell in nb.get("cells", []):
        stamps = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in stamps and "shell.execute_reply" in stamps:
            starts.append(_when(stamps["iopub.execute_input"]))
            ends.append(_when(stamps["shell.execute_reply"]))
    if not starts:
        return None
    python = nb.get("metadata", {}).get("language_info", {}).get("version", "unknown")
    return Run(
        notebook=copy.stem,
        status="passed",
        seconds=(max(ends) - min(starts)).total_seconds(),
        python=python,
        kernel=environment["kernel"],
        libraries=environment["libraries"],
        date=max(ends).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC)


def _read_runs(root: Path) -> dict[str, Run]:
    try:
        from notebook_runner import NotebookRunner
    except ImportError:
        return {}
    try:
        from leaklab.figures import runtime
    except ImportError:  # a checkout without `pip install -e .`: use the source tree
        sys.path.insert(0, str(root / "snippets"))
        from leaklab.figures import runtime
    environment = runtime()
    runner = NotebookRunner(root)
    found = {}
    for notebook in runner.notebooks():
        copy = runner.cached(notebook)
        if copy is None:
            continue
        run = read_run(copy.parent / RUN_RECORD) or run_from_copy(copy, environment)
        if run:
            found[notebook.stem] = run
    return found


def report_table(notebooks: list[str], recorded: dict[str, Run]) -> str:
    """The report as a Markdown table, one row per notebook, missing runs said as such."""
    rows = [
        "| Notebook | Status | Run time | CPython | Kernel | Libraries | Executed |",
        "|---|---|--:|---|---|---|---|",
    ]
    for stem in notebooks:
        link = f"[{stem}](notebooks/{stem}.ipynb)"
        run = recorded.get(stem)
        if run is None:
            rows.append(f"| {link} | not executed in this build | | | | | |")
            continue
        rows.append(
            f"| {link} | {run.status} | {run.seconds:.1f} s | {run.python} | {run.kernel} "
            f"| {run.libraries_text()} | {run.date} |"
        )
    return "\n".join(rows)


def _root(config) -> Path:
    return Path(config["config_file_path"]).parent


def on_page_markdown(markdown: str, page, config, files) -> str:
    if PLACEHOLDER not in markdown:
        return markdown
    root = _root(config)
    notebooks = sorted(p.stem for p in (root / "notebooks").glob("*.ipynb"))
    return markdown.replace(PLACEHOLDER, report_table(notebooks, runs(root)))


def on_page_content(content: str, page, config, files) -> str:
    src = page.file.src_uri
    if not (src.startswith("notebooks/") and src.endswith(".ipynb")):
        return content
    run = runs(_root(config)).get(Path(src).stem)
    report = get_relative_url(REPORT_PAGE.replace(".md", "/"), page.url)
    text = run.stamp() if run else "Not executed in this build"
    stamp = f'<p class="run-stamp"><a href="{report}">Execution report</a>: {html.escape(text)}</p>'
    return stamp + content
