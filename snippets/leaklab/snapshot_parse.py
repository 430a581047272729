"""Turn a saved FD snapshot back into a :class:`~leaklab.census.Census`.

In an incident the evidence is often only text: a user's paste of ``ls -l /proc/PID/fd`` in an
issue, or the report ``host-snapshot.sh`` wrote before the container was restarted. Three
formats are recognised, tried in this order:

1. **leaklab JSON** (``leaklab census PID --json``): the text starts with ``{``.
2. **host-snapshot.sh report**: a line ``=== Total FDs ===``, ``=== FD-type histogram ... ===``
   or ``=== Counts by category ===`` is present. The category counts are taken as given (they
   cover every FD); the histogram supplies the other types; FDs the histogram cut off
   (``TOP=30``) and that no category line covers are counted as ``unclassified``.
3. **raw ``ls -l``**: every line holding a symlink mode string (``lrwx------``) followed by
   ``FD -> target`` is one FD.

Paste noise is tolerated, by rules simple enough to port to the playbook's paste box
(``docs/assets/javascripts/paste-triage.js`` follows them one by one):

* CRLF and CR line ends, a UTF-8 byte-order mark, blank lines, shell prompts and any other line
  that is not an FD line are ignored; a Markdown quote (``> lrwx...``) is fine too.
* A line cut by the terminal is joined again: an ``ls`` line without `` -> `` takes the next
  line(s) until the arrow appears; after a complete entry, a following line with no space in it
  that is not a prompt (does not end in ``$``, ``#``, ``>`` or ``%``) continues the target,
  unless the target already ends in ``]``.
* An FD number seen twice (the same listing pasted twice) counts once; the last line wins.
* A file name may hold a newline, and ``ls`` prints it raw: a line right after an entry that
  is not shaped like that entry's line (other column offsets, link count, owner, group or size)
  is taken as the rest of that entry's target, not as an FD. A name crafted to copy the
  listing's exact shape still reads as an FD line; only ``leaklab census PID`` is immune.

Text with no FD line at all, an empty file and binary data are refused with
:class:`SnapshotError`, whose message is meant to be shown as is.
"""

from __future__ import annotations

import re

from .census import CATEGORIES, SOCKET_KINDS, Census, FdEntry, categorize

__all__ = ["SnapshotError", "decode", "parse_snapshot", "read_snapshot"]

#: A symlink's mode string, at the start of a line or after a quote marker / whitespace.
MODE = re.compile(r"(?:^|[\s>|])l[-rwxsStT]{9}[.+@]?\s")
#: ``... 12 -> target`` at the end of an ls line.
ARROW = re.compile(r"\s(\d+)\s*->\s*(.*)$")
PID_IN_PATH = re.compile(r"/proc/(\d+)/fd")
PROMPT_END = ("$", "#", ">", "%")
#: How many physical lines one wrapped ls entry may span before it is dropped.
MAX_JOIN = 4

SECTION = re.compile(r"^=== (.+) ===$")
REPORT_HEADER = re.compile(r"^# PID (\d+)\b")
HIST_LINE = re.compile(r"^\s*(\d+) (\S.*)$")
COUNT_LINE = re.compile(r"^(socket|pipe|eventpoll|pidfd|WAL files|SHM files|\.db files):\s*(\d+)$")
#: host-snapshot.sh's category names -> census categories.
REPORT_CATEGORIES = {
    "socket": "socket",
    "pipe": "pipe",
    "eventpoll": "eventpoll",
    "pidfd": "pidfd",
    "WAL files": "sqlite_wal",
    "SHM files": "sqlite_shm",
    ".db files": "sqlite_db",
}


class SnapshotError(ValueError):
    """The input is not a snapshot leaklab can read; the message says what it found instead."""


def decode(data: bytes, name: str) -> str:
    """Bytes -> text with LF line ends; refuses empty and binary input.

    A file name that is not UTF-8 (``ls`` prints it byte for byte) does not make a listing
    binary: undecodable bytes are kept as surrogate escapes and printed as ``\\xNN``. Text
    with NUL bytes, or with more undecodable bytes than one in eight, is refused.
    """
    if not data.strip():
        raise SnapshotError(f"{name} is empty: nothing to read")
    if b"\x00" in data:
        raise SnapshotError(f"{name} is binary (it contains NUL bytes), not a text snapshot")
    text = data.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    bad = sum(1 for ch in text if "\udc80" <= ch <= "\udcff")
    if bad * 8 > len(data):
        raise SnapshotError(f"{name} is binary (not UTF-8 text), not a text snapshot")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _zero() -> dict[str, int]:
    return dict.fromkeys(CATEGORIES + SOCKET_KINDS, 0)


def _census_from_targets(pid: int, targets: dict[int, str], source: str) -> Census:
    counts = _zero()
    entries = []
    for fd in sorted(targets):
        target = targets[fd]
        category = categorize(target)
        counts[category] += 1
        detail = "deleted" if target.endswith(" (deleted)") else None
        entries.append(FdEntry(fd, target, category, detail))
    # Text cannot say which protocol a socket speaks: the socket sub-keys stay unknown.
    return Census(pid, len(entries), counts, tuple(entries), frozenset(SOCKET_KINDS), source)


