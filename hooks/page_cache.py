"""Remember what a page transform returned for the same input, across builds.

The hooks that rewrite a page's HTML (glossary tooltips, LDR links) parse it with
BeautifulSoup, which costs more than the rest of a rebuild put together. Their output depends
only on their input, so ``memo`` stores it under a hash of the input and a rebuild with
nothing changed reads it back instead (``make build`` after ``make test``, ``make serve``
reloads). Entries unused for two days are removed.
"""

from __future__ import annotations

import functools
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

from notebook_runner import cache_dir

PROJECT = Path(__file__).resolve().parent.parent

MAX_IDLE_SECONDS = 2 * 24 * 3600
_pruned: set[str] = set()


def _prune(folder: Path) -> None:
    if folder.name in _pruned or not folder.is_dir():
        return
    _pruned.add(folder.name)
    cutoff = time.time() - MAX_IDLE_SECONDS
    for entry in folder.iterdir():
        try:
            if entry.stat().st_mtime < cutoff:
                entry.unlink()
        except OSError:
            pass  # removed by a concurrent build


@functools.cache
def _source_hash(module_file: str) -> str:
    return hashlib.sha256(Path(module_file).read_bytes()).hexdigest()


def memo(kind: str, code: str, transform: Callable[[str], str], text: str, *salt: str) -> str:
    """``transform(text)``, from the cache when it ran on the same ``text`` and ``salt``.

    ``code`` is the file of the module doing the transform (pass ``__file__``): editing it
    invalidates its entries.
    """
    parts = [kind, _source_hash(code), *salt, text]
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    folder = cache_dir(PROJECT) / "pages" / kind
    _prune(folder)
    path = folder / f"{digest[:32]}.html"
    try:
        result = path.read_text(encoding="utf-8")
        os.utime(path)  # still in use: keep it
        return result
    except OSError:
        pass
    result = transform(text)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(result, encoding="utf-8")
    tmp.replace(path)
    return result
