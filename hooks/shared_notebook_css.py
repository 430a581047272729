"""Serve the notebook pages' CSS once, as cached files, instead of inline on every page.

mkdocs-jupyter inlines about 600 kB of JupyterLab CSS into every notebook page. The
blocks are identical from page to page, so this hook moves each large ``<style>`` block
of a page into ``assets/notebook-css/<hash>.css`` and links it: a reader downloads the
CSS once for the whole site and each notebook page shrinks to its own content.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from mkdocs.utils import get_relative_url

STYLE_BLOCK = re.compile(r"<style[^>]*>(?P<css>.*?)</style>", re.S)
MIN_SHARED_BYTES = 2048
CSS_DIR = "assets/notebook-css"


def _share(match: re.Match[str], page_url: str, site_dir: Path) -> str:
    css = match["css"]
    if len(css) < MIN_SHARED_BYTES:
        return match.group(0)
    name = f"{CSS_DIR}/{hashlib.sha256(css.encode()).hexdigest()[:16]}.css"
    target = site_dir / name
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(css, encoding="utf-8")
    return f'<link rel="stylesheet" href="{get_relative_url(name, page_url)}">'


def on_post_page(output: str, page, config) -> str:
    if "jupyter-wrapper" not in output:
        return output
    site_dir = Path(config["site_dir"])
    return STYLE_BLOCK.sub(lambda m: _share(m, page.url, site_dir), output)
