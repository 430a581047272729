"""Crawl a built site: every internal link and ``#anchor`` resolves, no heading is a stray.

MkDocs validates the links it writes from Markdown, but not what a notebook page carries: the
HTML nbconvert renders from Markdown cells and from cell outputs (a table the kit displays with
links in it) reaches the site untouched. So this reads the built HTML, as a browser would
resolve it, page by page.

A *stray heading* is a Markdown line that starts with a PR number (``#3818 (session pooling``)
and so turned into a heading: any ``<h1>``-``<h6>`` whose text starts with a number of three or
more digits that is not a year.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

STRAY_HEADING = re.compile(r"(?!(?:19|20)\d\d\b)\d{3,}\b")
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
#: (tag, attribute) pairs whose URL the crawl follows.
URL_ATTRIBUTES = {("a", "href"), ("img", "src"), ("script", "src"), ("link", "href")}
#: Pages whose links are written for any depth (the 404 page is served at every missing URL).
SKIPPED_PAGES = {"404.html"}


class _Page(HTMLParser):
    """Ids, outgoing URLs and heading texts of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.urls: list[str] = []
        self.headings: list[str] = []
        self._heading: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v for k, v in attrs if v is not None}
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and "name" in a:
            self.ids.add(a["name"])
        for wanted_tag, attribute in URL_ATTRIBUTES:
            if tag == wanted_tag and a.get(attribute):
                self.urls.append(a[attribute])
        if tag in HEADINGS:
            self._heading, self._text = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag == self._heading:
            self.headings.append("".join(self._text).strip())
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._heading:
            self._text.append(data)


@dataclass
class CrawlReport:
    pages: int = 0
    links: int = 0
    broken: list[str] = field(default_factory=list)
    stray_headings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"broken link: {b}" for b in self.broken]
        lines += [f"stray heading: {s}" for s in self.stray_headings]
        lines.append(
            f"{self.links} links on {self.pages} pages: {len(self.broken)} broken, "
            f"{len(self.stray_headings)} stray headings"
        )
        return "\n".join(lines)


def is_internal(url: str) -> bool:
    parts = urlsplit(url)
    return not (parts.scheme or parts.netloc) and not url.startswith(("mailto:", "javascript:"))


def resolve(site: Path, page: str, url: str) -> tuple[str, str]:
    """The site-relative file ``url`` points at from ``page``, and its unquoted fragment."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if not path:
        return page, unquote(parts.fragment)
    joined = (
        path.lstrip("/") if path.startswith("/") else posixpath.join(posixpath.dirname(page), path)
    )
    target = posixpath.normpath(joined)
    if target == ".":
        target = ""
    if path.endswith("/") or (site / target).is_dir():
        target = posixpath.join(target, "index.html") if target else "index.html"
    return target, unquote(parts.fragment)


def crawl(site: Path) -> CrawlReport:
    """Check every internal URL and anchor of every HTML page under ``site``."""
    pages: dict[str, _Page] = {}
    for html in sorted(site.rglob("*.html")):
        parser = _Page()
        parser.feed(html.read_text(encoding="utf-8", errors="replace"))
        pages[html.relative_to(site).as_posix()] = parser
    report = CrawlReport(pages=len(pages))
    broken: set[str] = set()
    for rel, page in pages.items():
        if rel in SKIPPED_PAGES:
            continue
        report.stray_headings += [
            f"{rel}: {text[:60]!r}" for text in page.headings if STRAY_HEADING.match(text)
        ]
        for url in page.urls:
            report.links += 1
            if not is_internal(url):
                continue
            target, fragment = resolve(site, rel, url)
            if not (site / target).is_file():
                broken.add(f"{rel}: {url} (no such file)")
            elif fragment and target in pages and fragment not in pages[target].ids:
                broken.add(f"{rel}: {url} (no such anchor)")
    report.broken = sorted(broken)
    return report
