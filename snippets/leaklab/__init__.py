"""leaklab: measure file-descriptor leaks by FD type.

Import cost is the standard library only; plotting (matplotlib) and the no-/proc fallback
(psutil) load on first use, so the kit also runs in a bare child interpreter.

The names below load on first access (PEP 562 style), so ``import leaklab`` itself costs
next to nothing: ``leaklab census PID --json`` starts a fresh interpreter for every call and
is timed against a shell pipeline, start-up included, so it must not pay for
:mod:`leaklab.measure` (and what that imports) when it needs only :mod:`leaklab.census`.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing
if TYPE_CHECKING:
    from .census import (
        Census,
        CensusDelta,
        CensusError,
        FdEntry,
        ProcessAccessDenied,
        ProcessNotFound,
        census,
    )
    from .figures import record
    from .measure import (
        GcComparison,
        Measurement,
        Verdict,
        assert_flat,
        assert_leaks,
        measure,
        measure_gc_modes,
    )

#: Public name -> the submodule that defines it.
_EXPORTS: dict[str, str] = {
    "Census": "census",
    "CensusDelta": "census",
    "CensusError": "census",
    "FdEntry": "census",
    "ProcessAccessDenied": "census",
    "ProcessNotFound": "census",
    "census": "census",
    "GcComparison": "measure",
    "Measurement": "measure",
    "Verdict": "measure",
    "assert_flat": "measure",
    "assert_leaks": "measure",
    "measure": "measure",
    "measure_gc_modes": "measure",
    "record": "figures",
}

__all__ = [
    "Census",
    "CensusDelta",
    "CensusError",
    "FdEntry",
    "GcComparison",
    "Measurement",
    "ProcessAccessDenied",
    "ProcessNotFound",
    "Verdict",
    "assert_flat",
    "assert_leaks",
    "census",
    "measure",
    "measure_gc_modes",
    "record",
]


class _LazyPackage(ModuleType):
    """The ``leaklab`` package object: exports load with their submodule on first access.

    Two exports share their submodule's name (the functions ``census`` and ``measure``). The
    import system binds every imported submodule as an attribute of its package, which would
    let ``leaklab.census`` turn from the function into the module depending on import order;
    this class keeps those two names for the functions, as an eager import did.
    """

    def __getattr__(self, name: str) -> object:
        where = _EXPORTS.get(name)
        if where is None:
            raise AttributeError(f"module {self.__name__!r} has no attribute {name!r}")
        module = import_module(f"{self.__name__}.{where}")
        for export, home in _EXPORTS.items():
            if home == where:
                ModuleType.__setattr__(self, export, getattr(module, export))
        return getattr(module, name)

    def __setattr__(self, name: str, value: object) -> None:
        if isinstance(value, ModuleType) and _EXPORTS.get(name) == name:
            return  # the submodule stays reachable as sys.modules["leaklab.<name>"]
        ModuleType.__setattr__(self, name, value)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_EXPORTS))


sys.modules[__name__].__class__ = _LazyPackage
