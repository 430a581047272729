"""Published URLs stay valid: every page and heading anchor in the frozen list still resolves.

Pages and their anchors are linked from pull-request reviews, issues and bookmarks, so a
rename must leave a redirect behind. ``tests/data/published-urls.txt`` lists every page URL and
heading anchor the site has published (one per line, from the site root: ``/playbook/``,
``/playbook/#eventpoll``). Each must still exist in a fresh build, directly or through a
redirect page written by mkdocs-redirects (the anchor is then looked up on the target page,
where the redirect sends it).

New pages and headings are allowed; add them to the list so they are kept too:

    .venv/bin/mkdocs build -d /tmp/handbook-site
    .venv/bin/python tests/stable_urls.py --add /tmp/handbook-site

``--add`` only appends; a line is removed by hand, and only when its address must go for good.
"""

from __future__ import annotations

import posixpath
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

FROZEN = Path(__file__).resolve().parent / "data" / "published-urls.txt"
#: Section headings; a page's h1 anchor is the page itself, whose URL is listed.
HEADINGS = {"h2", "h3", "h4", "h5", "h6"}
REFRESH = re.compile(r"url=([^\"'>\s]+)", re.I)
#: Pages that are not addresses anyone links to.
SKIPPED = {"404.html"}

HOW_TO_FIX = """\
{count} published address(es) no longer resolve:
  {missing}

Links to these exist outside the site (reviews, issues, bookmarks). Either:
- a page moved or was renamed: add a redirect from the old source file to the new one in
  mkdocs.yml (plugins: redirects: redirect_maps: {{"old/page.md": "new/page.md"}});
- a heading was reworded: keep its old anchor with an explicit id, `## New words {{#old-id}}`
  (in a notebook: an `<a id="old-id"></a>` before the heading);
- the address must really go: delete its line from tests/data/published-urls.txt.
New pages and headings are allowed: `python tests/stable_urls.py --add SITE_DIR` appends them
to the list so they are protected too."""


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.heading_ids: list[str] = []
        self.redirect: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if a.get("id"):
            self.ids.add(a["id"])
            if tag in HEADINGS:
                self.heading_ids.append(a["id"])
        if tag == "a" and a.get("name"):
            self.ids.add(a["name"])
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            match = REFRESH.search(a.get("content", ""))
            self.redirect = match[1] if match else None


def _read(site: Path, url: str) -> _Page | None:
    path = site / url / "index.html" if url.endswith("/") or not url else site / url
    if not path.is_file():
        return None
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def published(site: Path) -> list[str]:
    """Every page URL and heading anchor of a built site, in a stable order."""
    urls = []
    for html in sorted(site.rglob("index.html")):
        rel = html.parent.relative_to(site).as_posix()
        url = "" if rel == "." else rel + "/"
        page = _read(site, url)
        if page is None or page.redirect or html.name in SKIPPED:
            continue
        urls.append(f"/{url}")
        urls += [f"/{url}#{anchor}" for anchor in page.heading_ids]
    return urls


def resolves(site: Path, entry: str, hops: int = 3) -> bool:
    """Whether ``entry`` (``page/`` or ``page/#anchor``) reaches a page that has the anchor."""
    url, _, anchor = entry.lstrip("/").partition("#")
    page = _read(site, url)
    while page is not None and page.redirect and hops:
        target = page.redirect.split("#")[0]
        url = posixpath.normpath(posixpath.join(url, target)).lstrip("/") + "/"
        url = "" if url in ("./", "/") else url
        page, hops = _read(site, url), hops - 1
    return page is not None and not page.redirect and (not anchor or anchor in page.ids)


def frozen() -> list[str]:
    lines = FROZEN.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def missing(site: Path, entries: list[str] | None = None) -> list[str]:
    """The frozen addresses (or ``entries``) that ``site`` no longer resolves."""
    wanted = frozen() if entries is None else entries
    return [entry for entry in wanted if not resolves(site, entry)]


def failure_message(gone: list[str]) -> str:
    return HOW_TO_FIX.format(count=len(gone), missing="\n  ".join(gone))


def add_new(site: Path) -> list[str]:
    """Append the addresses of ``site`` that the list lacks; returns them."""
    known = set(frozen())
    new = [url for url in published(site) if url not in known]
    if new:
        with FROZEN.open("a", encoding="utf-8") as fh:
            fh.write("".join(f"{url}\n" for url in new))
    return new


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "--add" or not Path(sys.argv[2]).is_dir():
        sys.exit("usage: stable_urls.py --add SITE_DIR")
    added = add_new(Path(sys.argv[2]))
    print(f"{len(added)} new address(es) added to {FROZEN.name}")
    print("\n".join(added))
