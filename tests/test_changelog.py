"""News fragments: every name parses, and towncrier renders every one of them."""

import subprocess

import pytest
from conftest import ROOT, tool
from fragments import fragment_name_error, fragment_types, invalid_fragments

TYPES = fragment_types(ROOT / "pyproject.toml")


def test_every_fragment_name_is_valid():
    assert invalid_fragments(ROOT / "changelog.d", TYPES) == []


@pytest.mark.parametrize(
    "name", ["4.feature.md", "+playbook-typo.doc.md", "12.bugfix.2.md", "7.misc.md"]
)
def test_valid_names_pass(name):
    assert fragment_name_error(name, TYPES) is None


@pytest.mark.parametrize(
    "name",
    ["4.feat.md", "4.feature.txt", "feature.md", "+Bad_Slug.doc.md", "0.doc.md", "4.md"],
)
def test_misnamed_fragments_fail(name):
    assert fragment_name_error(name, TYPES) is not None


def test_misnamed_fragment_on_disk_is_reported(tmp_path):
    (tmp_path / "4.feature.md").write_text("ok\n")
    (tmp_path / "5.feat.md").write_text("typo in the type\n")
    (tmp_path / "6.doc.md").write_text("   \n")
    errors = invalid_fragments(tmp_path, TYPES)
    assert [e.split(":")[0] for e in errors] == ["5.feat.md", "6.doc.md"]


def test_towncrier_draft_contains_every_fragment():
    result = subprocess.run(
        [tool("towncrier"), "build", "--draft", "--version", "0.0.0"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for path in (ROOT / "changelog.d").glob("*.md"):
        if path.name == "README.md" or ".misc." in path.name:
            continue
        first_words = " ".join(path.read_text(encoding="utf-8").split()[:6])
        assert first_words in " ".join(result.stdout.split()), path.name
