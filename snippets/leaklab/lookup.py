"""The playbook's lookup table, FD type -> likely source, as data.

One table serves three readers, so it lives here and nowhere else: ``leaklab triage`` prints
its rows, ``docs/playbook.md`` includes the Markdown rendered from it (``lookup-table.md``), and
the playbook's paste box reads the JSON that ``hooks/leaklab_data.py`` exports into the site at
build time. A unit test compares the committed Markdown with a fresh render, so the page, the
browser and the command line cannot drift apart.

Command line::

    python -m leaklab.lookup --markdown   # the table as the playbook includes it
    python -m leaklab.lookup --json       # the export the paste box reads
    python -m leaklab.lookup --write      # rewrite lookup-table.md and eventpoll-mechanisms.md
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .site import LOCAL_SERVE_URL

__all__ = [
    "DEFAULT_SITE_ROOT",
    "DOMINANT_SHARE",
    "EVENTPOLL_MECHANISMS",
    "FROM_NOTEBOOK",
    "ROWS",
    "Fix",
    "Mechanism",
    "Row",
    "export",
    "render_markdown",
    "row_for",
    "site_url",
]

MARKDOWN_PATH = Path(__file__).resolve().with_name("lookup-table.md")
MECHANISMS_PATH = Path(__file__).resolve().with_name("eventpoll-mechanisms.md")

#: The root page links start with when no other is given: the local ``make serve`` address
#: (``leaklab.site``; ``HANDBOOK_SITE_URL`` and ``--site-root`` choose another).
DEFAULT_SITE_ROOT = LOCAL_SERVE_URL
#: The site root as seen from a notebook's page (``notebooks/<name>/``, directory URLs): links
#: the kit renders into a notebook's output start with it, as the notebooks' own prose does.
FROM_NOTEBOOK = "../../"

#: A type is *dominant* when it holds at least this share of all FDs (the largest type always is).
DOMINANT_SHARE = 0.10

#: How many dominant types triage names at most.
MAX_DOMINANT = 3


@dataclass(frozen=True)
class Fix:
    """One earlier fix of this FD class: the wave (a history.md anchor) and its pull requests."""

    wave: str
    anchor: str
    prs: tuple[int, ...] = ()
    what: str = ""


@dataclass(frozen=True)
class Mechanism:
    """One way an FD type can pile up, with the evidence an incident has that tells it apart.

    ``companions`` is what each FD of the row's type brings along, as census keys: a whole
    event loop brings ``{"socket": 2}`` (its unix self-pipe pair). A snapshot that holds fewer
    such FDs than ``count x companion`` cannot be explained by this mechanism alone (a pasted
    ``ls -l`` does not say which sockets are unix sockets, so the check uses all sockets).
    ``before_limit`` says whether the count grows while the table still has room;
    ``gc_collect`` says whether one ``gc.collect()`` in the process releases them.
    The notebook named in ``measured_in`` asserts these fields against a measurement.
    """

    id: str
    name: str
    companions: tuple[tuple[str, int], ...]
    before_limit: bool
    gc_collect: bool
    logs: str
    measured_in: str

    def fits(self, count: int, counts: Mapping[str, int]) -> bool:
        """Whether ``count`` FDs of this mechanism fit a census's other counts."""
        return all(counts.get(key, 0) >= per * count for key, per in self.companions)

    def evidence(self) -> str:
        """The distinguishing evidence in one line (Markdown)."""
        if self.companions:
            ratio = ", ".join(f"{per} {key}s beside each" for key, per in self.companions)
        else:
            ratio = "no sockets beside it"
        growth = "grows from the start" if self.before_limit else "grows only at the FD limit"
        collect = "released by gc.collect()" if self.gc_collect else "gc.collect() releases none"
        return f"{ratio}; {growth}; {collect}; logs: {self.logs}"


