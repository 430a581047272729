"""Key mkdocs-jupyter's execution cache on the code notebooks import.

mkdocs-jupyter hashes only the notebook file, so a change in ``snippets/``
(the ``leaklab`` kit and the examples) would otherwise leave stale outputs on
the site. This hook moves the cache into a folder named after a hash of
``snippets/``, ``pyproject.toml`` and the lock, and prunes older folders.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

CACHE_ROOT = Path(".cache/mkdocs-jupyter")
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
    current = cache_root / code_fingerprint(root)
    plugin.config["cache_dir"] = str(current)
    if cache_root.is_dir():
        for stale in cache_root.iterdir():
            if stale.is_dir() and stale != current:
                shutil.rmtree(stale, ignore_errors=True)
    return config
