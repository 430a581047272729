"""Show on the pages the figures the notebooks recorded, never numbers typed by hand.

A page writes ``[[fig:<notebook>.<name>]]`` where a measured number belongs, and
``[[ran-on:<notebook>]]`` where it says what a measurement ran on. Notebooks record the values
with ``leaklab.record()`` while they execute (``leaklab.figures``); this hook puts each value in
place, linked to the notebook that measured it, with CPython, kernel and date in its tooltip.

When the notebook runner (``hooks/notebook_runner.py``) executes the notebooks, each run
records into the folder of its executed copy, so a page shows the figures of exactly the run
whose outputs the notebook pages publish. A figure missing from a notebook that has an executed
copy for the current code is a warning, which fails the strict build; a notebook without one
(``HANDBOOK_EXECUTE=false`` on a cold cache) makes the page say the figure was not measured in
this build rather than show a number from nowhere. Without the runner, notebooks execute as
their pages render, after the Markdown pages: such pages are rendered again after the build,
and a figure still missing then is a warning only if its notebook recorded others during this
build.
"""

from __future__ import annotations

import html
import logging
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from mkdocs.utils import get_relative_url

try:
    from leaklab.figures import Figure, load
except ImportError:  # a checkout without `pip install -e .`: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "snippets"))
    from leaklab.figures import Figure, load

sys.path.insert(0, str(Path(__file__).resolve().parent))

#: Where the notebook runner keeps each executed copy's figures (beside the copy).
FIGURES_BESIDE_COPY = "figures"

log = logging.getLogger("mkdocs.hooks.measured_figures")
PLACEHOLDER = re.compile(r"\[\[(?P<kind>fig|ran-on):(?P<ref>[a-z0-9][a-z0-9._-]*)\]\]")
NOT_MEASURED = '<span class="figure figure--missing">not measured in this build</span>'

_pending: dict[str, str] = {}  # output file -> page url, for pages rendered before a figure
_build_started = datetime.now(UTC)


def ran_on(figure: Figure) -> str:
    libraries = ", ".join(f"{name} {version}" for name, version in sorted(figure.libraries.items()))
    when = figure.when.strftime("%Y-%m-%d %H:%M UTC")
    return f"CPython {figure.python}, {figure.kernel}, {libraries}; run of {when}"


def latest_by_notebook(figures: dict[str, Figure]) -> dict[str, Figure]:
    latest: dict[str, Figure] = {}
    for figure in figures.values():
        current = latest.get(figure.notebook)
        if current is None or figure.when > current.when:
            latest[figure.notebook] = figure
    return latest


def render(text: str, figures: dict[str, Figure], page_url: str) -> tuple[str, list[str]]:
    """Return ``text`` with every placeholder filled, and the references still missing."""
    missing: list[str] = []
    by_notebook = latest_by_notebook(figures)

    def fill(match: re.Match[str]) -> str:
        ref = match["ref"]
        if match["kind"] == "fig":
            figure = figures.get(ref)
            shown = figure.formatted() if figure else None
        else:
            figure = by_notebook.get(ref)
            shown = ran_on(figure) if figure else None
        if figure is None:
            missing.append(match.group(0))
            return match.group(0)
        href = get_relative_url(f"notebooks/{figure.notebook}/", page_url)
        title = html.escape(f"measured by {figure.notebook}: {ran_on(figure)}", quote=True)
        return f'<a class="figure" href="{href}" title="{title}">{html.escape(shown)}</a>'

    return PLACEHOLDER.sub(fill, text), missing


def ran_in_this_build(reference: str, figures: dict[str, Figure], since: datetime) -> bool:
    """Did the notebook that ``reference`` names record anything since ``since``?"""
    notebook = _notebook(reference)
    return any(f.notebook == notebook and f.when >= since for f in figures.values())


_current: tuple[dict[str, Figure], set[str]] | None = None


def current_figures(root: Path) -> tuple[dict[str, Figure], set[str]]:
    """Every figure to show, and the notebooks that have an executed copy for this code.

    A notebook's executed copy carries the figures of the run that made it; they replace
    anything recorded elsewhere (``make lab`` records into ``.cache/figures``).
    """
    global _current
    if _current is not None:
        return _current
    figures = load()
    ran: set[str] = set()
    try:
        from notebook_runner import NotebookRunner
    except ImportError:
        _current = figures, ran
        return _current
    runner = NotebookRunner(root)
    for notebook in runner.notebooks():
        copy = runner.cached(notebook)
        beside = copy.parent / FIGURES_BESIDE_COPY if copy else None
        if beside is None or not beside.is_dir():
            continue  # this runner keeps no figures beside its copies: use what was recorded
        ran.add(notebook.stem)
        figures = {k: f for k, f in figures.items() if f.notebook != notebook.stem}
        figures.update(load(beside))
    _current = figures, ran
    return _current


def on_pre_build(config) -> None:
    global _build_started, _current
    _build_started = datetime.now(UTC).replace(microsecond=0)
    _current = None


def on_page_content(content: str, page, config, files) -> str:
    if "[[" not in content:
        return content
    figures, ran = current_figures(Path(config["config_file_path"]).parent)
    rendered, missing = render(content, figures, page.url)
    if missing and ran:
        for ref in sorted(set(missing)):
            if _notebook(ref) in ran:
                log.warning("%s: its notebook ran but did not record %s", page.url or "/", ref)
        rendered = PLACEHOLDER.sub(lambda m: NOT_MEASURED, rendered)
    elif missing:
        _pending[page.file.abs_dest_path] = page.url
    return rendered


def _notebook(reference: str) -> str:
    return PLACEHOLDER.match(reference)["ref"].split(".", 1)[0]


def on_post_build(config) -> None:
    figures = load()
    for path, url in sorted(_pending.items()):
        target = Path(path)
        rendered, missing = render(target.read_text(encoding="utf-8"), figures, url)
        for ref in sorted(set(missing)):
            if ran_in_this_build(ref, figures, _build_started):
                log.warning("%s: its notebook ran but did not record %s", url or "/", ref)
            rendered = rendered.replace(ref, NOT_MEASURED)
        target.write_text(rendered, encoding="utf-8")
    _pending.clear()