#: Everything measured to leave `anon_inode:[eventpoll]` FDs, and how to tell them apart.
EVENTPOLL_MECHANISMS: tuple[Mechanism, ...] = (
    Mechanism(
        id="loop-held",
        name="event loop never closed, still referenced",
        companions=(("socket", 2),),
        before_limit=True,
        gc_collect=False,
        logs="nothing",
        measured_in="notebooks/exhaustion-skew.ipynb",
    ),
    Mechanism(
        id="loop-dropped",
        name="event loop never closed, dropped (waits for the cyclic GC)",
        companions=(("socket", 2),),
        before_limit=True,
        gc_collect=True,
        logs="`ResourceWarning: unclosed event loop` when collected, if warnings are shown",
        measured_in="notebooks/exhaustion-skew.ipynb",
    ),
    Mechanism(
        id="selector-dropped",
        name="selector dropped without `close()` (it and its `_SelectorMapping` form a cycle)",
        companions=(),
        before_limit=True,
        gc_collect=True,
        logs="nothing",
        measured_in="notebooks/exhaustion-skew.ipynb",
    ),
    Mechanism(
        id="selector-held",
        name="selector kept referenced, never closed",
        companions=(),
        before_limit=True,
        gc_collect=False,
        logs="nothing",
        measured_in="notebooks/exhaustion-skew.ipynb",
    ),
    Mechanism(
        id="half-built-at-emfile",
        name=(
            "loop half-built at the FD limit: `asyncio.run`/`new_event_loop` got its epoll FD,"
            " then `socketpair()` failed with EMFILE (the exhaustion skew)"
        ),
        companions=(),
        before_limit=False,
        gc_collect=True,
        logs=(
            "`AttributeError: '_UnixSelectorEventLoop' object has no attribute '_ssock'`"
            ' ("Exception ignored in ... BaseEventLoop.__del__") and `OSError: [Errno 24]`'
            " raised from `socketpair()`"
        ),
        measured_in="notebooks/exhaustion-skew.ipynb",
    ),
)


@dataclass(frozen=True)
class Row:
    """One row of the lookup table.

    ``keys`` are the census categories the row answers for; ``suspect_at`` is the count from
    which triage calls a leak suspected (``None``: this type is not a leak by itself). Links
    (``page``, ``notebook``, inside ``next_step``) are relative to ``docs/``, as the pages write
    them; :func:`site_url` turns them into URLs under a site root.
    """

    id: str
    fd_type: str
    keys: tuple[str, ...]
    likely_source: str
    next_step: str
    where_to_look: str
    page: str
    notebook: str | None
    suspect_at: int | None
    fixes: tuple[Fix, ...] = field(default_factory=tuple)
    #: The measured ways this type piles up; triage lists them with the evidence for each.
    mechanisms: tuple[Mechanism, ...] = field(default_factory=tuple)


#: Healthy LDR processes hold a handful of these; 929 eventpolls and 29 orphan pidfds did not.
SMALL_TYPE_LIMIT = 16
#: Sockets, pipes and SQLite files have legitimate pools; a quarter of LDR's 1024 limit is not one.
POOLED_TYPE_LIMIT = 256

