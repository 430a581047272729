"""leaklab: measure file-descriptor leaks by FD type.

Import cost is the standard library only; plotting (matplotlib) and the no-/proc fallback
(psutil) load on first use, so the kit also runs in a bare child interpreter.
"""

from .census import (
    Census,
    CensusDelta,
    CensusError,
    FdEntry,
    ProcessAccessDenied,
    ProcessNotFound,
    census,
)
from .measure import (
    GcComparison,
    Measurement,
    Verdict,
    assert_flat,
    assert_leaks,
    measure,
    measure_gc_modes,
)

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
]
