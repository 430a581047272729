"""Each correction is stated once, in the register, and linked from everywhere else.

The register of measured corrections (docs/measured.md) holds every difference between LDR's
account and the handbook's measurements. A page that restates one instead of linking it drifts
the day the measurement changes; these tests find restatements by their content.
"""

from __future__ import annotations

import re
from pathlib import Path

from conftest import ROOT

MARKDOWN = sorted([*(ROOT / "docs").rglob("*.md"), *(ROOT / "snippets").rglob("*.md")])

#: The async-client correction: a used, unclosed async client holds a TCP socket, not an
#: eventpoll FD. It may be stated in its register entry, on the fingerprints page (whose table
#: is the measurement) and in the lookup data, and nowhere else.
ASYNC_CLIENT = re.compile(r"AsyncClient|async (?:httpx )?client", re.I)
TCP = re.compile(r"\bTCP\b")
EVENTPOLL = re.compile(r"eventpoll|\bepoll\b", re.I)
ALLOWED = {"docs/measured.md", "docs/fingerprints.md", "snippets/leaklab/lookup-table.md"}


def paragraphs(path: Path) -> list[str]:
    """Prose paragraphs; a table row or an abbreviation line counts on its own."""
    units = []
    for block in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")):
        lines = block.strip().splitlines()
        if lines and all(line.lstrip().startswith(("|", "*[")) for line in lines):
            units.extend(lines)
        else:
            units.append(block)
    return units


def states_the_async_client_correction(paragraph: str) -> bool:
    return all(p.search(paragraph) for p in (ASYNC_CLIENT, TCP, EVENTPOLL))


def test_the_tcp_not_eventpoll_correction_is_stated_in_at_most_three_files():
    stating = {
        path.relative_to(ROOT).as_posix()
        for path in MARKDOWN
        if any(states_the_async_client_correction(p) for p in paragraphs(path))
    }
    assert stating <= ALLOWED, sorted(stating - ALLOWED)
    assert "docs/measured.md" in stating


def test_the_detector_recognises_a_restatement():
    text = "A used `httpx.AsyncClient` keeps a TCP socket, not an eventpoll."
    assert states_the_async_client_correction(text)
    assert not states_the_async_client_correction("[what an async client holds](measured.md)")


def test_measured_boxes_link_the_register():
    for path in MARKDOWN:
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r'^( *)!!! measured "[^"]*"\n((?:\1    .*\n|\n)+)', text, re.M):
            assert "measured.md#" in match[2] or path.name == "measured.md", (path.name, match[0])
        assert "Measured here" not in text, f"{path.name}: use a `measured` box"
