"""Where the handbook is served: one setting for the site build and for leaklab's page links.

The site's address is not fixed: a checkout serves it locally with ``make serve``, and whoever
publishes it chooses the host. So the address comes from the environment, ``HANDBOOK_SITE_URL``,
and the same value is the build's ``site_url`` (``hooks/site_address.py``) and the root of the
page links ``leaklab triage`` prints. Unset, it is the address ``make serve`` uses by default, so
links work for anyone who runs the handbook locally and point nowhere else.

Edit links and links to the handbook's own files exist only when ``HANDBOOK_REPO_URL`` names the
repository that holds the sources.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["LOCAL_SERVE_URL", "REPO_ENV", "SITE_ENV", "repo_url", "site_url"]

SITE_ENV = "HANDBOOK_SITE_URL"
REPO_ENV = "HANDBOOK_REPO_URL"
#: The address ``make serve`` serves on unless HOST or PORT are given.
LOCAL_SERVE_URL = "http://127.0.0.1:8000/"


def site_url(environ: Mapping[str, str] = os.environ) -> str:
    """The handbook's address, ending in ``/``: ``$HANDBOOK_SITE_URL``, else the local one."""
    url = environ.get(SITE_ENV, "").strip() or LOCAL_SERVE_URL
    return url if url.endswith("/") else url + "/"


def repo_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """The repository holding the handbook's sources, or ``None`` when none is configured."""
    url = environ.get(REPO_ENV, "").strip().rstrip("/")
    return url or None
