"""One lookup table: the playbook's Markdown, the CLI's rows and the paste box's JSON agree."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys

import pytest
from cli_helpers import DATA
from conftest import ROOT
from leaklab import lookup
from leaklab.census import CATEGORIES

JS = ROOT / "docs" / "assets" / "javascripts" / "paste-triage.js"
PLAYBOOK = ROOT / "docs" / "playbook.md"


def load_hook():
    spec = importlib.util.spec_from_file_location("leaklab_data", ROOT / "hooks/leaklab_data.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_markdown_is_the_render():
    committed = lookup.MARKDOWN_PATH.read_text(encoding="utf-8")
    assert committed == lookup.render_markdown(), "run `python -m leaklab.lookup --write`"


def test_playbook_includes_the_generated_table():
    page = PLAYBOOK.read_text(encoding="utf-8")
    assert "## FD type → likely source {#lookup-table}" in page
    assert '--8<-- "leaklab/lookup-table.md"' in page
    assert "| `anon_inode:[eventpoll]` |" not in page, "hand-written table left on the page"


def test_table_keeps_every_fact_of_the_playbook():
    md = lookup.render_markdown()
    for fact in (
        "R7A8",
        "R7A6",
        "about 3 FDs per pooled connection",
        "mmapped model weights or FAISS index",
        "`/proc/PID/net/tcp`",
        "loguru queue",
        "APScheduler",
        "`engine.dispose()`",
        "`create_engine`",
        "`Pid:`",
        "`-1`",
        "[HB-004](adr/hb-004.md)",
        "#3855",
        "#4047",
        "#3971",
        "Socket.IO",
    ):
        assert fact in md, fact


def test_rows_name_real_census_categories():
    keys = [k for row in lookup.ROWS for k in row.keys]
    assert len(keys) == len(set(keys))
    assert set(keys) <= set(CATEGORIES)


def test_hook_exports_the_cli_table(tmp_path):
    written = load_hook().write_lookup(tmp_path)
    assert written == tmp_path / "assets" / "leaklab" / "lookup.json"
    exported = json.loads(written.read_text(encoding="utf-8"))
    assert exported == lookup.export()
    by_id = {r["id"]: r for r in exported["rows"]}
    for row in lookup.ROWS:
        got = by_id[row.id]
        assert got["keys"] == list(row.keys)
        assert got["suspect_at"] == row.suspect_at
        assert got["likely_source"] == row.likely_source
        assert [f["prs"] for f in got["fixes"]] == [list(f.prs) for f in row.fixes]
        # Site-relative: the page resolves them against its own origin.
        assert not re.match(r"[a-z]+://|/", got["page_url"])
        assert all(not f["url"].startswith("/") for f in got["fixes"])
    assert exported["dominant_share"] == lookup.DOMINANT_SHARE


def test_site_urls():
    assert lookup.site_url("history.md#wave-6", "https://x.test/hb") == (
        "https://x.test/hb/history/#wave-6"
    )
    assert lookup.site_url("notebooks/event-loops.ipynb", "/") == "/notebooks/event-loops/"
    assert lookup.site_url("adr/hb-004.md", "") == "adr/hb-004/"


def test_js_has_no_absolute_url():
    text = JS.read_text(encoding="utf-8")
    assert not re.search(r"https?://", text, re.I)
    assert not re.search(r"[\"']//", text), "protocol-relative URL"
    assert "assets/leaklab/lookup.json" in text


def test_mkdocs_registers_hook_and_script():
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert "hooks/leaklab_data.py" in config
    # The paste box's script loads on the playbook only: named in its front matter, written
    # into the page by the theme override (the browser test runs the box on the built page).
    front_matter = (ROOT / "docs" / "playbook.md").read_text(encoding="utf-8").split("---")[1]
    assert "  - assets/javascripts/paste-triage.js" in front_matter
    assert "page.meta.scripts" in (ROOT / "overrides" / "main.html").read_text(encoding="utf-8")
    assert "paste-triage.js" not in config


NODE_CHECK = """
global.window = {};
global.document = {readyState: "complete", getElementById: () => null, addEventListener() {}};
require(process.argv[1]);
const fs = require("fs");
const data = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const out = process.argv.slice(3).map((f) => {
  const c = window.leaklabPaste.parseSnapshot(fs.readFileSync(f, "utf8"));
  const t = window.leaklabPaste.triage(c, data);
  return {total: c.total, counts: c.counts, leak: t.leak,
          findings: t.findings.map((x) => [x.category, x.count, x.dominant, x.suspect])};
});
console.log(JSON.stringify(out));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_js_parser_and_triage_match_python(tmp_path):
    """Optional: where node exists, the port gives the CLI's answer on every fixture."""
    from leaklab.snapshot_parse import read_snapshot
    from leaklab.triage import triage

    data = tmp_path / "lookup.json"
    data.write_text(lookup.export_json(), encoding="utf-8")
    files = [DATA / "ls-paste.txt", DATA / "host-snapshot.txt", DATA / "incident-ls.txt"]
    proc = subprocess.run(
        ["node", "-e", NODE_CHECK, str(JS), str(data), *map(str, files)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for got, path in zip(json.loads(proc.stdout), files, strict=True):
        c = read_snapshot(str(path))
        t = triage(c)
        assert got["total"] == c.total
        assert {k: v for k, v in got["counts"].items() if v} == {
            k: v for k, v in c.counts.items() if v and "." not in k
        }
        assert got["leak"] == t.leak_suspected
        want = [[f.category, f.count, f.dominant, f.suspect] for f in t.findings]
        assert got["findings"] == want


def test_committed_mechanism_table_is_the_render():
    committed = lookup.MECHANISMS_PATH.read_text(encoding="utf-8")
    assert committed == lookup.render_mechanisms(), "run `python -m leaklab.lookup --write`"


@pytest.mark.parametrize("page", ["playbook.md", "measured.md", "fingerprints.md"])
def test_pages_use_the_one_mechanism_table(page):
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    assert '--8<-- "leaklab/eventpoll-mechanisms.md"' in text, page


def test_triage_of_the_incident_names_the_exhaustion_skew_and_how_to_tell():
    out = subprocess.run(
        [sys.executable, "-m", "leaklab", "triage", "--from", str(DATA / "incident-ls.txt")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1, out.stderr
    text = out.stdout
    assert "exhaustion skew): fits this snapshot" in text
    # whole loops need two sockets per eventpoll, and the snapshot has nowhere near that
    assert "event loop never closed, still referenced: does NOT fit this snapshot" in text
    for evidence in ("grows only at the FD limit", "released by gc.collect()", "'_ssock'"):
        assert evidence in text, evidence
    assert "none is confirmed" in text


def test_mechanism_fit_is_the_socket_arithmetic():
    loop = next(m for m in lookup.EVENTPOLL_MECHANISMS if m.id == "loop-held")
    half = next(m for m in lookup.EVENTPOLL_MECHANISMS if m.id == "half-built-at-emfile")
    assert loop.fits(10, {"socket": 20}) and not loop.fits(10, {"socket": 19})
    assert half.fits(10, {})