ROWS: tuple[Row, ...] = (
    Row(
        id="eventpoll",
        fd_type="`anon_inode:[eventpoll]`",
        keys=("eventpoll",),
        likely_source=(
            "The selector of an asyncio event loop or of an `httpx.AsyncClient`: each leaked"
            " async client adds one, says LDR's table. Measured by the handbook"
            " ([register](measured.md#async-client-fds)): a used async client holds a TCP"
            " socket and no eventpoll; an unclosed loop brings unix sockets with its eventpoll;"
            " eventpoll with no sockets beside it comes from selectors dropped or kept"
            " without `close()`, or from loops half-built at the FD limit, which turn freed FDs"
            " into eventpoll. [Which one it is](playbook.md#eventpoll-mechanisms) shows in the"
            " evidence;"
            " the root cause of LDR's 929 is not known."
        ),
        next_step=(
            "[Grep the async sites](playbook.md#eventpoll) (`asyncio.create_subprocess`,"
            " `httpx.AsyncClient`, `_async_client`, `ainvoke`); compare with"
            " [Wave 6](history.md#wave-6) and [Wave 7](history.md#wave-7)."
        ),
        where_to_look=(
            "grep for asyncio.create_subprocess, httpx.AsyncClient, _async_client and ainvoke"
            " (snippets/playbook/grep-async-sites.sh); check every path closes the async client"
        ),
        page="playbook.md#eventpoll",
        notebook="notebooks/async-chat-clients.ipynb",
        suspect_at=SMALL_TYPE_LIMIT,
        fixes=(
            Fix("Wave 4", "wave-4", (3018,), "a hand-made event loop never closed"),
            Fix("Wave 6", "wave-6", (3855,), "ChatOllama's async httpx client never closed"),
            Fix("Wave 7", "wave-7", (4047,), "the close skipped inside a running loop"),
        ),
        mechanisms=EVENTPOLL_MECHANISMS,
    ),
    Row(
        id="pidfd",
        fd_type="`anon_inode:[pidfd]`",
        keys=("pidfd",),
        likely_source=(
            "`asyncio.create_subprocess_*` or `multiprocessing.Process`, which call"
            " `pidfd_open` on Linux, says LDR's table. Measured by the handbook"
            " ([register](measured.md#pidfd-children)): asyncio on 3.12+ leaks one per child"
            " still running when its loop closes; `fork` multiprocessing and a failed exec open"
            " none."
        ),
        next_step=(
            "[Read each pidfd's fdinfo](playbook.md#pidfd): its `Pid:` line names the target,"
            " and `-1` means the child has already exited."
        ),
        where_to_look=(
            "run `leaklab pidfds PID` (or snippets/playbook/pidfd-targets.sh): Pid -1 marks an"
            " orphan whose child exited while the pidfd stayed open"
        ),
        page="playbook.md#pidfd",
        notebook="notebooks/pidfd-asyncio-subprocess.ipynb",
        suspect_at=SMALL_TYPE_LIMIT,
        fixes=(
            Fix("Wave 7", "wave-7", (4047,), "healthcheck `urlopen` without a timeout"),
            Fix("Round 8", "round-8", (3971,), "Playwright fallback without Chromium"),
        ),
    ),
    Row(
        id="socket",
        fd_type="`socket:[N]`, many",
        keys=("socket",),
        likely_source="HTTP keep-alive connections, SSE streams, Socket.IO connections.",
        next_step=(
            "Match against the TCP states in `/proc/PID/net/tcp`; check the socket patterns"
            " that audit agent [R7A8](glossary.md#audit-labels) recorded in Wave 7."
        ),
        where_to_look=(
            "`leaklab census PID` splits sockets by protocol and TCP state (from"
            " /proc/PID/net/tcp); check the socket patterns of audit agent R7A8 (round 7,"
            " agent 8 of the Wave 7 audit)"
        ),
        page="history.md#wave-3",
        notebook="notebooks/http-sessions.ipynb",
        suspect_at=POOLED_TYPE_LIMIT,
        fixes=(
            Fix("Wave 1", "wave-1", (), "`SafeSession`/`BaseDownloader` closed in `finally`"),
            Fix("Wave 3", "wave-3", (), "`SafeSession`/`BaseDownloader` closed in `finally`"),
        ),
    ),
    Row(
        id="pipe",
        fd_type="`pipe:[N]`, many",
        keys=("pipe",),
        likely_source=(
            "`subprocess.run`/`Popen` with `stdout=PIPE`, multiprocessing IPC, the loguru queue."
        ),
        next_step="Review the `subprocess.run` sites and which executor type APScheduler uses.",
        where_to_look="the subprocess.run sites and the executor type APScheduler runs jobs in",
        page="fingerprints.md",
        notebook="notebooks/subprocess-pipes.ipynb",
        suspect_at=POOLED_TYPE_LIMIT,
    ),
    Row(
        id="wal-shm",
        fd_type="regular file `*-wal` / `*-shm`",
        keys=("sqlite_wal", "sqlite_shm"),
        likely_source=(
            "SQLCipher in WAL mode; about 3 FDs per pooled connection, says LDR's table"
            " ([HB-004](adr/hb-004.md)). Measured by the handbook: fewer"
            " ([register](measured.md#sqlite-wal-fds))."
        ),
        next_step=(
            "If it grows without limit, the periodic `engine.dispose()` is failing quietly:"
            " [see WAL/SHM](playbook.md#wal-shm)."
        ),
        where_to_look=(
            "search the logs for 'Error disposing engine for <user>': the 30-minute"
            " engine.dispose() may be failing"
        ),
        page="playbook.md#wal-shm",
        notebook="notebooks/sqlite-wal-pools.ipynb",
        suspect_at=POOLED_TYPE_LIMIT,
        fixes=(Fix("Wave 5", "wave-5", (3340, 3441, 3477), "bounded QueuePool, HB-004"),),
    ),
    Row(
        id="sqlite-db",
        fd_type="regular file `/data/*.db`, many",
        keys=("sqlite_db",),
        likely_source="Plain SQLite connections from an engine with no bounded pool.",
        next_step=(
            "Audit every `create_engine` call (audit agent [R7A6](glossary.md#audit-labels)"
            " found two unmanaged engines this way)."
        ),
        where_to_look="every create_engine call: each engine needs a bounded pool and a dispose",
        page="history.md#wave-5",
        notebook="notebooks/sqlite-wal-pools.ipynb",
        suspect_at=POOLED_TYPE_LIMIT,
        fixes=(Fix("Wave 5", "wave-5", (3441,), "per-thread NullPool engines removed"),),
    ),
    Row(
        id="mmap",
        fd_type="regular file, mmapped model weights or FAISS index",
        keys=("file",),
        likely_source="Usually a process-wide singleton, not a leak.",
        next_step="Check whether the count rises per request; only then is it a leak.",
        where_to_look="take two snapshots some requests apart (`leaklab diff A B`)",
        page="playbook.md#lookup-table",
        notebook=None,
        suspect_at=None,
    ),
)

