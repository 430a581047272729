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
