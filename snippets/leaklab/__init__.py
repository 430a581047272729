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
from .measure import Measurement, Verdict, assert_flat, assert_leaks, measure

__all__ = [
    "Census",
    "CensusDelta",
    "CensusError",
    "FdEntry",
    "Measurement",
    "ProcessAccessDenied",
    "ProcessNotFound",
    "Verdict",
    "assert_flat",
    "assert_leaks",
    "census",
    "measure",
]
