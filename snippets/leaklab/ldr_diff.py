"""The handbook's re-creations against LDR's own code: same checks, same release, same verdicts?

Every ``ldr_patterns`` module that re-creates an LDR function declares it in ``MIRRORS``
(``{"close_base_llm_wave7": ("utilities.llm_utils._close_base_llm", "1.6.11")}``): the LDR
function and the release whose code it follows. :func:`differential` runs each check that
calls that function twice in that release's environment, once on LDR's function and once with
the re-creation put in its place (``LEAKLAB_LDR_IMPL``), and reports both verdicts.

Where the two are meant to differ, :data:`KNOWN_DIFFERENCES` says why; the test asserts that
the measured differences are exactly those, and the releases page prints the reasons.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass

from .ldr_check import CHECKS, cached_report

__all__ = ["KNOWN_DIFFERENCES", "Mirror", "Row", "differential", "mirrors"]

#: (re-creation, check id) -> why its verdict differs from LDR's on purpose.
KNOWN_DIFFERENCES: dict[tuple[str, str], str] = {
    ("ldr_patterns.search_engine:BaseSearchEngine", "search-engine-close-cascade"): (
        "the handbook's BaseSearchEngine.close() closes only its filters; LDR's also closes "
        "an HTTP session kept in self.session, so a caller that still holds the engine keeps "
        "that session's pooled socket"
    ),
}


@dataclass(frozen=True)
class Mirror:
    """``pattern`` (``module:name``) re-creates LDR's ``function`` as of ``release``."""

    pattern: str
    function: str
    release: str

    def check_ids(self) -> list[str]:
        """The checks that call the mirrored function (or a method of the mirrored class)."""
        return [
            c.id
            for c in CHECKS
            if c.function == self.function or c.function.startswith(self.function + ".")
        ]


@dataclass(frozen=True)
class Row:
    """One check on one mirror: LDR's verdict and the re-creation's."""

    mirror: Mirror
    check: str
    ldr: str
    pattern: str

    @property
    def differs(self) -> bool:
        return self.ldr != self.pattern


def mirrors() -> list[Mirror]:
    """Every ``MIRRORS`` entry of every ``ldr_patterns`` module, in module order."""
    import ldr_patterns

    found: list[Mirror] = []
    for info in sorted(pkgutil.iter_modules(ldr_patterns.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"ldr_patterns.{info.name}")
        for name, (function, release) in getattr(module, "MIRRORS", {}).items():
            found.append(Mirror(f"{module.__name__}:{name}", function, release))
    return found


def differential() -> list[Row]:
    """Run every mirror's checks on LDR's code and on the re-creation (both cached)."""
    rows: list[Row] = []
    for mirror in mirrors():
        ids = mirror.check_ids()
        ldr = cached_report(mirror.release, ids)
        ours = cached_report(mirror.release, ids, impl={mirror.function: mirror.pattern})
        rows += [
            Row(mirror, check, ldr.by_id(check).verdict, ours.by_id(check).verdict) for check in ids
        ]
    return rows
