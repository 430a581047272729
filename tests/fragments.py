"""Rules for changelog.d/ news fragment names, read from towncrier's own config.

towncrier silently ignores a file whose name it cannot parse, so a typo in a
fragment name would drop a changelog entry without anyone noticing; the test
suite checks every name with these rules instead.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

NOT_FRAGMENTS = {"README.md", ".gitignore", ".gitkeep"}
FRAGMENT_NAME = re.compile(
    r"(?:(?P<issue>[1-9][0-9]*)|\+(?P<slug>[a-z0-9][a-z0-9-]*))"
    r"\.(?P<type>[a-z]+)(?:\.[0-9]+)?\.md"
)


def fragment_types(pyproject: Path) -> set[str]:
    config = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["towncrier"]
    return {entry["directory"] for entry in config["type"]}


def fragment_name_error(name: str, types: set[str]) -> str | None:
    """Return why ``name`` is not a valid fragment file name, or None if it is."""
    match = FRAGMENT_NAME.fullmatch(name)
    if match is None:
        return f"{name}: expected <issue>.<type>.md or +<slug>.<type>.md"
    if match["type"] not in types:
        return f"{name}: unknown type {match['type']!r}; use one of {sorted(types)}"
    return None


def invalid_fragments(directory: Path, types: set[str]) -> list[str]:
    errors = []
    for path in sorted(directory.iterdir()):
        if path.name in NOT_FRAGMENTS:
            continue
        if path.is_dir():
            errors.append(f"{path.name}: folders are not fragments")
            continue
        error = fragment_name_error(path.name, types)
        if error is None and not path.read_text(encoding="utf-8").strip():
            error = f"{path.name}: empty fragment"
        if error:
            errors.append(error)
    return errors
