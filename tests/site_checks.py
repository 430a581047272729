"""Find references in a built site that would make a browser leave the site's origin."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from bs4 import BeautifulSoup

# Elements whose URL the browser fetches by itself (links a reader clicks are fine).
FETCHED = {
    "script": "src",
    "img": "src",
    "iframe": "src",
    "source": "src",
    "video": "src",
    "audio": "src",
    "embed": "src",
    "object": "data",
}
FETCHED_LINK_RELS = {"stylesheet", "preload", "modulepreload", "icon", "prefetch", "manifest"}
CSS_URL = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])(?P<url>[a-z][a-z0-9+.-]*:)?//""", re.I)


def is_external(url: str) -> bool:
    parts = urlsplit(url.strip())
    return bool(parts.netloc) and parts.hostname not in {"127.0.0.1", "localhost"}


def external_references(site: Path) -> list[str]:
    found: list[str] = []
    for page in sorted(site.rglob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for tag, attribute in FETCHED.items():
            for element in soup.find_all(tag):
                url = element.get(attribute)
                if url and is_external(url):
                    found.append(f"{page.relative_to(site)}: <{tag} {attribute}={url}>")
        for link in soup.find_all("link"):
            rels = set(link.get("rel") or [])
            if rels & FETCHED_LINK_RELS and is_external(link.get("href", "")):
                found.append(f"{page.relative_to(site)}: <link rel={sorted(rels)} {link['href']}>")
        for style in soup.find_all("style"):
            if CSS_URL.search(style.get_text()):
                found.append(f"{page.relative_to(site)}: inline style fetches a remote URL")
    for sheet in sorted(site.rglob("*.css")):
        if CSS_URL.search(sheet.read_text(encoding="utf-8", errors="replace")):
            found.append(f"{sheet.relative_to(site)}: stylesheet fetches a remote URL")
    return found
