"""Fill the "LDR releases" page with the release x check matrix measured by ``leaklab``.

The page holds markers (``<!-- ldr-matrix -->`` and others); :mod:`leaklab.ldr_matrix`
renders each from cached ``ldr-check`` results. When the build executes notebooks it also
measures what is not cached yet; otherwise (``HANDBOOK_EXECUTE=false``, the first pass of
``make serve``) it shows what is cached and says what is missing.
"""

from __future__ import annotations

PAGE = "ldr-matrix.md"


def _executing(config) -> bool:
    plugin = config["plugins"].get("mkdocs-jupyter")
    return bool(plugin is not None and plugin.config.get("execute"))


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    from leaklab.ldr_matrix import render_sections

    for marker, text in render_sections(run_missing=_executing(config)).items():
        markdown = markdown.replace(marker, text)
    return markdown
