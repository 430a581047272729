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
        "safe_close(client)  # closes it\nrun_in_new_loop(job)\nrun_in_new_loop(job)\n"
        "ChatOllama(model=MODEL).close()\nwait(4047, 7)</pre></div>"
        '<div class="clipboard-copy-txt">import leaklab</div>'
        '<div class="jp-Cell-outputWrapper"><div class="jp-OutputArea">'
        "<div><pre>socket.tcp 42 output text</pre></div></div></div></div>"
        "<p>After.</p>"
    )
    out = search_slim.for_search(html, notebook=True)
    assert "output text" not in out and "In [1]" not in out and "clipboard" not in out
    # code terms once each; plain words (leaklab, client, job, wait) and comments left out
    assert "<pre>safe_close run_in_new_loop ChatOllama MODEL 4047</pre>" in out
    assert out.endswith("<p>After.</p>")  # the rest of the page is untouched


def test_search_entry_shows_its_opening_and_keeps_every_other_word_hidden():
    import re

    import search_slim

    separator = re.compile(r'[\s\-,:!=\[\]()"`/#]+|\.(?!\d)|&[lg]t;')
    stop = search_slim._stop_words()
    opening = "An event loop owns an epoll FD and a socket pair. " * 3
    rest = "Closing the loop releases them; a dropped loop waits for gc.collect() in 3.13."
    text = f"<p>{opening}</p><p>{rest} Again the loop.</p><pre>run_in_new_loop 4047</pre>"
    out = search_slim.compact(text, separator, stop)
    shown, hidden = re.fullmatch(r"<p>(.*) … <i hidden>(.*)</i></p>", out).groups()
    assert len(shown) <= search_slim.PREVIEW and shown[-1] in ".;"  # cut at a sentence end
    words = hidden.split()
    assert {"dropped", "waits", "gc", "collect", "3.13", "run_in_new_loop"} <= set(words)
    assert "4047" in words and "the" not in words and "a" not in words  # stop words dropped
    assert "loop" not in words and "Again" in words  # words already shown are not repeated
    assert len(words) == len({w.lower() for w in words})  # each word once
    short = search_slim.compact("<p>Short <code>safe_close()</code> text.</p>", separator, stop)
    assert short == "<p>Short safe_close() text.</p>"


def test_notebook_code_becomes_a_material_code_block_without_the_copy_widget():
    import notebook_lean

    cell = (
        '<div class="jp-Cell jp-CodeCell"><div class="jp-Cell-inputWrapper" tabindex="0">'
        '<div class="jp-Collapser jp-InputCollapser jp-Cell-inputCollapser">\n</div>'
        '<div class="jp-InputArea jp-Cell-inputArea">'
        '<div class="jp-InputPrompt jp-InputArea-prompt">In [2]:</div>'
        '<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">\n'
        '<div class="CodeMirror cm-s-jupyter">\n<div class="zeroclipboard-container">\n'
        '<clipboard-copy for="cell-1"><div><svg><path d="M0"></path></svg></div>'
        "</clipboard-copy>\n</div>\n"
        '<div class="highlight-ipynb hl-python"><pre><span></span>'
        '<span class="n">llm</span><span class="o">.</span><span class="n">close</span>'
        '<span class="p">()</span><span class="o">.</span><span class="n">x</span></pre></div>\n'
        '<div class="clipboard-copy-txt" id="cell-1">llm.close()</div>\n</div>\n</div>'
        '</div></div><div class="jp-RenderedText" data-mime-type="text/plain">'
        "<pre>out  put</pre></div></div>"
        "<script>\n (function (global, factory) { ClipboardCopyElement }) </script>"
    )
    lean = notebook_lean.unwrap_plain_tokens(notebook_lean.lean_notebook(cell))
    assert "clipboard" not in lean.lower() and "<svg" not in lean and "In [2]" not in lean
    assert "Collapser" not in lean and "CodeMirror" not in lean and "data-mime-type" not in lean
    # names unwrapped; the neighbouring ")" and "." share one span, as they share one colour
    assert (
        '<div class="language-python highlight"><pre><span></span><code>'
        'llm<span class="o">.</span>close<span class="p">().</span>x</code></pre></div>'
    ) in lean
    assert "<pre>out  put</pre>" in notebook_lean.collapse_whitespace(lean)


def test_collapsing_whitespace_keeps_pre_textarea_and_script():
    import notebook_lean

    html = (
        "<p>a   b\n\n   c</p><pre>x   y\n\n z</pre><textarea> 1  2 </textarea><script>a  b</script>"
    )
    out = notebook_lean.collapse_whitespace(html)
    assert out.startswith("<p>a b\nc</p>")
    assert "<pre>x   y\n\n z</pre>" in out and "<textarea> 1  2 </textarea>" in out
    assert "<script>a  b</script>" in out


def test_material_still_colours_the_unwrapped_tokens_like_the_code_around_them():
    """notebook_lean relies on these rules of Material's stylesheets; a theme update may
    change them, and then the unwrapping would change how code looks."""
    import re
    from pathlib import Path

    import material

    sheets = Path(material.__file__).parent / "templates" / "assets" / "stylesheets"
    main = next(sheets.glob("main.*.min.css")).read_text()
    palette = next(sheets.glob("palette.*.min.css")).read_text()
    assert ".highlight .kc,.highlight .n{color:var(--md-code-hl-name-color)}" in main
    styled = set(re.findall(r"\.highlight \.([a-z0-9]+)\b", main))
    assert styled.isdisjoint({"w", "sa", "fm", "vm"})
    for css in (main, palette):
        assert "--md-code-hl-name-color:var(--md-code-fg-color)" in css
        light = "var(--md-default-fg-color--light)"
        assert f"--md-code-hl-operator-color:{light}" in css
        assert f"--md-code-hl-punctuation-color:{light}" in css
    assert ".highlight .o,.highlight .ow{color:var(--md-code-hl-operator-color)}" in main
    assert ".highlight .p{color:var(--md-code-hl-punctuation-color)}" in main


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
