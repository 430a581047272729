"""The release matrix page: generated from cached results, and History links its releases."""

from __future__ import annotations

import re

from conftest import ROOT
from leaklab.ldr_check import CHECK_IDS
from leaklab.ldr_matrix import render_sections
from leaklab.ldr_releases import FIXES, LADDER, MATRIX_RELEASES, NEWEST


def _section(markdown: str, anchor: str) -> str:
    start = markdown.index(f"{{#{anchor}}}")
    end = markdown.find("\n## ", start)
    return markdown[start : end if end != -1 else None]


def test_matrix_covers_both_sides_of_every_fix_and_the_newest() -> None:
    for fix in FIXES:
        assert {fix.before, fix.after} <= set(MATRIX_RELEASES)
        assert set(fix.checks) <= set(CHECK_IDS)
    assert NEWEST in MATRIX_RELEASES and LADDER[-1] == NEWEST


def test_history_waves_link_the_first_release_with_their_fix() -> None:
    history = (ROOT / "docs" / "history.md").read_text()
    for fix in FIXES:
        page, _, anchor = fix.page.partition("#")
        if page != "history.md":
            continue
        section = _section(history, anchor)
        assert f"[{fix.after}](ldr-matrix.md#{fix.anchor})" in section, anchor
        assert f"{fix.before} is the last without it" in section, anchor


def test_page_sections_render_without_measuring() -> None:
    page = (ROOT / "docs" / "ldr-matrix.md").read_text()
    sections = render_sections(run_missing=False)
    for marker, text in sections.items():
        assert marker in page
        assert "<!--" not in text
    rows = [ln for ln in sections["<!-- ldr-matrix -->"].splitlines() if ln.startswith("| 1.")]
    assert [r.split("|")[1].strip() for r in rows] == list(MATRIX_RELEASES)
    assert all(len(r.split("|")) == len(CHECK_IDS) + 4 for r in rows)
    for fix in FIXES:
        assert re.search(rf"\{{#{fix.anchor}\}}", sections["<!-- ldr-fixes -->"])
