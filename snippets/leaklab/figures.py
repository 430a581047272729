"""Headline figures: a notebook records what it measured, the pages show exactly that.

A page that states "a pooled connection costs N FDs" must not have N typed in by hand: the
number would go stale the day a library changes. So a notebook calls
``record("sqlite-wal-pools.fds_per_connection", n)`` after it has measured ``n``, and the site
renders ``[[fig:sqlite-wal-pools.fds_per_connection]]`` on any page with the value of the last
run (``hooks/measured_figures.py``). The key starts with the notebook's file name, so every
figure on a page links back to the experiment that produced it.

Each record also keeps what the value ran on: CPython, the OS kernel, the versions of the
libraries the notebooks measure, and when. Only the standard library is imported.
"""

from __future__ import annotations

import json
import os
import platform
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["FIGURES_ENV", "Figure", "figures_dir", "load", "record", "runtime"]

FIGURES_ENV = "LEAKLAB_FIGURES_DIR"
KEY = re.compile(r"^(?P<notebook>[a-z0-9][a-z0-9-]*)\.(?P<name>[a-z0-9_]+)$")
#: The libraries whose behaviour the notebooks measure; their versions go into every record.
LIBRARIES = ("httpx", "langchain-ollama", "ollama", "SQLAlchemy", "requests", "psutil")


@dataclass(frozen=True)
class Figure:
    """One recorded value and what it ran on."""

    key: str
    value: int | float | str
    unit: str | None
    python: str
    kernel: str
    libraries: dict[str, str]
    recorded: str

    @property
    def notebook(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def when(self) -> datetime:
        return datetime.strptime(self.recorded, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def formatted(self) -> str:
        value = f"{self.value:g}" if isinstance(self.value, float) else str(self.value)
        return f"{value} {self.unit}" if self.unit else value


def figures_dir() -> Path:
    """``$LEAKLAB_FIGURES_DIR``, else ``.cache/figures`` of the checkout the kit lives in."""
    configured = os.environ.get(FIGURES_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent.parent / ".cache" / "figures"


def runtime() -> dict[str, Any]:
    """What this interpreter is: CPython version, kernel release, measured library versions."""
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "kernel": f"{platform.system()} {platform.release()}",
        "libraries": versions,
    }


def record(key: str, value: int | float | str, unit: str | None = None) -> None:
    """Store ``value`` under ``key`` (``"<notebook>.<name>"``) for the pages to show.

    Writes one small JSON file per key, atomically, so notebooks executed in parallel never
    see a half-written file. Returns nothing, so a notebook cell of ``record()`` calls shows no
    output.
    """
    if not KEY.match(key):
        raise ValueError(f"figure key must read '<notebook>.<name>' in lower case, got {key!r}")
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"figure {key!r}: record a number or a string, not {type(value).__name__}")
    figure = Figure(
        key=key,
        value=value,
        unit=unit,
        recorded=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        **runtime(),
    )
    directory = figures_dir()
    directory.mkdir(parents=True, exist_ok=True)
    data = json.dumps(figure.__dict__, indent=1, sort_keys=True)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(data)
    os.replace(temporary, directory / f"{key}.json")


def load(directory: Path | None = None) -> dict[str, Figure]:
    """Every recorded figure, by key (an empty dict when nothing was recorded yet)."""
    directory = directory or figures_dir()
    found = {}
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        data = json.loads(path.read_text(encoding="utf-8"))
        found[data["key"]] = Figure(**data)
    return found
