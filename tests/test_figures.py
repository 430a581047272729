"""Notebooks record headline figures; pages show exactly those values, linked to the notebook."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT
from leaklab import figures

sys.path.insert(0, str(ROOT / "hooks"))

import measured_figures


@pytest.fixture
def figures_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(figures.FIGURES_ENV, str(tmp_path))
    return tmp_path


def test_record_then_load_keeps_value_and_what_it_ran_on(figures_dir):
    import leaklab

    leaklab.record("sqlite-wal-pools.full_pool_fds", 121, unit="FDs")
    figures.record("audit-lock-dicts.bytes_per_entry", 165.5)
    loaded = figures.load()
    full = loaded["sqlite-wal-pools.full_pool_fds"]
    assert (full.value, full.unit, full.notebook) == (121, "FDs", "sqlite-wal-pools")
    assert full.python == sys.version.split()[0]
    assert full.kernel.startswith("Linux") and "httpx" in full.libraries
    assert loaded["audit-lock-dicts.bytes_per_entry"].formatted() == "165.5"
    assert sorted(p.name for p in figures_dir.iterdir()) == [
        "audit-lock-dicts.bytes_per_entry.json",
        "sqlite-wal-pools.full_pool_fds.json",
    ]


@pytest.mark.parametrize("key", ["nodot", "Upper.case", "nb.bad-name", "../x.y"])
def test_keys_name_a_notebook_and_a_figure(figures_dir, key):
    with pytest.raises(ValueError, match="notebook"):
        figures.record(key, 1)


def test_only_numbers_and_strings_are_recorded(figures_dir):
    with pytest.raises(TypeError):
        figures.record("nb.flag", True)


def test_pages_show_the_recorded_value_linked_to_its_notebook(figures_dir):
    figures.record("event-loops.eventpoll_per_loop", 1)
    text = (
        "<p>A loop costs [[fig:event-loops.eventpoll_per_loop]] eventpoll."
        " [[ran-on:event-loops]]</p>"
    )
    out, missing = measured_figures.render(text, figures.load(), "measured/")
    assert missing == []
    assert '<a class="figure" href="../notebooks/event-loops/"' in out
    assert ">1</a> eventpoll" in out and "CPython " in out and "[[" not in out


def test_a_missing_figure_is_reported_not_invented(figures_dir):
    out, missing = measured_figures.render("[[fig:nb.nothing]]", figures.load(), "")
    assert missing == ["[[fig:nb.nothing]]"] and out == "[[fig:nb.nothing]]"


def test_every_placeholder_on_the_pages_names_an_existing_notebook():
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.ipynb")}
    for page in (ROOT / "docs").rglob("*.md"):
        for match in measured_figures.PLACEHOLDER.finditer(page.read_text(encoding="utf-8")):
            notebook = match["ref"].split(".", 1)[0]
            assert notebook in notebooks, f"{page.name}: {match.group(0)}"


def test_a_notebook_that_ran_without_recording_a_figure_fails_the_build(figures_dir):
    from datetime import UTC, datetime, timedelta

    before = datetime.now(UTC) - timedelta(seconds=2)
    figures.record("event-loops.eventpoll_per_loop", 1)
    loaded = figures.load()
    assert measured_figures.ran_in_this_build("[[fig:event-loops.other]]", loaded, before)
    assert not measured_figures.ran_in_this_build("[[ran-on:sqlite-wal-pools]]", loaded, before)
    later = datetime.now(UTC) + timedelta(seconds=5)
    assert not measured_figures.ran_in_this_build("[[fig:event-loops.other]]", loaded, later)
