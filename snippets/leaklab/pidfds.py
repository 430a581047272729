"""Every pidfd a process holds, with the process it points at.

A pile of pidfds only says that children were started; what matters is whether those children
still exist. The kernel writes the target into ``/proc/PID/fdinfo/FD`` as ``Pid:``: a positive
number is a live child (or a zombie not yet reaped), ``-1`` a child that exited and was reaped
while the pidfd stayed open (an *orphan*, Round 8's signature), ``0`` a process outside the PID
namespace of this ``/proc``. The same reading as ``snippets/playbook/pidfd-targets.sh``, with
the command line of each live target.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .census import census
from .termsafe import printable

__all__ = ["PidfdTarget", "pidfd_targets", "render_text", "summary", "to_dict"]

ALIVE, ZOMBIE, ORPHAN, OTHER_NS, UNKNOWN = "alive", "zombie", "orphan", "other-namespace", "unknown"


@dataclass(frozen=True)
class PidfdTarget:
    fd: int
    target: int | None
    state: str
    cmdline: str = ""


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def _describe(target: int) -> tuple[str, str]:
    """(state, cmdline) of a positive target PID, read from /proc."""
    stat = _read(f"/proc/{target}/stat")
    # The state letter follows the ")" that closes the command name.
    state_letter = stat.rpartition(b")")[2].split()[:1]
    cmd = _read(f"/proc/{target}/cmdline").replace(b"\0", b" ").strip()
    text = cmd.decode("utf-8", "replace")
    if state_letter == [b"Z"]:
        return ZOMBIE, text
    if not stat:
        return ORPHAN, ""  # gone between the fdinfo read and now
    return ALIVE, text


def pidfd_targets(pid: int) -> list[PidfdTarget]:
    """The pidfds of ``pid`` in FD order; raises the census errors for a bad PID."""
    out = []
    for entry in census(pid).entries:
        if entry.category != "pidfd":
            continue
        if not entry.detail or not entry.detail.startswith("pid="):
            out.append(PidfdTarget(entry.fd, None, UNKNOWN))
            continue
        target = int(entry.detail[4:])
        if target == -1:
            out.append(PidfdTarget(entry.fd, target, ORPHAN))
        elif target == 0:
            out.append(PidfdTarget(entry.fd, target, OTHER_NS))
        else:
            state, cmd = _describe(target)
            out.append(PidfdTarget(entry.fd, target, state, cmd))
    return out


def summary(targets: list[PidfdTarget]) -> dict[str, int]:
    counts = dict.fromkeys((ALIVE, ZOMBIE, ORPHAN, OTHER_NS, UNKNOWN), 0)
    for t in targets:
        counts[t.state] += 1
    return counts


def render_text(pid: int, targets: list[PidfdTarget]) -> str:
    lines = []
    for t in targets:
        if t.state == ALIVE:
            cmd = printable(t.cmdline[:80]) or "<no cmdline>"
            lines.append(f"fd={t.fd} alive pid={t.target} : {cmd}")
        elif t.state == ZOMBIE:
            lines.append(f"fd={t.fd} zombie pid={t.target} (exited, not yet reaped)")
        elif t.state == ORPHAN:
            lines.append(f"fd={t.fd} ORPHAN (child exited; pidfd not closed)")
        elif t.state == OTHER_NS:
            lines.append(f"fd={t.fd} OTHER-NAMESPACE (target not visible from this /proc)")
        else:
            lines.append(f"fd={t.fd} unknown (fdinfo has no Pid: line)")
    s = summary(targets)
    lines.append(
        f"PID {pid} pidfds: {len(targets)} (alive {s[ALIVE]}, zombie {s[ZOMBIE]},"
        f" orphan {s[ORPHAN]}, other namespace {s[OTHER_NS]})"
    )
    return "\n".join(lines) + "\n"


def to_dict(pid: int, targets: list[PidfdTarget]) -> dict[str, Any]:
    return {
        "pid": pid,
        "pidfds": [t.__dict__ for t in targets],
        "summary": summary(targets),
    }
