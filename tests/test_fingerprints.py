"""The committed FD fingerprint table: well-formed, and its Markdown rendering never drifts.

The measurement itself is checked by notebooks/fd-fingerprints.ipynb, which re-measures every
mechanism and compares it with fingerprints.json.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from leaklab.census import CATEGORIES, SOCKET_KINDS
from leaklab.fingerprints import (
    JSON_PATH,
    MARKDOWN_PATH,
    MECHANISMS,
    REGENERATE,
    compare,
    fit_snapshot,
    load_fingerprints,
    render_markdown,
    signature,
)

ROOT = Path(__file__).resolve().parent.parent
FIELDS = {"id", "mechanism", "delta", "once", "processes", "signature", "observed_in"}
FIELDS |= {"notebook", "page"}


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return load_fingerprints()


def test_markdown_table_matches_json(records: list[dict]) -> None:
    assert MARKDOWN_PATH.read_text(encoding="utf-8") == render_markdown(records), (
        f"{MARKDOWN_PATH.name} is stale; run "
        "`python -m leaklab.fingerprints --markdown > snippets/leaklab/fingerprints-table.md`"
    )


def test_json_lists_every_mechanism_once(records: list[dict]) -> None:
    assert [r["id"] for r in records] == [m.id for m in MECHANISMS], (
        f"{JSON_PATH.name} does not list the mechanisms of leaklab.fingerprints; run `{REGENERATE}`"
    )


def test_records_are_well_formed(records: list[dict]) -> None:
    known = set(CATEGORIES) | set(SOCKET_KINDS)
    for r in records:
        assert set(r) == FIELDS, r["id"]
        assert r["delta"], f"{r['id']}: a fingerprint with no FD is not a fingerprint"
        for key, n in (r["delta"] | r["once"]).items():
            assert key in known or key.startswith("socket.tcp."), f"{r['id']}: {key}"
            assert isinstance(n, int) and n > 0, f"{r['id']}: {key}={n}"
        assert set(r["processes"]) <= {"alive", "zombie"}, r["id"]
        assert r["signature"] == signature(r["delta"], r["once"]), r["id"]


def test_referenced_notebooks_and_pages_exist(records: list[dict]) -> None:
    for r in records:
        notebook = Path(r["notebook"])
        assert notebook.parts[0] == "notebooks" and notebook.suffix == ".ipynb", r["notebook"]
        assert (ROOT / notebook).is_file(), f"{r['id']}: {r['notebook']} does not exist"
        page, _, anchor = r["page"].partition("#")
        assert anchor, f"{r['id']}: page link {r['page']} has no anchor"
        assert (ROOT / "docs" / page).is_file(), f"{r['id']}: docs/{page} does not exist"


def test_compare_reports_drift(records: list[dict]) -> None:
    assert compare(records, records) == []
    changed = [dict(r) for r in records]
    changed[0] = dict(changed[0], delta={"eventpoll": 2})
    (problem,) = compare(changed, records)
    assert problem.startswith(records[0]["id"] + ": delta measured")


def test_fit_snapshot_prefers_eventpoll_alone() -> None:
    rows = {
        r["id"]: r
        for r in fit_snapshot({"eventpoll": 929, "pidfd": 64, "socket": 3}, load_fingerprints())
    }
    assert rows["selector"]["objects"] == 929
    assert rows["event-loop"]["objects"] == 1  # two sockets per loop; only 3 sockets seen
    assert rows["asyncio-subprocess"]["objects"] == 64
