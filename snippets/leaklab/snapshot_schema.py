"""The schema of leaklab's census JSON, checked before a saved census is believed.

A census read back from a file decides an exit status (``triage`` exits 1 on a leak), so a
hand-edited or corrupted file must not pass for evidence: ``"total": -7`` next to 20 eventpolls
once read as "LEAK SUSPECTED". Every field is checked; the first violation becomes one
:class:`SchemaError` naming the field (``counts.eventpoll: ...``), never a crash.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .census import CATEGORIES, SOCKET_KINDS, TCP_STATES

__all__ = ["MAX_COUNT", "MAX_ENTRIES", "SchemaError", "loads", "validate"]

#: Largest FD count or number believed: the kernel's own ceiling for open FDs (fs.nr_open).
MAX_COUNT = 1 << 30
#: Largest PID (PID_MAX_LIMIT on 64-bit Linux).
MAX_PID = 1 << 22
#: Most entries one census may list, and the longest string field (PATH_MAX plus a suffix).
MAX_ENTRIES = 1 << 20
MAX_TEXT = 4096 + 64
#: Sources leaklab itself writes.
SOURCES = frozenset({"proc", "psutil", "ls-l", "host-snapshot"})
TOP_KEYS = frozenset({"pid", "total", "counts", "entries", "unseen", "source"})
_TCP_KEY = re.compile(r"socket\.tcp\.(\w+)")
_TCP_NAMES = frozenset(TCP_STATES.values())


class SchemaError(ValueError):
    """One violation of the census schema; the message starts with the field's name."""


class _TooLong:
    """A number with too many digits to be a count, kept only to name it in the error."""

    def __init__(self, digits: str) -> None:
        self.digits = len(digits)


def known_key(key: str) -> bool:
    """Count keys a census may hold: categories, socket kinds, TCP states, ``unclassified``."""
    if key in CATEGORIES or key in SOCKET_KINDS or key == "unclassified":
        return True
    m = _TCP_KEY.fullmatch(key)
    return bool(m and (m.group(1) in _TCP_NAMES or re.fullmatch(r"[0-9a-f]{2}", m.group(1))))


def _describe(value: Any) -> str:
    if isinstance(value, _TooLong):
        return f"a {value.digits}-digit number"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, float):
        return f"the non-integer {value!r}"
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'...' if len(text) > 40 else ''}"


def _count(field: str, value: Any, top: int = MAX_COUNT) -> int:
    if type(value) is not int or not 0 <= value <= top:
        raise SchemaError(f"{field}: expected an integer from 0 to {top}, got {_describe(value)}")
    return value


def _text(field: str, value: Any, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise SchemaError(f"{field}: expected a string, got {_describe(value)}")
    if len(value) > MAX_TEXT:
        raise SchemaError(f"{field}: longer than {MAX_TEXT} characters")
    return value


def loads(text: str) -> Any:
    """``json.loads`` that cannot crash on hostile input: no NaN/Infinity, no 4300-digit ints."""

    def constant(name: str) -> float:
        return float(name.replace("Infinity", "inf"))  # rejected with its field by validate()

    def integer(digits: str) -> int | _TooLong:
        return _TooLong(digits) if len(digits.lstrip("-")) > 18 else int(digits)

    try:
        return json.loads(text, parse_constant=constant, parse_int=integer)
    except RecursionError:
        raise SchemaError("JSON nested too deeply to be a census") from None
    except ValueError as exc:
        raise SchemaError(f"not valid JSON ({exc})") from None


def validate(data: Any) -> dict[str, Any]:
    """Check ``data`` against the schema; return it unchanged if it passes."""
    if not isinstance(data, dict):
        raise SchemaError(f"top level: expected an object, got {_describe(data)}")
    for key in data:
        if key not in TOP_KEYS:
            expected = ", ".join(sorted(TOP_KEYS))
            raise SchemaError(f"{str(key)[:40]}: unknown field (expected {expected})")
    for key in ("pid", "total", "counts"):
        if key not in data:
            raise SchemaError(f"{key}: missing")
    _count("pid", data["pid"], MAX_PID)
    total = _count("total", data["total"])
    counts = data["counts"]
    if not isinstance(counts, dict):
        raise SchemaError(f"counts: expected an object, got {_describe(counts)}")
    for key, value in counts.items():
        if not known_key(key):
            raise SchemaError(f"counts.{str(key)[:40]}: unknown category")
        _count(f"counts.{key}", value)
    listed = sum(counts.get(k, 0) for k in (*CATEGORIES, "unclassified"))
    if listed > total:
        raise SchemaError(f"total: {total} is less than the sum of the categories ({listed})")
    sockets = sum(counts.get(k, 0) for k in SOCKET_KINDS)
    if sockets > counts.get("socket", 0):
        raise SchemaError(f"counts.socket: less than the sum of its kinds ({sockets})")
    tcp = sum(v for k, v in counts.items() if _TCP_KEY.fullmatch(k))
    if tcp > counts.get("socket.tcp", 0):
        raise SchemaError(f"counts.socket.tcp: less than the sum of its states ({tcp})")
    entries = data.get("entries", [])
    if not isinstance(entries, list) or len(entries) > min(total, MAX_ENTRIES):
        raise SchemaError("entries: expected a list of at most `total` entries")
    for i, entry in enumerate(entries):
        where = f"entries[{i}]"
        if not isinstance(entry, list) or len(entry) not in (3, 4):
            raise SchemaError(f"{where}: expected [fd, target, category, detail]")
        _count(f"{where}.fd", entry[0])
        _text(f"{where}.target", entry[1])
        if entry[2] not in CATEGORIES:
            raise SchemaError(f"{where}.category: unknown category")
        if len(entry) == 4:
            _text(f"{where}.detail", entry[3], optional=True)
    unseen = data.get("unseen", [])
    if not isinstance(unseen, list) or not all(isinstance(k, str) and known_key(k) for k in unseen):
        raise SchemaError("unseen: expected a list of category names")
    if data.get("source", "proc") not in SOURCES:
        raise SchemaError(f"source: expected one of {', '.join(sorted(SOURCES))}")
    return data
