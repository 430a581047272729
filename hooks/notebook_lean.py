"""Notebook pages without what a reader never sees: lighter HTML, Material's own code blocks.

mkdocs-jupyter renders a notebook with JupyterLab's markup and brings along, on every page,
a copy-to-clipboard web component (its script inline, an SVG icon and a hidden second copy of
every code cell) and a MathJax loader. On the heaviest notebook page those were about 40 kB
of about 200. This hook, run on each notebook page's HTML:

- turns each code cell into the code block Material renders for Markdown pages
  (``<div class="highlight"><pre><code>``), so the cell gets Material's copy button, colours
  and dark scheme, and drops the component, its script and the hidden copies;
- drops the MathJax loader, which mkdocs-jupyter adds to every page: no notebook here uses
  maths (the plugin's ``custom_mathjax_url`` still points at the local stand-in
  ``no-mathjax.js``, so nothing would reach a CDN if a loader slipped through);
- drops the ``In [n]:`` prompts and the empty collapser divs, which belong to JupyterLab's
  editing UI (a page shows the cells in order, executed once, top to bottom), the editor divs
  around each code block, so code and prose use the column's width, and the
  ``data-mime-type`` attributes that only JupyterLab's scripts read.

On every page, inside code blocks, Pygments spans that Material does not colour apart from the
code around them are unwrapped (names, whitespace, ``None``/``True``/``False``, string
affixes, magic names), and neighbouring punctuation and operator spans, which Material gives
one colour, become one span. The page looks the same with about a fifth fewer bytes of code;
``tests/test_hooks.py`` checks that Material's stylesheets still colour them that way.

Last, every page's runs of whitespace outside ``<pre>``, ``<textarea>``, ``<script>`` and
``<style>`` shrink to one character (a newline where the run had one): the browser collapses
them anyway, and Material's templates leave a lot of indentation.
"""

from __future__ import annotations

import re

from mkdocs.plugins import event_priority

COPY_WIDGET = re.compile(
    r'<div class="zeroclipboard-container">\s*<clipboard-copy\b.*?</clipboard-copy>\s*</div>\s*',
    re.S,
)
COPY_TEXT = re.compile(r'<div class="clipboard-copy-txt"[^>]*>[^<]*</div>\s*')
COPY_SCRIPTS = re.compile(
    r"<script>\s*(?:\(function \(global, factory\)[^<]*?ClipboardCopyElement"
    r"|document\.addEventListener\('clipboard-copy').*?</script>\s*",
    re.S,
)
MATHJAX_LOADER = re.compile(r"<script data-mkdocs-jupyter-mathjax=.*?</script>\s*", re.S)
NOTEBOOK_CODE = re.compile(
    r'<div class="highlight-ipynb hl-(?P<lang>[\w-]+)"><pre>(?P<start><span></span>)?'
    r"(?P<code>.*?)</pre></div>",
    re.S,
)
EMPTY_COLLAPSER = re.compile(r'<div class="jp-Collapser\b[^"]*">\s*</div>\s*')
#: The MIME type JupyterLab's own scripts read; no stylesheet or script of the site does.
MIME_TYPE = re.compile(r' data-mime-type="[\w/+.-]+"')
PROMPT = re.compile(
    r'<div class="jp-(?:In|Out)putPrompt jp-(?:In|Out)putArea-prompt">[^<]*</div>\s*'
)
EDITOR = re.compile(
    r'<div class="jp-CodeMirrorEditor jp-Editor jp-InputArea-editor" data-type="inline">\s*'
    r'<div class="CodeMirror cm-s-jupyter">\s*'
    r'(?P<block><div class="language-[\w-]+ highlight"><pre>.*?</pre></div>)\s*</div>\s*</div>',
    re.S,
)
#: Pygments tokens that Material does not colour apart from the surrounding code: names (n)
#: and keyword constants (kc) take the code's own colour, the others have no rule at all.
PLAIN_TOKEN = re.compile(r'<span class="(?:n|w|kc|sa|fm|vm)">([^<]*)</span>')
#: Punctuation (p) and operators (o, ow) share one colour in Material's palettes.
PUNCTUATION_RUN = re.compile(
    r'<span class="(?:p|o|ow)">([^<]*)</span>(\s*)<span class="(?:p|o|ow)">([^<]*)</span>'
)
#: Whitespace the browser collapses, outside the elements that keep it.
KEEPS_WHITESPACE = re.compile(r"(<(pre|textarea|script|style)\b.*?</\2>)", re.S | re.I)
WHITESPACE_RUN = re.compile(r"[ \t\r\n]{2,}")
HIGHLIGHT_BLOCK = re.compile(
    r'(<div class="(?:language-[\w-]+ )?highlight"[^>]*>)(.*?)(</pre>)', re.S
)


def material_code(html: str) -> str:
    """Notebook code cells as Material code blocks: ``<div class="highlight"><pre><code>``."""

    def block(match: re.Match[str]) -> str:
        lang = match["lang"]
        return (
            f'<div class="language-{lang} highlight"><pre><span></span>'
            f"<code>{match['code']}</code></pre></div>"
        )

    return NOTEBOOK_CODE.sub(block, html)


def lean_notebook(html: str) -> str:
    """A rendered notebook page without its copy widget, prompts and editor wrappers."""
    for pattern in (COPY_WIDGET, COPY_TEXT, COPY_SCRIPTS, EMPTY_COLLAPSER, PROMPT, MIME_TYPE):
        html = pattern.sub("", html)
    return EDITOR.sub(r"\g<block>", material_code(html))


def unwrap_plain_tokens(html: str) -> str:
    """Pygments name and whitespace spans unwrapped inside every Material code block."""

    def block(match: re.Match[str]) -> str:
        code = PLAIN_TOKEN.sub(r"\1", match[2])
        merged = None
        while merged != code:
            merged, code = code, PUNCTUATION_RUN.sub(r'<span class="p">\1\2\3</span>', code)
        return match[1] + code + match[3]

    return HIGHLIGHT_BLOCK.sub(block, html)


def collapse_whitespace(html: str) -> str:
    """Runs of whitespace outside whitespace-keeping elements as one space or newline."""
    parts = KEEPS_WHITESPACE.split(html)
    # split() yields text, kept element, its tag name, text, ...: only the text is touched.
    for i in range(0, len(parts), 3):
        parts[i] = WHITESPACE_RUN.sub(lambda m: "\n" if "\n" in m[0] else " ", parts[i])
    return "".join(part for i, part in enumerate(parts) if i % 3 != 2)


def on_page_content(html: str, page, config, files) -> str:
    if page.file.src_uri.endswith(".ipynb"):
        html = lean_notebook(html)
    return unwrap_plain_tokens(html)


@event_priority(-100)  # last: after every hook and plugin that edits the finished page
def on_post_page(output: str, page, config) -> str:
    # mkdocs-jupyter adds its MathJax loader to every page, notebook or not, after rendering.
    return collapse_whitespace(MATHJAX_LOADER.sub("", output))
