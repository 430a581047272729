"""Find the other CPython versions installed here, so a notebook can run one cycle under each.

Leak behaviour can change between CPython releases (asyncio's child watchers, for one), so a
page that says "leaks" should say on which versions. Only interpreters that actually start and
report themselves as CPython are returned; leaklab itself needs nothing beyond the standard
library, so :func:`child_env` is enough to use it there.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import NamedTuple

__all__ = ["Interpreter", "child_env", "find_cpythons"]

_NAME = re.compile(r"python3\.(\d+)")
_PROBE = "import platform,sys;print(platform.python_implementation(),*sys.version_info[:3])"
SNIPPETS = Path(__file__).resolve().parent.parent


class Interpreter(NamedTuple):
    """``(version, path)``; unpacks like the plain tuple the API promises."""

    version: tuple[int, int, int]
    path: str


def _pyenv_root() -> Path:
    exe = shutil.which("pyenv")
    if exe:
        try:
            out = subprocess.run([exe, "root"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0 and out.stdout.strip():
                return Path(out.stdout.strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def _candidates() -> list[str]:
    found: list[str] = []
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        try:
            names = sorted(os.listdir(folder or "."))
        except OSError:
            continue
        found += [os.path.join(folder, n) for n in names if _NAME.fullmatch(n)]
    versions = _pyenv_root() / "versions"
    if versions.is_dir():
        found += [str(p) for p in sorted(versions.glob("*/bin/python3"))]
    return found


def _probe(path: str) -> tuple[int, int, int] | None:
    try:
        out = subprocess.run([path, "-c", _PROBE], capture_output=True, text=True, timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) != 4 or parts[0] != "CPython":
        return None
    return (int(parts[1]), int(parts[2]), int(parts[3]))


def find_cpythons(min_version: tuple[int, int] = (3, 11)) -> list[Interpreter]:
    """Installed CPythons >= ``min_version``: ``python3.X`` on PATH and pyenv's versions.

    Newest first, one entry per minor version (its newest patch release; on a tie the first
    path found, PATH before pyenv), so a notebook runs each release line once. pyenv shims are
    skipped: they are wrappers whose version depends on the working directory.
    """
    seen_paths: set[str] = set()
    by_minor: dict[tuple[int, int], Interpreter] = {}
    for path in _candidates():
        real = os.path.realpath(path)
        if real in seen_paths or "/shims/" in path or not os.access(real, os.X_OK):
            continue
        seen_paths.add(real)
        version = _probe(path)
        if version is None or version[:2] < tuple(min_version):
            continue
        best = by_minor.get(version[:2])
        if best is None or version > best.version:
            by_minor[version[:2]] = Interpreter(version, path)
    return sorted(by_minor.values(), reverse=True)


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a child interpreter that should ``import leaklab`` from the snippets."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(SNIPPETS), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env
