"""The site builds strictly, executes notebooks, and never reaches outside its origin."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
import stable_urls
from conftest import ROOT, quiet_env, tool
from site_checks import external_references, is_external
from site_links import crawl, resolve


def build(config_dir: Path, site_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            tool("mkdocs"),
            "build",
            "--strict",
            "-f",
            str(config_dir / "mkdocs.yml"),
            "-d",
            str(site_dir),
        ],
        cwd=config_dir,
        capture_output=True,
        text=True,
        env=quiet_env(**env),
        timeout=1500,
    )


# Building the real site waits for every notebook's executed copy (see the fixture).
pytestmark = pytest.mark.timeout(1800)


@pytest.fixture(scope="module")
def built_site(tmp_path_factory) -> Path:
    """The real site, built strictly, with the notebook outputs the notebook tests validated.

    The build takes each notebook's executed copy from the cache the notebook tests fill
    (``hooks/notebook_runner.py``), executing only what no test has executed yet; under
    pytest-xdist the other worker is executing notebooks too, so the build uses one core.
    """
    site = tmp_path_factory.mktemp("site")
    jobs = {"HANDBOOK_NOTEBOOK_JOBS": "1"} if os.environ.get("PYTEST_XDIST_WORKER") else {}
    result = build(ROOT, site, **jobs)
    assert result.returncode == 0, result.stderr[-4000:]
    return site


def test_strict_build_succeeds(built_site):
    assert (built_site / "index.html").is_file()
    assert (built_site / "search" / "search_index.json").is_file()


def test_every_notebook_is_rendered_with_its_download(built_site):
    for notebook in (ROOT / "notebooks").glob("*.ipynb"):
        page = built_site / "notebooks" / notebook.stem
        assert (page / "index.html").is_file(), notebook.name
        assert (page / notebook.name).read_bytes() == notebook.read_bytes()


def test_no_internal_link_or_anchor_is_broken(built_site):
    # Notebook outputs included: the kit's tables carry links too.
    report = crawl(built_site)
    assert report.links > 1000, report.summary()
    assert report.broken == [], report.summary()


def test_no_heading_starts_with_a_pr_number(built_site):
    report = crawl(built_site)
    assert report.stray_headings == [], report.summary()


def test_crawl_catches_a_missing_page_and_a_missing_anchor(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "index.html").write_text(
        '<h2 id="here">Here</h2><a href="a/">ok</a><a href="#here">ok</a>'
        '<a href="a/#nowhere">bad anchor</a><a href="b/">bad page</a>'
        '<a href="https://example.org/x">not ours</a>'
    )
    (tmp_path / "a" / "index.html").write_text('<h1 id="top">3818 (a PR number)</h1>')
    report = crawl(tmp_path)
    assert report.broken == [
        "index.html: a/#nowhere (no such anchor)",
        "index.html: b/ (no such file)",
    ]
    assert report.stray_headings == ["a/index.html: '3818 (a PR number)'"]


def test_kit_tables_in_notebook_output_link_from_the_notebook_page(built_site):
    # The fingerprints notebook displays this table in a cell output, which MkDocs never sees.
    from leaklab.fingerprints import load_fingerprints, render_markdown
    from leaklab.lookup import FROM_NOTEBOOK

    table = render_markdown(load_fingerprints(), site_root=FROM_NOTEBOOK)
    page = "notebooks/fd-fingerprints/index.html"
    links = re.findall(r"\]\(([^)]+)\)", table)
    assert links
    for link in links:
        target, _fragment = resolve(built_site, page, link)
        assert (built_site / target).is_file(), f"{link} from {page}"


def test_built_site_fetches_nothing_from_other_hosts(built_site):
    assert external_references(built_site) == []


def test_external_reference_check_catches_a_cdn(tmp_path):
    (tmp_path / "page.html").write_text(
        '<html><head><script src="https://cdn.example.org/x.js"></script>'
        '<link rel="stylesheet" href="//fonts.example.com/css"></head>'
        '<body><a href="https://example.org/">a link is fine</a></body></html>'
    )
    (tmp_path / "a.css").write_text("@font-face{src:url(https://fonts.example.com/f.woff2)}")
    found = external_references(tmp_path)
    assert len(found) == 3, found
    assert not is_external("/assets/x.js") and not is_external("http://127.0.0.1:8000/")


# --- a throwaway site proves what the real one relies on ------------------------------------

THROWAWAY_CONFIG = """\
site_name: throwaway
strict: true
theme: {name: material, font: false}
hooks: [hooks/notebook_mount.py, hooks/notebook_cache.py]
plugins:
  - mkdocs-jupyter:
      execute: true
      allow_errors: false
      kernel_name: python3
