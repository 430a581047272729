"""Give notebook pages the glossary's hover tooltips.

Markdown pages get them from the ``abbr`` extension and ``snippets/glossary-terms.md``,
which pymdownx.snippets appends to every page. Notebook pages are rendered by
nbconvert, which never sees that file, so this hook marks the same terms in the
notebooks' prose (not in code or links) with ``<abbr title=...>``, as ``abbr`` does.
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString
from page_cache import memo

TERMS_FILE = Path("snippets/glossary-terms.md")
DEFINITION = re.compile(r"^\*\[(?P<term>[^\]]+)\]:\s*(?P<text>.+)$")
SKIP_PARENTS = {"a", "abbr", "code", "pre", "script", "style", "kbd"}


def glossary(path: Path) -> dict[str, str]:
    terms = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = DEFINITION.match(line.strip())
        if match:
            terms[match["term"]] = match["text"]
    return terms


def term_pattern(terms: dict[str, str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])")


def mark_terms(html: str, terms: dict[str, str]) -> str:
    soup = BeautifulSoup(html, "html.parser")
    pattern = term_pattern(terms)
    for prose in soup.select(".jp-RenderedMarkdown"):
        for text in list(prose.find_all(string=True)):
            if not isinstance(text, NavigableString) or not pattern.search(text):
                continue
            if any(parent.name in SKIP_PARENTS for parent in text.parents):
                continue
            pieces = pattern.split(str(text))
            replacement = []
            for index, piece in enumerate(pieces):
                if index % 2:
                    abbr = soup.new_tag("abbr", title=terms[piece])
                    abbr.string = piece
                    replacement.append(abbr)
                elif piece:
                    replacement.append(NavigableString(piece))
            text.replace_with(*replacement)
    return str(soup)


def on_post_page(output: str, page, config) -> str:
    if "jp-RenderedMarkdown" not in output:
        return output
    path = Path(config["config_file_path"]).parent / TERMS_FILE
    terms = glossary(path)
    return memo(
        "glossary",
        __file__,
        lambda html: mark_terms(html, terms),
        output,
        repr(sorted(terms.items())),
    )
