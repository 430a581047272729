"""Show on the pages the figures the notebooks recorded, never numbers typed by hand.

A page writes ``[[fig:<notebook>.<name>]]`` where a measured number belongs, and
``[[ran-on:<notebook>]]`` where it says what a measurement ran on. Notebooks record the values
with ``leaklab.record()`` while they execute (``leaklab.figures``); this hook puts each value in
place, linked to the notebook that measured it, with CPython, kernel and date in its tooltip.

Within one build MkDocs renders the Markdown pages before the notebook pages, and notebooks
execute as their pages render, so a page may be rendered before a figure of this run exists.
Such pages are rendered again after the build. A figure still missing then is a warning, which
fails the strict build, when its notebook ran in this build and did not record it; when the
notebook did not run (outputs from the cache, or ``execute: false``), the page says the figure
was not measured in this build rather than show a number from nowhere.
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
    notebook = PLACEHOLDER.match(reference)["ref"].split(".", 1)[0]
    return any(f.notebook == notebook and f.when >= since for f in figures.values())


def on_pre_build(config) -> None:
    global _build_started
    _build_started = datetime.now(UTC).replace(microsecond=0)


def on_page_content(content: str, page, config, files) -> str:
    if "[[" not in content:
        return content
    rendered, missing = render(content, load(), page.url)
    if missing:
        _pending[page.file.abs_dest_path] = page.url
    return rendered


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