def _shape(line: str) -> tuple[object, ...] | None:
    """What every line of one ``ls -l`` listing shares: column offsets, links, owner, size.

    ``ls`` pads its columns, so within one listing the FD number starts at the same offset
    after the mode string, after the same link count, owner, group and size. A line that is
    shaped differently right after an entry is text from inside that entry's target (a file
    name with a newline in it), not an FD of its own.
    """
    mode, arrow = MODE.search(line), ARROW.search(line)
    if mode is None or arrow is None:
        return None
    start = mode.start() + (0 if line[mode.start()] == "l" else 1)
    prefix = line[start : arrow.start()]
    return (len(prefix), *prefix.split()[1:5])


def _is_continuation(line: str) -> bool:
    return bool(line) and not any(c.isspace() for c in line) and not line.endswith(PROMPT_END)


def parse_ls(text: str) -> Census | None:
    """Raw ``ls -l /proc/PID/fd`` text (with paste noise) -> Census, or None if no FD line."""
    targets: dict[int, str] = {}
    pid = 0
    pending: str | None = None  # an ls line still waiting for its " -> "
    parts = 0
    last_fd: int | None = None  # the entry whose target a wrapped line may continue

    shape: tuple[object, ...] | None = None  # of the entry the next line may continue

    def finish(entry: str) -> int:
        nonlocal shape
        m = ARROW.search(entry)
        assert m is not None
        targets[int(m.group(1))] = m.group(2).strip()
        shape = _shape(entry)
        return int(m.group(1))

    for raw in text.split("\n"):
        line = raw.strip()
        if pid == 0 and (m := PID_IN_PATH.search(line)):
            pid = int(m.group(1))
        if pending is not None:
            joined, parts = pending + line, parts + 1
            pending = None
            if ARROW.search(joined):
                last_fd = finish(joined)
            elif line and parts < MAX_JOIN:
                pending = joined
            continue
        if MODE.search(line):
            if last_fd is not None and ARROW.search(line) and _shape(line) != shape:
                targets[last_fd] += "\n" + line  # a name with a newline, shaped unlike ls
                continue
            if ARROW.search(line):
                last_fd = finish(line)
            else:
                pending, parts, last_fd = line, 1, None
            continue
        if last_fd is not None and _is_continuation(line) and not targets[last_fd].endswith("]"):
            targets[last_fd] += line
            continue
        last_fd = None
    if not targets:
        return None
    return _census_from_targets(pid, targets, "ls-l")


def parse_report(text: str) -> Census | None:
    """A host-snapshot.sh report -> Census, or None if it holds no count at all."""
    pid = 0
    section = ""
    total: int | None = None
    histogram = _zero()
    reported: dict[str, int] = {}
    seen_hist = False
    for raw in text.split("\n"):
        line = raw.rstrip()
        if m := REPORT_HEADER.match(line):
            pid = int(m.group(1))
            continue
        if m := SECTION.match(line.strip()):
            section = m.group(1)
            continue
        if section.startswith("Total FDs") and total is None and line.strip().isdigit():
            total = int(line.strip())
        elif section.startswith("FD-type histogram") and (m := HIST_LINE.match(line)):
            histogram[categorize(m.group(2))] += int(m.group(1))
            seen_hist = True
        elif section.startswith("Counts by category") and (m := COUNT_LINE.match(line.strip())):
            reported[REPORT_CATEGORIES[m.group(1)]] = int(m.group(2))
    if total is None and not seen_hist and not reported:
        return None
    counts = dict(histogram)
    counts.update(reported)
    listed = sum(counts[c] for c in CATEGORIES)
    if total is None or total < listed:
        total = listed
    if total > listed:
        counts["unclassified"] = total - listed
    return Census(pid, total, counts, (), frozenset(SOCKET_KINDS), "host-snapshot")


def parse_json(text: str) -> Census:
    """leaklab's own JSON -> Census, after checking it against the schema."""
    from .snapshot_schema import SchemaError, loads, validate

    try:
        data = validate(loads(text))
    except SchemaError as exc:
        raise SnapshotError(f"not a valid leaklab census: {exc}") from None
    return Census.from_dict(data, origin="json")


def parse_snapshot(text: str, name: str = "input") -> Census:
    """Recognise the format (see the module docstring) and parse it."""
    if text.lstrip().startswith("{"):
        return parse_json(text)
    if any(SECTION.match(line.strip()) for line in text.split("\n")):
        found = parse_report(text)
    else:
        found = parse_ls(text)
    if found is None:
        raise SnapshotError(
            f"{name} holds no FD lines: expected `ls -l /proc/PID/fd` output, a host-snapshot.sh"
            " report or `leaklab census --json` output"
        )
    return found


def read_snapshot(path: str) -> Census:
    """Read ``path`` (``-`` for stdin) read-only and bounded (:mod:`leaklab.inputs`); parse it."""
    from .inputs import InputError, read_input

    try:
        data, name = read_input(path)
    except InputError as exc:
        raise SnapshotError(str(exc)) from None
    return parse_snapshot(decode(data, name), name)
