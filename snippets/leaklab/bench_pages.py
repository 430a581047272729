"""Page weight of the built handbook: bytes a reader downloads per page (``make bench``).

For a plain page and every notebook page, the table adds the page's HTML to the stylesheets,
scripts (with Material's search worker and the search index it loads) and images the page
references, each counted once per page, as a first visit with an empty cache fetches them.
Plots embedded in the HTML as base64 ``data:`` URIs count as images, not HTML. "warm" is what
is left once the assets shared by several pages are cached: the page itself plus anything only
it uses. The notes list what makes a page heavy: embedded images and large inline
``<style>``/``<script>`` blocks.

Run from the project root. It reads ``site/`` when it holds a build (``make build``) and
otherwise builds it first; ``--site DIR`` reads another build.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

PLAIN_PAGES = ("index.html", "playbook/index.html")
KINDS = ("html", "css", "js", "img")
#: Inline blocks and data: URIs above this size are reported as waste candidates.
NOTE_BYTES = 20_000
SHOW_SHARED = 6
NOTEBOOK_PAGE_TARGET_KB = 700
INDEX_TARGET_KB = 300
DATA_URI = re.compile(r"data:(?P<type>[\w/+.-]+)?;base64,(?P<body>[A-Za-z0-9+/=]+)")


@dataclass
class Page:
    path: str
    html: int
    assets: dict[str, str] = field(default_factory=dict)  # site path -> kind
    inline: list[tuple[str, int]] = field(default_factory=list)  # (what, bytes)
    embedded: int = 0  # base64 data: URIs inside the HTML (notebook plots)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []
        self.inline: list[tuple[str, int]] = []
        self._block: str | None = None
        self._size = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "link" and "stylesheet" in a.get("rel", "").split() and a.get("href"):
            self.refs.append(("css", a["href"]))
        elif tag == "script" and a.get("src"):
            self.refs.append(("js", a["src"]))
        elif tag == "img" and a.get("src") and not a["src"].startswith("data:"):
            self.refs.append(("img", a["src"]))
        elif tag == "script" and a.get("id") == "__config":
            self._block, self._size = "config", 0
        elif tag in {"style", "script"}:
            self._block, self._size = tag, 0

    def handle_data(self, data: str) -> None:
        if self._block == "config":
            config = json.loads(data)
            for key in ("search",):
                if config.get(key):
                    self.refs.append(("js", config[key]))
        elif self._block:
            self._size += len(data.encode())

    def handle_endtag(self, tag: str) -> None:
        if self._block and tag in {"style", "script"}:
            if self._block != "config" and self._size >= NOTE_BYTES:
                self.inline.append((f"inline <{self._block}>", self._size))
            self._block = None


def _resolve(site: Path, page_dir: PurePosixPath, url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None  # other origins: the browser tests keep this at zero
    target = PurePosixPath(unquote(parts.path))
    joined = target if target.is_absolute() else page_dir / target
    resolved = (site / str(joined).lstrip("/")).resolve()
    if not resolved.is_file() or site.resolve() not in resolved.parents:
        return None
    return resolved.relative_to(site.resolve()).as_posix()


def read_page(site: Path, html_path: Path) -> Page:
    text = html_path.read_text(encoding="utf-8")
    rel = html_path.relative_to(site).as_posix()
    parser = _Refs()
    parser.feed(text)
    page = Page(rel, len(text.encode()), inline=parser.inline)
    page_dir = PurePosixPath("/" + rel).parent
    for kind, url in parser.refs:
        target = _resolve(site, page_dir, url)
        if target:
            page.assets.setdefault(target, kind)
    if any(target.startswith("assets/javascripts/workers/search") for target in page.assets):
        index = site / "search" / "search_index.json"
        if index.is_file():
            page.assets.setdefault("search/search_index.json", "js")
    embedded = Counter()
    for match in DATA_URI.finditer(text):
        embedded[match["type"] or "data"] += len(match["body"])
    page.inline += [(f"embedded {kind}", size) for kind, size in embedded.items()]
    page.embedded = sum(embedded.values())
    return page


def weigh(site: Path, pages: list[Page]) -> list[tuple[str, dict[str, int], int, int]]:
    """Per page: (path, bytes per kind, total cold, total warm)."""
    users = Counter(asset for page in pages for asset in page.assets)
    rows = []
    for page in pages:
        sizes = dict.fromkeys(KINDS, 0)
        sizes["html"] = page.html - page.embedded
        sizes["img"] = page.embedded
        own = page.html
        for asset, kind in page.assets.items():
            size = (site / asset).stat().st_size
            sizes[kind] += size
            if users[asset] == 1:
                own += size
        rows.append((page.path, sizes, sum(sizes.values()), own))
    return rows


def _kb(n: int) -> str:
    return f"{n / 1024:,.0f}"


def page_weight(site: Path | None = None) -> None:
    """Bytes per page: a plain page and every notebook page, as a Markdown table."""
    site = site or ensure_site(Path.cwd())
    plain = [site / p for p in PLAIN_PAGES if (site / p).is_file()]
    notebooks = sorted((site / "notebooks").glob("*/index.html"))
    # every page is read so that "shared" means shared across the site, not just this table
    everything = {p: read_page(site, p) for p in sorted(site.rglob("*.html"))}
    rows = weigh(site, list(everything.values()))
    by_path = {row[0]: row for row in rows}
    print(f"## page weight of {site} (kB; cold = empty cache, warm = shared assets cached)\n")
    header = ("page", "HTML", "CSS", "JS", "images", "cold", "warm")
    print("| " + " | ".join(header) + " |")
    print("|---|" + "---:|" * (len(header) - 1))
    for html_path in plain + notebooks:
        path, sizes, cold, warm = by_path[html_path.relative_to(site).as_posix()]
        name = path.removesuffix("index.html") or "/"
        cells = [name, *(_kb(sizes[k]) for k in KINDS), _kb(cold), _kb(warm)]
        print("| " + " | ".join(cells) + " |")
    print()
    notes = [
        f"- {page.path}: {what} {_kb(size)} kB"
        for html_path in plain + notebooks
        for page in [everything[html_path]]
        for what, size in page.inline
    ]
    print("Inline blocks and embedded data over " + _kb(NOTE_BYTES) + " kB:")
    print("\n".join(notes) if notes else "- none")
    print()
    users = Counter(asset for page in everything.values() for asset in page.assets)
    shared = sorted(
        ((site / asset).stat().st_size, asset, n) for asset, n in users.items() if n > 1
    )[::-1]
    print("Largest shared assets (fetched once, then cached):")
    for size, asset, n in shared[:SHOW_SHARED]:
        print(f"- {asset}: {_kb(size)} kB, used by {n} pages")
    print()
    heaviest = max((by_path[p.relative_to(site).as_posix()] for p in notebooks), key=lambda r: r[2])
    index = site / "search" / "search_index.json"
    index_kb = index.stat().st_size / 1024 if index.is_file() else 0
    print(
        f"Heaviest notebook page: {heaviest[0].removesuffix('index.html')} {_kb(heaviest[2])} kB"
        f" cold (target {NOTEBOOK_PAGE_TARGET_KB} kB); search index {index_kb:,.0f} kB"
        f" (target {INDEX_TARGET_KB} kB).\n"
    )


def ensure_site(root: Path) -> Path:
    site = root / "site"
    if (site / "index.html").is_file():
        return site
    if not (root / "mkdocs.yml").is_file():
        raise SystemExit(f"no site/ and no mkdocs.yml in {root}: run from the project root")
    print("site/ is missing: building it (mkdocs build --strict, notebooks executed)...\n")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    subprocess.run([str(mkdocs), "build", "--strict", "-q"], cwd=root, check=True)
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, help="a built site (default: site/, built if absent)")
    args = parser.parse_args(argv)
    page_weight(args.site)
    return 0


if __name__ == "__main__":
    sys.exit(main())