_BY_KEY: dict[str, Row] = {key: row for row in ROWS for key in row.keys}


def row_for(category: str) -> Row | None:
    """The lookup row for a census category, or ``None`` when the table has no row for it."""
    return _BY_KEY.get(category)


def site_url(link: str, site_root: str = DEFAULT_SITE_ROOT) -> str:
    """``history.md#wave-6`` -> ``<root>history/#wave-6``; notebooks lose ``.ipynb`` likewise.

    The site is built with ``use_directory_urls``, so ``page.md`` is served at ``page/`` and
    ``notebooks/x.ipynb`` at ``notebooks/x/``.
    """
    path, _, anchor = link.partition("#")
    for suffix in (".md", ".ipynb"):
        if path.endswith(suffix):
            path = path[: -len(suffix)] + "/"
    if path in ("index/", ""):
        path = ""
    root = site_root if not site_root or site_root.endswith("/") else site_root + "/"
    return root + path + (f"#{anchor}" if anchor else "")


def _fix_cell(fixes: Sequence[Fix], here: str) -> str:
    if not fixes:
        return "no wave so far"
    parts = []
    for fix in fixes:
        prs = ", ".join(f"#{n}" for n in fix.prs)
        parts.append(f"[{fix.wave}]({here}history.md#{fix.anchor})" + (f" {prs}" if prs else ""))
    return "; ".join(parts)


