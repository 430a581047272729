"""Which LDR release first carries each fix the handbook documents, and which releases to measure.

The release numbers come from reading the published wheels of ``local-deep-research``
(``pip download --no-deps local-deep-research==X``): the *before* release is the last one whose
code lacks the fix, the *after* release the first one that has it. Each entry names the marker
that was looked for, so anyone can repeat the reading. The measured verdicts of these releases
are on the handbook's "LDR releases, measured" page.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["FIXES", "LADDER", "MATRIX_RELEASES", "NEWEST", "Fix", "fix_for_wave"]

#: The newest release when the lock was last refreshed; the matrix and the ladder end here.
NEWEST = "1.10.7"

#: The ChatOllama ladder: never closed; closed except inside a loop; closed everywhere.
LADDER = ("1.6.9", "1.6.10", "1.6.11", NEWEST)


@dataclass(frozen=True)
class Fix:
    """A fix the handbook documents and the releases on either side of it."""

    anchor: str  # id of the fix's section on the matrix page
    page: str  # where the handbook documents the fix
    title: str
    prs: tuple[int, ...]
    before: str
    after: str
    marker: str  # what the wheel's source shows from ``after`` on
    checks: tuple[str, ...]  # ldr-check ids that exercise it; empty when none can


FIXES: tuple[Fix, ...] = (
    Fix(
        "wave-3",
        "history.md#wave-3",
        "Closing the LLM wrappers",
        (2708, 2712, 2756, 2732),
        "1.3.59",
        "1.3.60",
        "utilities.llm_utils._close_base_llm and utilities.resource_utils.safe_close exist, "
        "and BaseSearchEngine.close() reaches the content filters",
        ("ollama-sync-close", "safe-close", "search-engine-close-cascade"),
    ),
    Fix(
        "wave-5",
        "history.md#wave-5",
        "The pool architecture",
        (3441,),
        "1.5.6",
        "1.6.0",
        "DatabaseManager.create_thread_safe_session_for_metrics uses the shared per-user "
        "QueuePool instead of a NullPool engine per thread",
        (),
    ),
    Fix(
        "search-engine-cascade",
        "model.md#search-engines",
        "The close cascade reaches the preview filters",
        (),
        "1.5.6",
        "1.6.0",
        "BaseSearchEngine.close() closes _preview_filters as well as _content_filters",
        ("search-engine-close-cascade",),
    ),
    Fix(
        "wave-6",
        "history.md#wave-6",
        "The async client of ChatOllama",
        (3855,),
        "1.6.9",
        "1.6.10",
        "_close_base_llm closes _async_client (skipped while a loop runs)",
        ("ollama-async-close-after-loop", "embeddings-close"),
    ),
    Fix(
        "wave-7",
        "history.md#wave-7",
        "Closing inside a running loop",
        (4047,),
        "1.6.10",
        "1.6.11",
        "_close_base_llm hands the async close to an ldr-async-llm-close daemon thread",
        ("ollama-async-close-in-running-loop",),
    ),
    Fix(
        "ollama-embeddings",
        "audit-ledger.md#ollama-embeddings",
        "Embeddings closed where LDR builds them",
        (4352, 4353),
        "1.6.13",
        "1.7.0",
        "local_embedding_manager calls _close_base_llm on its embeddings",
        (),
    ),
)

#: Every release the matrix page shows: both sides of each fix, and the newest.
MATRIX_RELEASES: tuple[str, ...] = tuple(
    sorted(
        {r for f in FIXES for r in (f.before, f.after)} | {NEWEST},
        key=lambda v: tuple(int(p) for p in v.split(".")),
    )
)


def fix_for_wave(anchor: str) -> Fix | None:
    """The fix whose matrix-page section is ``anchor`` (``wave-7``), if its release is known."""
    return next((f for f in FIXES if f.anchor == anchor), None)
