"""The handbook's decision records keep one shape, and supersessions are linked both ways.

The template (docs/adr/template.md) promises readers a fixed order of sections with stable
anchors, addenda only below the original text, and "Supersedes" / "Superseded by" links in both
records; these tests hold every record to it. They also keep the handbook's identifiers (HB-NNN)
apart from LDR's own ADR numbers, which mean other decisions.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

ADR_DIR = ROOT / "docs" / "adr"
RECORDS = sorted(ADR_DIR.glob("hb-*.md"))
TITLE = re.compile(r"^# (?P<id>HB-\d{3}): \S")
H2 = re.compile(r"^## (?P<name>[^{]+?)(?: \{#(?P<anchor>[\w-]+)\})?\s*$")
SECTIONS = [
    ("Status", "status"),
    ("Date", "date"),
    ("Source", "source"),
    ("Context", "context"),
    ("Considered options", "considered-options"),
    ("Decision", "decision"),
    ("Consequences", "consequences"),
]
ADDENDA = ("Addenda", "addenda")
DATED_ADDENDUM = re.compile(
    r"^### (?:\d{4}-\d{2}(?:-\d{2})?|Mid-\d{4}|Handbook (?:measurement|note)):"
)
SUPERSEDES = re.compile(r"Supersedes \[(HB-\d{3})\]\(hb-\d{3}\.md\)")
SUPERSEDED_BY = re.compile(r"Superseded by \[(HB-\d{3})\]\(hb-\d{3}\.md\)")


def sections(text: str) -> dict[str, str]:
    """The record's level-2 sections by name, each with its text."""
    found: dict[str, str] = {}
    current = None
    for line in text.splitlines():
        match = H2.match(line)
        if match:
            current = match["name"].strip()
            found[current] = ""
        elif current is not None:
            found[current] += line + "\n"
    return found


def supersessions(text: str) -> tuple[set[str], set[str]]:
    """(records this one supersedes, records that supersede it), from its Status section."""
    status = sections(text)["Status"]
    return set(SUPERSEDES.findall(status)), set(SUPERSEDED_BY.findall(status))


def test_there_are_records():
    assert len(RECORDS) >= 8


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_record_follows_the_template(path: Path):
    text = path.read_text(encoding="utf-8")
    title = TITLE.match(text.splitlines()[0])
    assert title, f"{path.name}: title must read '# HB-NNN: ...'"
    assert title["id"].lower() == path.stem, f"{path.name}: title number differs from file name"
    headings = [H2.match(line) for line in text.splitlines() if line.startswith("## ")]
    found = [(m["name"].strip(), m["anchor"]) for m in headings if m]
    assert found[: len(SECTIONS)] == SECTIONS, f"{path.name}: sections {found}"
    assert found[len(SECTIONS) :] in ([], [ADDENDA]), f"{path.name}: only Addenda may follow"
    body = sections(text)
    for name, _ in SECTIONS:
        assert body[name].strip(), f"{path.name}: {name} is empty"
    assert re.search(r"\b20\d\d-\d\d\b", body["Date"]), f"{path.name}: Date has no YYYY-MM"


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_addenda_stay_below_the_original_text(path: Path):
    text = path.read_text(encoding="utf-8")
    original = text.split("\n## Addenda", 1)[0]
    assert not re.search(r"^\s*(!!!|\?\?\?)", original, re.M), (
        f"{path.name}: admonitions belong in Addenda, below the original text"
    )
    assert "Measured here" not in original, f"{path.name}: measurements belong in Addenda"
    if "\n## Addenda" in text:
        addenda = text.split("\n## Addenda", 1)[1]
        headings = [line for line in addenda.splitlines() if line.startswith("### ")]
        assert headings, f"{path.name}: empty Addenda"
        for heading in headings:
            assert DATED_ADDENDUM.match(heading), f"{path.name}: addendum not dated: {heading}"
            assert re.search(r"\{#addendum-[\w-]+\}$", heading), f"{path.name}: {heading}"


def test_supersessions_are_linked_both_ways():
    links = {p.stem.upper(): supersessions(p.read_text(encoding="utf-8")) for p in RECORDS}
    pairs = 0
    for record, (supersedes, _) in links.items():
        for old in supersedes:
            assert old in links, f"{record} supersedes missing {old}"
            assert record in links[old][1], f"{old} does not say 'Superseded by {record}'"
            pairs += 1
    for record, (_, superseded_by) in links.items():
        for new in superseded_by:
            assert record in links[new][0], f"{new} does not say 'Supersedes {record}'"
        if superseded_by:
            status = sections((ADR_DIR / f"{record.lower()}.md").read_text())["Status"]
            assert status.strip().startswith("Superseded by"), record
    assert pairs >= 2


def test_no_handbook_record_borrows_an_ldr_number():
    for path in [*RECORDS, ADR_DIR / "index.md"]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("#"):
                assert "ADR-" not in line, f"{path.name}: {line}"
    nav = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    assert "ADR-" not in str(nav["nav"])


def test_old_adr_addresses_redirect():
    config = yaml.load((ROOT / "mkdocs.yml").read_text(), Loader=yaml.BaseLoader)
    redirects = next(
        p["redirects"] for p in config["plugins"] if isinstance(p, dict) and "redirects" in p
    )
    maps = redirects["redirect_maps"]
    for number in range(1, 9):
        assert maps[f"adr/000{number}.md"] == f"adr/hb-00{number}.md"
        assert (ADR_DIR / f"hb-00{number}.md").is_file()