def render_markdown(rows: Sequence[Row] = ROWS) -> str:
    """The table as the playbook and the incident page include it; links relative to ``docs/``.

    Links keep their page (``playbook.md#eventpoll``, not ``#eventpoll``), so the same file
    reads right on every page that includes it.
    """
    lines = [
        "| Dominant FD type | Likely source | Next step | Fixed before | Suspect from |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        step, source = row.next_step, row.likely_source
        notebook = f" ([notebook]({row.notebook}))" if row.notebook else ""
        suspect = f"{row.suspect_at} FDs" if row.suspect_at else "never by itself"
        lines.append(
            f"| {row.fd_type} | {source} | {step}{notebook} |"
            f" {_fix_cell(row.fixes, '')} | {suspect} |"
        )
    return "\n".join(lines) + "\n"


def render_mechanisms(mechanisms: Sequence[Mechanism] = EVENTPOLL_MECHANISMS) -> str:
    """The table of eventpoll mechanisms as the playbook, history and fingerprints include it."""
    yes_no = {True: "yes", False: "no"}
    lines = [
        "| Mechanism | Sockets beside each eventpoll | Grows before the limit |"
        " `gc.collect()` releases them | In the logs | Measured in |",
        "|---|---|---|---|---|---|",
    ]
    for m in mechanisms:
        ratio = ", ".join(f"{per} ({key}.unix)" for key, per in m.companions) or "0"
        name = m.measured_in.partition("#")[0].rsplit("/", 1)[-1].removesuffix(".ipynb")
        lines.append(
            f"| {m.name} | {ratio} | {yes_no[m.before_limit]} | {yes_no[m.gc_collect]} |"
            f" {m.logs} | [{name}]({m.measured_in}) |"
        )
    return "\n".join(lines) + "\n"


def export(rows: Sequence[Row] = ROWS) -> dict[str, Any]:
    """The JSON the paste box reads: rows with site-relative links, plus the triage rule."""
    out_rows = []
    for row in rows:
        data = asdict(row)
        data["keys"] = list(row.keys)
        data["page_url"] = site_url(row.page, "")
        data["notebook_url"] = site_url(row.notebook, "") if row.notebook else None
        data["mechanisms"] = [
            {**asdict(m), "companions": dict(m.companions), "evidence": m.evidence()}
            for m in row.mechanisms
        ]
        data["fixes"] = [
            {**asdict(f), "prs": list(f.prs), "url": site_url(f"history.md#{f.anchor}", "")}
            for f in row.fixes
        ]
        out_rows.append(data)
    return {
        "version": 1,
        "dominant_share": DOMINANT_SHARE,
        "max_dominant": MAX_DOMINANT,
        "rows": out_rows,
    }


def export_json(rows: Sequence[Row] = ROWS) -> str:
    return json.dumps(export(rows), indent=2, sort_keys=True) + "\n"


def _check_keys(rows: Mapping[str, Row]) -> None:  # pragma: no cover - guards edits of ROWS
    from .census import CATEGORIES

    unknown = sorted(set(rows) - set(CATEGORIES))
    if unknown:
        raise AssertionError(f"lookup rows name unknown census categories: {unknown}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leaklab.lookup", description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help="print the Markdown table")
    group.add_argument("--json", action="store_true", help="print the JSON export")
    group.add_argument(
        "--write",
        action="store_true",
        help=f"rewrite {MARKDOWN_PATH.name} and {MECHANISMS_PATH.name}",
    )
    args = parser.parse_args(argv)
    _check_keys(_BY_KEY)
    if args.markdown:
        sys.stdout.write(render_markdown())
    elif args.json:
        sys.stdout.write(export_json())
    else:
        MARKDOWN_PATH.write_text(render_markdown(), encoding="utf-8")
        MECHANISMS_PATH.write_text(render_mechanisms(), encoding="utf-8")
        print(f"wrote {MARKDOWN_PATH} and {MECHANISMS_PATH}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