"""


def throwaway_site(tmp_path: Path, cells: list[str]) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text("# throwaway\n")
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "snippets").mkdir()
    (tmp_path / "hooks").mkdir()
    for hook in ("notebook_mount.py", "notebook_cache.py", "notebook_runner.py"):
        shutil.copy(ROOT / "hooks" / hook, tmp_path / "hooks")
    for name in ("conftest.py", "__init__.py"):  # the notebook tests
        shutil.copy(ROOT / "notebooks" / name, tmp_path / "notebooks")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "mkdocs.yml").write_text(THROWAWAY_CONFIG)
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_markdown_cell("# Probe")]
    nb.cells += [nbformat.v4.new_code_cell(textwrap.dedent(c)) for c in cells]
    nbformat.write(nb, tmp_path / "notebooks" / "probe.ipynb")
    return tmp_path


def test_failing_cell_fails_an_executing_build(tmp_path):
    site = throwaway_site(tmp_path, ["x = 1", "assert x == 2, 'deliberate failure'"])
    result = build(site, tmp_path / "out")
    assert result.returncode != 0
    assert "deliberate failure" in result.stdout + result.stderr


def notebook_test(site: Path) -> subprocess.CompletedProcess[str]:
    """The project's notebook test (conftest.py), run in a throwaway site."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "notebooks"],
        cwd=site,
        capture_output=True,
        text=True,
        env=quiet_env(),
        timeout=300,
    )


def test_failing_cell_fails_the_notebook_test(tmp_path):
    site = throwaway_site(tmp_path, ["x = 1", "assert x == 2, 'deliberate failure'"])
    result = notebook_test(site)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "deliberate failure" in result.stdout
    assert "1 failed" in result.stdout


def test_the_build_publishes_the_execution_the_test_validated(tmp_path):
    # One execution for both: the build must show the outputs of the test's run, not its own.
    site = throwaway_site(tmp_path, ["import uuid\nprint('run-' + uuid.uuid4().hex)"])
    tested = notebook_test(site)
    assert tested.returncode == 0, tested.stdout[-3000:]
    (copy,) = (site / ".cache" / "notebooks").rglob("probe.ipynb")
    run_id = re.search(r"run-[0-9a-f]{32}", copy.read_text())[0]
    result = build(site, tmp_path / "out")
    assert result.returncode == 0, result.stderr[-3000:]
    html = (tmp_path / "out/notebooks/probe/index.html").read_text()
    assert re.findall(r"run-[0-9a-f]{32}", html) == [run_id]


def test_editing_a_snippet_reexecutes_the_notebook(tmp_path):
    site = throwaway_site(tmp_path, ["import probe_value\nprint('value-' + probe_value.VALUE)"])
    (site / "snippets" / "probe.egg-info").mkdir()  # what `pip install -e .` writes
    (site / "snippets" / "probe.egg-info" / "PKG-INFO").write_text("Version: 1\n")
    module = site / "snippets" / "probe_value.py"
    env = {"PYTHONPATH": str(site / "snippets")}
    module.write_text("VALUE = 'first'\n")
    assert build(site, tmp_path / "out", **env).returncode == 0
    assert "value-first" in (tmp_path / "out/notebooks/probe/index.html").read_text()
    copies = sorted((site / ".cache" / "notebooks").rglob("probe.ipynb"))
    # An editable reinstall rewrites the egg-info: not code, so nothing runs again.
    (site / "snippets" / "probe.egg-info" / "PKG-INFO").write_text("Version: 2\n")
    assert build(site, tmp_path / "out", **env).returncode == 0
    assert sorted((site / ".cache" / "notebooks").rglob("probe.ipynb")) == copies
    module.write_text("VALUE = 'second'\n")
    assert build(site, tmp_path / "out", **env).returncode == 0
    html = (tmp_path / "out/notebooks/probe/index.html").read_text()
    assert "value-second" in html and "value-first" not in html


