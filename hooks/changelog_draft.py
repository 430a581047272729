"""Show the news fragments that are not released yet at the top of the Changelog page.

towncrier writes released notes into docs/changelog.md at release time; until then the
fragments in changelog.d/ are only files. Rendering towncrier's own draft into the page
lets readers see what is coming, in exactly the words the release will use.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

MARKER = "<!-- towncrier release notes start -->"


def unreleased_notes(root: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "towncrier", "build", "--draft", "--version", "Unreleased"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    text = result.stdout.strip()
    # towncrier says so in prose when there is nothing to release.
    return text if text.startswith("## ") else ""


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri != "changelog.md" or MARKER not in markdown:
        return markdown
    notes = unreleased_notes(Path(config["config_file_path"]).parent)
    if not notes:
        return markdown
    return markdown.replace(MARKER, f"{MARKER}\n\n{notes}\n", 1)
