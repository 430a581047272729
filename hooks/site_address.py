"""The site's address and repository links, from the one setting ``leaklab.site`` reads.

``site_url`` is ``$HANDBOOK_SITE_URL``, else the local ``make serve`` address, the same value
``leaklab triage`` builds its page links from. Edit links and the changelog's link to the
fragment rules need a repository that holds the sources; they appear only when
``$HANDBOOK_REPO_URL`` names one, so the site never links a host that does not serve it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from mkdocs.plugins import event_priority

FRAGMENT_RULES = "`changelog.d/README.md`"

try:
    from leaklab.site import repo_url, site_url
except ImportError:  # a checkout without `pip install -e .`: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "snippets"))
    from leaklab.site import repo_url, site_url


@event_priority(100)  # before anything else reads site_url
def on_config(config):
    config["site_url"] = site_url()
    repo = repo_url()
    config["edit_uri"] = f"{repo}/edit/main/docs/" if repo else None
    return config


def on_page_markdown(markdown: str, page, config, files) -> str:
    repo = repo_url()
    if page.file.src_uri != "changelog.md" or not repo or FRAGMENT_RULES not in markdown:
        return markdown
    return markdown.replace(
        FRAGMENT_RULES, f"[{FRAGMENT_RULES}]({repo}/blob/main/changelog.d/README.md)", 1
    )
