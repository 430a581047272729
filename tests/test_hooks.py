"""The site's build hooks: glossary tooltips on notebook pages, the code fingerprint."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "hooks"))

import notebook_cache
import notebook_glossary

TERMS = {"pidfd": "a descriptor for a process", "FD": "file descriptor", "FDs": "descriptors"}


def test_terms_in_notebook_prose_get_a_tooltip():
    html = (
        '<div class="jp-RenderedMarkdown"><p>One pidfd per child, two FDs; not pidfds.</p>'
        "<p><code>pidfd</code> and <a href='#'>FD</a> stay as they are.</p></div>"
        "<div class='jp-OutputArea'><pre>pidfd</pre></div>"
    )
    out = notebook_glossary.mark_terms(html, TERMS)
    assert '<abbr title="a descriptor for a process">pidfd</abbr> per child' in out
    assert '<abbr title="descriptors">FDs</abbr>' in out
    assert "not pidfds." in out
    assert "<code>pidfd</code>" in out and ">FD</a>" in out
    assert "<pre>pidfd</pre>" in out


def test_the_glossary_file_parses():
    terms = notebook_glossary.glossary(ROOT / notebook_glossary.TERMS_FILE)
    assert len(terms) >= 20 and "eventpoll" in terms


def test_code_fingerprint_follows_snippets(tmp_path):
    (tmp_path / "snippets").mkdir()
    module = tmp_path / "snippets" / "kit.py"
    module.write_text("A = 1\n")
    first = notebook_cache.code_fingerprint(tmp_path)
    assert notebook_cache.code_fingerprint(tmp_path) == first
    module.write_text("A = 2\n")
    assert notebook_cache.code_fingerprint(tmp_path) != first


def test_changelog_page_shows_unreleased_fragments():
    import changelog_draft

    notes = changelog_draft.unreleased_notes(ROOT)
    assert notes.startswith("## Unreleased")
    assert "handbook issue 2" in notes


def test_notebook_toc_points_at_the_ids_nbconvert_wrote():
    import notebook_toc
    from mkdocs.structure.toc import AnchorLink

    html = (
        '<h1 id="anti-pattern-__del__-at-exit">Anti-pattern: <code>__del__</code> at exit'
        '<a class="anchor-link" href="#anti-pattern-__del__-at-exit">¶</a></h1>'
        '<h2 id="the-experiment">The experiment<a class="anchor-link" href="#x">¶</a></h2>'
    )
    # What mkdocs-jupyter's Markdown pass makes of the first heading: the `{#...}` it could not
    # read (the `__` turned into bold) stays in the title and the whole line is slugified.
    top = AnchorLink(
        "Anti-pattern: __del__ at exit {#anti-pattern-del-at-exit}",
        "anti-pattern-__del__-at-exit-anti-pattern-del-at-exit",
        1,
    )
    child = AnchorLink("The experiment", "the-experiment", 2)
    top.children.append(child)
    assert notebook_toc.fix_toc([top], html) == 2
    assert (top.title, top.url) == (
        "Anti-pattern: __del__ at exit",
        "#anti-pattern-__del__-at-exit",
    )
    assert (child.title, child.url) == ("The experiment", "#the-experiment")
    assert notebook_toc.fix_toc([top], html) == 0


def test_css_prune_keeps_what_the_pages_can_match():
    import css_prune

    css = (
        ":root{--used:1px;--via:var(--used);--unused:9px}"
        ".jp-Cell{margin:var(--via)}.jp-FileBrowser{color:red}"
        ".jp-Cell .jp-Dialog,.jp-Cell:not(.jp-mod-active) p{padding:0}"
        "@media print{.jp-Menu{display:none}.jp-Cell{display:block}}"
        "h1{font-weight:bold}"
    )
    used = css_prune.classes_in('<div class="jp-Cell jupyter-wrapper"><h1>x</h1></div>')
    out = css_prune.prune(css, used, elsewhere=[".x{color:var(--unused)}"])
    assert ".jp-Cell{margin:var(--via)}" in out
    assert "jp-FileBrowser" not in out and "jp-Menu" not in out and "jp-Dialog" not in out
    assert ".jp-Cell:not(.jp-mod-active) p{padding:0}" in out  # :not() requires nothing
    assert "@media print{.jp-Cell{display:block}}" in out
    assert "--used:1px" in out and "--via:var(--used)" in out  # followed through --via
    assert "--unused:9px" in out  # read by another stylesheet of the page
    assert "h1{font-weight:bold}" in out


def test_search_copy_leaves_out_outputs_and_indexes_code_by_its_names():
    import search_slim

    html = (
        "<p>Close the client with safe_close.</p>"
        '<div class="jp-Cell"><div class="jp-InputPrompt">In [1]:</div>'
        '<div class="highlight-ipynb"><pre><span class="kn">import</span> leaklab\n'
        "safe_close(client)\nrun_in_new_loop(job)\nrun_in_new_loop(job)</pre></div>"
        '<div class="clipboard-copy-txt">import leaklab</div>'
        '<div class="jp-Cell-outputWrapper"><div class="jp-OutputArea">'
        "<div><pre>socket.tcp 42 output text</pre></div></div></div></div>"
        "<p>After.</p>"
    )
    out = search_slim.for_search(html, notebook=True)
    assert "output text" not in out and "In [1]" not in out and "clipboard" not in out
    assert "<pre>leaklab safe_close client run_in_new_loop job</pre>" in out
    assert out.endswith("<p>After.</p>")  # the rest of the page is untouched


def test_figures_become_palette_pngs_of_the_same_size():
    import base64
    import io

    import compact_figures
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(6, 2.4), dpi=100)
    ax.plot(range(20), [i * i for i in range(20)], marker="o", label="leak")
    ax.plot(range(20), [5] * 20, linestyle="--", label="fix")
    ax.legend()
    raw = io.BytesIO()
    fig.savefig(raw, format="png", transparent=True)
    plt.close(fig)
    html = f'<img src="data:image/png;base64,{base64.b64encode(raw.getvalue()).decode()}">'
    out = compact_figures.compact_figures(html)
    body = base64.b64decode(out.split("base64,")[1].split('"')[0])
    assert len(body) < len(raw.getvalue())
    with Image.open(io.BytesIO(raw.getvalue())) as original, Image.open(io.BytesIO(body)) as small:
        assert small.size == original.size and small.mode == "P"
        assert small.convert("RGBA").getpixel((0, 0))[3] == 0  # transparency kept