INLINE_STYLE = re.compile(r"<style[^>]*>(.*?)</style>", re.S)


def test_notebook_pages_link_shared_css_instead_of_inlining_it(built_site):
    pages = sorted((built_site / "notebooks").glob("*/index.html"))
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        # Only the content of each <style> block counts: mkdocs-jupyter 0.26 (the last release
        # for CPython 3.11) keeps nbconvert's small Mermaid block inline, 0.27 has none.
        inline = [len(css) for css in INLINE_STYLE.findall(html)]
        assert all(size < 4096 for size in inline), (page, inline)
        assert "assets/notebook-css/" in html, page


def test_notebook_pages_carry_glossary_tooltips(built_site):
    html = (built_site / "notebooks" / "event-loops" / "index.html").read_text(encoding="utf-8")
    assert '<abbr title="' in html


# --- references: every LDR number links, old record addresses redirect ----------------------

LDR_NUMBER = re.compile(r"(?<![\w/&#])#\d{3,5}\b|(?<![\w/-])ADR-\d{4}\b")
NOT_PLAIN = {"a", "code", "pre", "script", "style", "kbd", "textarea", "svg"}


def plain_ldr_numbers(site: Path) -> list[str]:
    """LDR PR/issue numbers and LDR record numbers shown as plain text in page content.

    Only the content of each page counts (``<article>``): the header and navigation repeat a
    page's title, which cannot hold a link.
    """
    from bs4 import BeautifulSoup

    found = []
    for page in sorted(site.rglob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for article in soup.find_all("article"):
            for text in article.find_all(string=LDR_NUMBER):
                if not any(parent.name in NOT_PLAIN for parent in text.parents):
                    found.append(f"{page.relative_to(site)}: {text.strip()[:80]!r}")
    return found


def test_no_ldr_number_is_plain_text_outside_code(built_site):
    assert plain_ldr_numbers(built_site) == []
    linked = (built_site / "history" / "index.html").read_text(encoding="utf-8")
    assert "https://github.com/LearningCircuit/local-deep-research/pull/4047" in linked


def test_plain_number_check_catches_an_unlinked_number(tmp_path):
    (tmp_path / "p.html").write_text("<article><p>see #4047</p><code>#1</code></article>")
    assert len(plain_ldr_numbers(tmp_path)) == 1


def test_old_record_addresses_redirect_to_hb_records(built_site):
    for number in range(1, 9):
        html = (built_site / "adr" / f"000{number}" / "index.html").read_text(encoding="utf-8")
        assert f'href="../hb-00{number}/"' in html, number


def test_published_addresses_still_resolve(built_site):
    gone = stable_urls.missing(built_site)
    assert not gone, stable_urls.failure_message(gone)


def test_stable_url_check_follows_redirects_and_catches_a_rename(tmp_path):
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "index.html").write_text('<h1 id="top">T</h1><h2 id="kept">K</h2>')
    (tmp_path / "old").mkdir()  # what mkdocs-redirects writes for a moved page
    (tmp_path / "old" / "index.html").write_text(
        '<meta http-equiv="refresh" content="0; url=../new/">'
    )
    assert stable_urls.published(tmp_path) == ["/new/", "/new/#kept"]
    entries = ["/new/#kept", "/old/", "/old/#kept", "/old/#renamed", "/gone/"]
    assert stable_urls.missing(tmp_path, entries) == ["/old/#renamed", "/gone/"]
    assert "redirect_maps" in stable_urls.failure_message(["/gone/"])
