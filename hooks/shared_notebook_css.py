"""Serve the notebook pages' CSS once, cut down to the rules those pages use.

mkdocs-jupyter inlines about 600 kB of JupyterLab CSS into every notebook page. This hook
moves each large ``<style>`` block of a notebook page into a file under
``assets/notebook-css/`` that every page links, so a reader downloads it once; and it prunes
the file to the rules that can match something on the notebook pages (``css_prune``), which
leaves a few per cent of it.

Which rules the pages use is known only once every page is rendered, so each page links a
placeholder at first; after the build the stylesheets are pruned, named after a hash of their
content (a changed stylesheet gets a new URL, so no browser keeps a stale copy) and the
placeholders in the written pages are replaced by the real links. Pruning takes a moment, so
results are kept in ``.cache/notebook-css``.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from css_prune import classes_in, prune
from mkdocs.utils import get_relative_url
from notebook_runner import cache_dir

STYLE_BLOCK = re.compile(r"<style[^>]*>(?P<css>.*?)</style>", re.S)
INLINE_STYLE = re.compile(r"""style\s*=\s*"([^"]*)\"""")
MIN_SHARED_BYTES = 2048
CSS_DIR = "assets/notebook-css"
PLACEHOLDER = "notebook-css-placeholder:{}"

_sheets: dict[str, str] = {}  # hash of the original CSS -> the CSS
_pages: dict[str, str] = {}  # written page file -> its URL
_used: set[str] = set()
_elsewhere: list[str] = []  # small inline styles, kept on the page: their var() uses count


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def on_pre_build(config) -> None:
    _sheets.clear()
    _pages.clear()
    _used.clear()
    _elsewhere.clear()


def _share(match: re.Match[str]) -> str:
    css = match["css"]
    if len(css) < MIN_SHARED_BYTES:
        _elsewhere.append(css)
        return match.group(0)
    key = _digest(css)
    _sheets[key] = css
    return f'<link rel="stylesheet" href="{PLACEHOLDER.format(key)}">'


def on_post_page(output: str, page, config) -> str:
    if "jupyter-wrapper" not in output:
        return output
    _pages[page.file.abs_dest_path] = page.url
    _used.update(classes_in(output))
    _elsewhere.extend(INLINE_STYLE.findall(output))
    return STYLE_BLOCK.sub(_share, output)


def _pruned(css: str, root: Path, elsewhere: list[str]) -> str:
    """``prune`` with a cache keyed by everything it reads."""
    key = _digest("\0".join([css, " ".join(sorted(_used)), *sorted(elsewhere)]))
    cached = cache_dir(root) / "notebook-css" / f"{key}.css"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    result = prune(css, _used, elsewhere)
    cached.parent.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    tmp.write_text(result, encoding="utf-8")
    tmp.replace(cached)
    return result


def on_post_build(config) -> None:
    if not _sheets:
        return
    root = Path(config["config_file_path"]).parent
    site_dir = Path(config["site_dir"])
    elsewhere = list(_elsewhere)
    for sheet in config["extra_css"]:
        path = Path(config["docs_dir"]) / str(sheet)
        if path.is_file():
            elsewhere.append(path.read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for key, css in _sheets.items():
        pruned = _pruned(css, root, elsewhere)
        name = f"{CSS_DIR}/{_digest(pruned)}.css"
        target = site_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(pruned, encoding="utf-8")
        names[key] = name
    for written, url in _pages.items():
        path = Path(written)
        html = path.read_text(encoding="utf-8")
        for key, name in names.items():
            html = html.replace(PLACEHOLDER.format(key), get_relative_url(name, url))
        path.write_text(html, encoding="utf-8")
