"""Make a notebook page's table of contents point at the headings the page really has.

mkdocs-jupyter renders a notebook's HTML with nbconvert, which gives each heading an id, but
builds the table of contents separately, from a Markdown export read by Python-Markdown. The
two disagree when a heading holds Markdown emphasis characters: nbconvert's id for
``## No `__del__`, explicit close`` keeps ``__del__``, while Python-Markdown reads the
``__del__`` inside the exported ``{#...}`` attribute as bold text, drops the attribute, and
slugifies the whole line. The contents then link to ids that do not exist and show the raw
``{#...}`` as part of the title (also in the page title).

This hook takes the ids from the rendered page: each contents entry that names a missing id
is matched, by its text, to the heading of the page that has that text.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

ATTR_LIST_TAIL = re.compile(r"\s*\{#[^{}]*\}\s*$")
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}


class _Headings(HTMLParser):
    """(id, text) of every heading with an id, in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []
        self._open: tuple[str, str] | None = None
        self._text: list[str] = []
        self._in_anchor = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in HEADINGS and a.get("id"):
            self._open, self._text = (tag, a["id"] or ""), []
        elif tag == "a" and "anchor-link" in (a.get("class") or "").split():
            self._in_anchor = True  # nbconvert's "¶" permalink is not part of the text

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_anchor = False
        elif self._open and tag == self._open[0]:
            self.found.append((self._open[1], "".join(self._text)))
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open and not self._in_anchor:
            self._text.append(data)


def _norm(text: str) -> str:
    return " ".join(unescape(text).replace("¶", "").split())


def clean_title(title: str) -> str:
    """The heading text without a ``{#id}`` that Markdown failed to read as an attribute."""
    return ATTR_LIST_TAIL.sub("", title)


def headings(html: str) -> list[tuple[str, str]]:
    parser = _Headings()
    parser.feed(html)
    return parser.found


def fix_toc(items: list, html: str) -> int:
    """Point ``items`` (MkDocs ``AnchorLink`` objects, nested) at ``html``'s real ids.

    Returns how many entries were changed.
    """
    found = headings(html)
    ids = {anchor for anchor, _ in found}
    by_text: dict[str, str] = {}
    for anchor, text in found:
        by_text.setdefault(_norm(text), anchor)
    changed = 0

    def walk(entries: list) -> None:
        nonlocal changed
        for item in entries:
            title = clean_title(item.title)
            if title != item.title:
                item.title = title
                changed += 1
            if item.id not in ids and _norm(title) in by_text:
                item.id = by_text[_norm(title)]
                changed += 1
            walk(item.children)

    walk(items)
    return changed


HEADING_ID = re.compile(r"<h[1-6]\b[^>]*\bid=\"([^\"]+)\"")


def _needs_fixing(items: list, ids: set[str]) -> bool:
    return any(
        item.id not in ids or ATTR_LIST_TAIL.search(item.title) or _needs_fixing(item.children, ids)
        for item in items
    )


def on_page_content(html: str, page, config, files) -> str:
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    # Parsing the page is the slow part: only when a contents entry is wrong (a quick look).
    if _needs_fixing(page.toc.items, set(HEADING_ID.findall(html))):
        fix_toc(page.toc.items, html)
    if page.title:
        page.title = clean_title(page.title)
    return html
