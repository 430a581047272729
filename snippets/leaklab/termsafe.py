"""Text from outside (file names, snapshot fields, command lines) made safe for a terminal.

A snapshot's ``source`` field, a category key or a process's command line is data someone else
wrote. Printed raw, ``ESC]0;...BEL`` retitles the terminal and ``ESC[2J`` clears it, so a
pasted report could hide its own evidence. Every such field goes through :func:`printable`.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 controls, DEL, C1 controls, and the lone surrogates that stand for undecodable bytes.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the original byte
        return f"\\x{code - 0xDC00:02x}"
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(match.group(), f"\\x{code:02x}")


def printable(text: object) -> str:
    """``text`` with every control character written as a visible escape (``\\x1b``, ``\\n``)."""
    return _UNSAFE.sub(_escape, str(text))
