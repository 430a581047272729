"""Keep the search index small: every word stays searchable, each result shows its opening.

Material's search worker downloads ``search/search_index.json`` when a page loads, so its size
is paid on a cold visit of any page. Material indexes each section's text as it is; this hook
hands the search plugin a lighter copy of each page (the page itself is not changed) and then
compacts each section's entry:

- notebook outputs, the ``In [n]:`` prompts and the hidden second copy of each code cell that
  the copy-to-clipboard button reads are left out (Material's ``data-search-exclude`` cannot
  do this: its parser stops excluding at the first nested element of the same tag, and
  notebook cells are nested divs);
- code blocks count by their code terms: dotted and underscored names, CamelCase and
  upper-case names, numbers of three to five digits. A search for ``safe_close``,
  ``ChatOllama`` or ``RLIMIT_NOFILE`` finds the section that shows it; plain words, which the
  prose around the code already carries, and comments are left out;
- a section's entry keeps the opening of its prose as the text a result shows (up to
  :data:`PREVIEW` characters, cut at a sentence end where there is one), followed by every
  other word of the section once, in a hidden element: the search finds the section by any
  word it contains, and the result shows the opening with the matched words marked when they
  are in it. Words that lunr's stop-word filter drops anyway, single characters and one- or
  two-digit numbers are left out of that hidden part.

What this costs a reader: a result shows the section's opening rather than the paragraph that
matched, and a word counts once per section however often it appears, so ranking leans on
titles (which Material boosts) more than on repetition. The browser tests check the ranking of
the searches a contributor makes most.
"""

from __future__ import annotations

import html as html_lib
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
#: Inline tags that Material keeps in the indexed text; dropped without a space.
INLINE_TAGS = re.compile(r"</?(?:code|sub|sup)>")
#: What a code block is indexed by (see the module docstring).
CODE_TERM = re.compile(
    r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"  # dotted: llm.close, ldr_patterns.safe_close
    r"|\w*_\w*[A-Za-z0-9]\w*"  # underscored: safe_close, __del__, RLIMIT_NOFILE
    r"|[A-Z]+[a-z0-9]+[A-Z]\w*"  # CamelCase: ChatOllama, BaseSearchEngine
    r"|[A-Z][A-Z0-9]{2,}\b"  # upper case: MODEL, HEALTHCHECK
    r"|\b\d{3,5}\b"  # PR numbers, ports, limits (not inode numbers of a transcript)
)
#: Characters of a section's prose shown in a search result.
PREVIEW = 200
SENTENCE_END = re.compile(r"[.!?:;](?=\s)")


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
    """Each ``<pre>`` block reduced to its distinct code terms (see the module docstring)."""

    def terms(match: re.Match[str]) -> str:
        code = html_lib.unescape(TAG.sub("", match[1]))
        kept = dict.fromkeys(CODE_TERM.findall(code))
        return f"<pre>{html_lib.escape(' '.join(kept))}</pre>" if kept else ""

    return PRE.sub(terms, html)


def for_search(content: str, notebook: bool) -> str:
    """What the search plugin is given to index for a page with this content."""
    if notebook:
        content = drop_divs(content)
    return code_as_words(content)


def _opening(prose: str) -> str:
    """The first :data:`PREVIEW` characters of ``prose``, ended at a sentence or a word."""
    if len(prose) <= PREVIEW:
        return prose
    ends = [m.end() for m in SENTENCE_END.finditer(prose, 0, PREVIEW)]
    cut = ends[-1] if ends and ends[-1] >= PREVIEW // 2 else prose.rfind(" ", 0, PREVIEW)
    return prose[: cut if cut > 0 else PREVIEW]


def compact(text: str, separator: re.Pattern[str], stop_words: frozenset[str]) -> str:
    """A section's indexed text: its opening, then its other words once each, hidden."""
    code = " ".join(match[1] for match in PRE.finditer(text))
    prose = " ".join(TAG.sub(" ", INLINE_TAGS.sub("", PRE.sub(" ", text))).split())
    shown = _opening(prose)
    seen = {word.lower() for word in separator.split(shown) if word}
    rest: list[str] = []
    for word in separator.split(prose[len(shown) :] + " " + code):
        key = word.lower()
        if len(word) > 1 and key not in seen and key not in stop_words and not _small_number(word):
            seen.add(key)
            rest.append(word)
    more = " …" if len(shown) < len(prose) else ""
    hidden = f" <i hidden>{' '.join(rest)}</i>" if rest else ""
    return f"<p>{shown}{more}{hidden}</p>" if shown or hidden else ""


def _small_number(word: str) -> bool:
    """One- and two-digit numbers: counts and steps that no reader searches for."""
    return word.isdigit() and len(word) < 3


def _stop_words() -> frozenset[str]:
    """lunr.js's English stop words, which Material's search pipeline drops from the index."""
    from lunr.stop_word_filter import WORDS

    return frozenset(WORDS)


@event_priority(-100)  # after the search plugin has created its index for this build
def on_config(config):
    search = config["plugins"].get("material/search") or config["plugins"].get("search")
    index = getattr(search, "search_index", None)
    if index is None:
        return config
    add = index.add_entry_from_context
    separator = re.compile(search.config.separator)
    stop_words = _stop_words() if "stopWordFilter" in search.config.pipeline else frozenset()

    def add_slim(page) -> None:
        content, first = page.content, len(index.entries)
        page.content = for_search(content, page.file.src_uri.endswith(".ipynb"))
        try:
            add(page)
        finally:
            page.content = content
        for entry in index.entries[first:]:
            entry["text"] = compact(entry["text"], separator, stop_words)
            # nbconvert's heading anchors ("¶") would show in every notebook result's title
            entry["title"] = entry["title"].removesuffix("¶")

    index.add_entry_from_context = add_slim
    return config
