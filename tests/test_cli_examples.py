"""The outputs shown on the pages are what the tool prints today (PIDs and timings aside)."""

from __future__ import annotations

import re
import sys

import pytest
from conftest import ROOT
from leaklab.make_examples import generate

EXAMPLES = ROOT / "snippets" / "leaklab" / "examples"
NAMES = ("census.txt", "pidfds.txt", "triage.txt", "diff.txt", "watch.txt")

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs /proc")


def normalise(text: str, name: str) -> str:
    text = re.sub(r"\b(PID |pid=|leaklab \w+ |fd=|B: )\d+", r"\1N", text)
    text = re.sub(r"leaklab (diff before.json|watch) \d+", r"leaklab \1 N", text)
    if name in ("diff.txt", "watch.txt"):
        # How far a drip got depends on timing: keep the shape, the verdicts and the rows.
        text = re.sub(r"[+-]?\d+(\.\d+)?", "N", text)
        text = re.sub(r"\[N/N\].*\n", "", text)
        text = re.sub(r" +", " ", text)  # a count's digits shift its column's padding
    return text


@pytest.mark.slow
def test_examples_match_a_fresh_run(tmp_path):
    generate(tmp_path)
    for name in NAMES:
        committed = (EXAMPLES / name).read_text(encoding="utf-8")
        fresh = (tmp_path / name).read_text(encoding="utf-8")
        assert normalise(fresh, name) == normalise(committed, name), name


def test_pages_include_the_examples():
    pages = (ROOT / "docs" / "leaklab.md").read_text() + (ROOT / "docs" / "playbook.md").read_text()
    for name in NAMES:
        assert f'--8<-- "leaklab/examples/{name}"' in pages, name
