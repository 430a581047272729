"""Key mkdocs-jupyter's execution cache on the code notebooks import.

mkdocs-jupyter hashes only the notebook file, so a change in ``snippets/``
(the ``leaklab`` kit and the examples) would otherwise leave stale outputs on
the site. This hook moves the cache into a folder named after a hash of
``snippets/``, ``pyproject.toml`` and the lock, and prunes older folders.

``make serve`` must answer within seconds, but executing every notebook takes minutes.
So it sets ``HANDBOOK_SERVE_WARMING=1``: until a background build has executed every
notebook for the current code (it then writes ``.cache/ready/<fingerprint>``), the served
site shows notebooks unexecuted; when the marker appears, the watched folder triggers a
rebuild that finds every output in the cache.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

CACHE_ROOT = Path(".cache/mkdocs-jupyter")
READY_ROOT = Path(".cache/ready")
WATCHED = ("snippets", "pyproject.toml", "requirements.lock")


def code_fingerprint(root: Path) -> str:
    """Hash every file notebooks may import, in a stable order."""
    digest = hashlib.sha256()
    for name in WATCHED:
        path = root / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if not file.is_file() or "__pycache__" in file.parts:
                continue
            digest.update(file.relative_to(root).as_posix().encode())
            digest.update(b"\0")
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def on_config(config):
    root = Path(config["config_file_path"]).parent
    plugin = config["plugins"].get("mkdocs-jupyter")
    if plugin is None:
        return config
    cache_root = root / CACHE_ROOT
    fingerprint = code_fingerprint(root)
    current = cache_root / fingerprint
    plugin.config["cache_dir"] = str(current)
    warming = os.environ.get("HANDBOOK_SERVE_WARMING") == "1"
    if warming and not (root / READY_ROOT / fingerprint).exists():
        plugin.config["execute"] = False
        # No cache either: after each build mkdocs-jupyter deletes every entry that build did
        # not use, which were the executed outputs the background build had just written.
        plugin.config["cache"] = False
    if cache_root.is_dir():
        for stale in cache_root.iterdir():
            if stale.is_dir() and stale != current:
                shutil.rmtree(stale, ignore_errors=True)
    return config


if __name__ == "__main__":
    # `python hooks/notebook_cache.py --ready-file` prints the marker path for this code.
    if sys.argv[1:] != ["--ready-file"]:
        sys.exit("usage: notebook_cache.py --ready-file")
    here = Path(__file__).resolve().parent.parent
    print(here / READY_ROOT / code_fingerprint(here))
