"""Keep the search index small: prose and code are searchable, notebook outputs are not.

Every page downloads the search index on first use of the search box, so its size is paid on
a cold visit of any page. Material indexes the page HTML as it is; this hook hands the search
plugin a lighter copy of each page instead (the page itself is not changed):

- notebook outputs, the ``In [n]:`` prompts and the hidden second copy of each code cell that
  the copy-to-clipboard button reads are left out;
- a code block is indexed as the distinct names and numbers it contains, leaving out Python
  keywords: a search for ``safe_close`` or ``run_in_new_loop`` finds the code (in the section
  that shows it, so pages that show a name in code keep ranking for it), and the index does
  not carry every line of it;
- paragraph and list tags are left out of the indexed text (a result shows it as one run of
  text; inline ``<code>`` stays).

Material's own ``data-search-exclude`` attribute cannot do the first part: its parser stops
excluding at the first nested element of the same tag, and notebook cells are nested divs.
"""

from __future__ import annotations

import html as html_lib
import keyword
import re

from mkdocs.plugins import event_priority

#: Notebook parts that are not indexed: outputs, prompts and the copy button's hidden text.
NOT_INDEXED = re.compile(
    r'<div\b[^>]*\bclass="[^"]*\b(?:jp-Cell-outputWrapper|jp-InputPrompt|'
    r'zeroclipboard-container|clipboard-copy-txt)\b[^"]*"[^>]*>'
)
DIV = re.compile(r"<(/?)div\b")
PRE = re.compile(r"<pre\b[^>]*>(.*?)</pre>", re.S)
TAG = re.compile(r"<[^>]+>")
WORD = re.compile(r"[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)*|\d{3,}")
BLOCK_TAGS = re.compile(r"\s*</?(?:p|li|ul|ol)>\s*")
#: Too common in code to help a search.
CODE_STOPWORDS = frozenset(keyword.kwlist) | {
    "self", "cls", "print", "len", "str", "int", "dict", "list", "set", "tuple", "range",
    "isinstance", "super", "object", "bool", "float", "bytes", "type",
}  # fmt: skip


def drop_divs(html: str, start: re.Pattern[str] = NOT_INDEXED) -> str:
    """``html`` without each ``<div>`` that ``start`` matches, nested divs included."""
    out, pos = [], 0
    while match := start.search(html, pos):
        out.append(html[pos : match.start()])
        depth, i = 1, match.end()
        while depth:
            tag = DIV.search(html, i)
            if tag is None:  # unbalanced: drop the rest rather than index half a cell
                return "".join(out)
            depth += -1 if tag[1] else 1
            i = tag.end()
        pos = html.index(">", i) + 1
    out.append(html[pos:])
    return "".join(out)


def code_as_words(html: str) -> str:
    """Each ``<pre>`` block reduced to its distinct names and numbers (see module docstring)."""

    def words(match: re.Match[str]) -> str:
        code = html_lib.unescape(TAG.sub("", match[1]))
        kept = [
            html_lib.escape(word)
            for word in dict.fromkeys(WORD.findall(code))
            if len(word) > 2 and word not in CODE_STOPWORDS
        ]
        return f"<pre>{' '.join(kept)}</pre>" if kept else ""

    return PRE.sub(words, html)


def for_search(content: str, notebook: bool) -> str:
    """What the search plugin indexes for a page with this content."""
    if notebook:
        content = drop_divs(content)
    return code_as_words(content)


@event_priority(-100)  # after the search plugin has created its index for this build
def on_config(config):
    search = config["plugins"].get("material/search") or config["plugins"].get("search")
    index = getattr(search, "search_index", None)
    if index is None:
        return config
    add = index.add_entry_from_context

    def add_slim(page) -> None:
        content, first = page.content, len(index.entries)
        page.content = for_search(content, page.file.src_uri.endswith(".ipynb"))
        try:
            add(page)
        finally:
            page.content = content
        for entry in index.entries[first:]:
            entry["text"] = BLOCK_TAGS.sub(" ", entry["text"]).strip()

    index.add_entry_from_context = add_slim
    return config
