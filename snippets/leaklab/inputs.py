"""Read a snapshot from a regular file, stdin or a pipe: bounded in size and in waiting.

``leaklab census --from /dev/zero`` used to read until memory ran out, and a FIFO nobody writes
to blocked forever. A snapshot is text of at most a few megabytes (an ``ls -l`` of 20k FDs is
about 1.5 MB), so anything that is not a regular file, stdin or a pipe is refused up front,
reading stops past :data:`MAX_BYTES`, and a FIFO gets :data:`WRITER_WAIT` seconds to produce
its first byte. Reads go in chunks, so Ctrl-C ends even the largest read at once.
"""

from __future__ import annotations

import os
import select
import stat

from .termsafe import printable

__all__ = ["MAX_BYTES", "WRITER_WAIT", "InputError", "read_input"]

#: Largest snapshot accepted; ten times the ``ls -l`` of LDR's 1024-FD incident, many times over.
MAX_BYTES = 32 * 1024 * 1024
#: Seconds a named FIFO may take to deliver its first byte before it counts as writer-less.
WRITER_WAIT = 5.0
_CHUNK = 1 << 16


class InputError(ValueError):
    """The input cannot be read as a snapshot; the message names it and says why."""


def _kind(mode: int) -> str | None:
    """None for what may be read, else the word for what it is."""
    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _wait_for_writer(fd: int, name: str, wait: float) -> None:
    """Return once the FIFO has data or was closed by a writer; refuse after ``wait`` s."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    if not poller.poll(int(wait * 1000)):
        raise InputError(
            f"{name}: a FIFO with no writer (nothing arrived within {wait:g} s);"
            " start the writer first, or save the snapshot to a file"
        )


def _read_all(fd: int, name: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, _CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise InputError(
                f"{name}: more than {limit // (1024 * 1024)} MiB: too large for a snapshot"
                " (is this the right file?)"
            )
        chunks.append(chunk)


def read_input(path: str, limit: int = MAX_BYTES, wait: float = WRITER_WAIT) -> tuple[bytes, str]:
    """(bytes, display name) of ``path``; ``-`` is stdin. Raises :class:`InputError`."""
    if path == "":
        raise InputError("empty file name: give a snapshot file, or - for stdin")
    if path == "-":
        name = "stdin"
        try:
            mode = os.fstat(0).st_mode
        except OSError:
            raise InputError("stdin is closed: pipe a snapshot in, or give a file") from None
        if os.isatty(0):
            raise InputError("stdin is a terminal: pipe or redirect a snapshot into it")
        kind = _kind(mode)
        if kind:
            raise InputError(f"stdin is {kind}, not a snapshot")
        return _read_all(0, name, limit), name
    name = printable(path)
    # O_NONBLOCK: opening a FIFO must not wait for a writer (it is cleared before reading).
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        kind = _kind(mode)
        if kind:
            raise InputError(f"{name}: is {kind}, not a snapshot file")
        if stat.S_ISFIFO(mode):
            _wait_for_writer(fd, name, wait)
        os.set_blocking(fd, True)
        return _read_all(fd, name, limit), name
    finally:
        os.close(fd)
