"""The release x check matrix of the handbook's "LDR releases" page, as Markdown.

Rendered at build time by ``hooks/ldr_matrix.py`` from :func:`leaklab.ldr_check.cached_report`
results, so the page shows what the current kit measured on each release. A build that executes
notebooks also measures what is not cached yet; a quick build (``HANDBOOK_EXECUTE=false``, the
first pass of ``make serve``) shows what is cached and says which cells are missing.
"""

from __future__ import annotations

from .ldr_check import CHECKS, Report, cached_report
from .ldr_env import LdrEnvError, find_ldr_python
from .ldr_releases import FIXES, MATRIX_RELEASES, NEWEST

__all__ = ["render_sections"]

_NOT_MEASURED = "·"


def _boundaries(release: str) -> str:
    notes: list[str] = []
    for f in FIXES:
        if f.before == release:
            notes.append(f"last without [{f.anchor.replace('-', ' ')}](#{f.anchor})")
        if f.after == release:
            notes.append(f"first with [{f.anchor.replace('-', ' ')}](#{f.anchor})")
    if release == NEWEST:
        notes.append("newest")
    return "; ".join(notes)


def _cell(report: Report | None, check_id: str) -> str:
    if report is None:
        return _NOT_MEASURED
    found = [c for c in report.checks if c.id == check_id]
    if not found:
        return _NOT_MEASURED
    c = found[0]
    if c.verdict == "leak":
        moved = c.delta.get("socket.tcp.established") or next(iter(c.delta.values()), 0)
        return f"**leak** ({moved:+d})"
    return c.verdict


def _reports(run_missing: bool) -> tuple[dict[str, Report | None], str]:
    """Report per release (``None`` when nothing is known) and a note on what is missing."""
    try:
        find_ldr_python()
    except LdrEnvError as exc:
        return dict.fromkeys(MATRIX_RELEASES), f"Not measured in this build: {exc}."
    from concurrent.futures import ThreadPoolExecutor

    problems: list[str] = []

    def one(release: str) -> Report | None:
        try:
            return cached_report(release, run_missing=run_missing)
        except LdrEnvError as exc:
            problems.append(str(exc))
            return None

    # Each release's checks run one after another in child processes; two releases at a time
    # keep two cores busy while a cold cache is filled.
    with ThreadPoolExecutor(max_workers=2) as pool:
        reports = dict(zip(MATRIX_RELEASES, pool.map(one, MATRIX_RELEASES), strict=True))
    missing = sum(
        1 for r in MATRIX_RELEASES for c in CHECKS if _cell(reports[r], c.id) == _NOT_MEASURED
    )
    note = ""
    if missing:
        note = (
            f"{missing} cells marked {_NOT_MEASURED} were not measured in this build "
            "(a quick build shows only cached results; a full build measures them)."
        )
    if problems:
        note += " " + " ".join(problems)
    return reports, note.strip()


def _matrix(reports: dict[str, Report | None], note: str) -> str:
    ids = [c.id for c in CHECKS]
    head = "| release | | " + " | ".join(f"`{i}`" for i in ids) + " |"
    rule = "|---|---|" + "---|" * len(ids)
    rows = [
        f"| {r} | {_boundaries(r)} | " + " | ".join(_cell(reports[r], i) for i in ids) + " |"
        for r in MATRIX_RELEASES
    ]
    python = next((rep.python for rep in reports.values() if rep is not None and rep.python), "")
    lines = [head, rule, *rows, ""]
    if python:
        lines.append(f"Measured on CPython {python}.")
    if note:
        lines.append(note)
    return "\n".join(lines) + "\n"


def _fixes(reports: dict[str, Report | None]) -> str:
    out: list[str] = []
    for f in FIXES:
        prs = ", ".join(
            f"[#{n}](https://github.com/LearningCircuit/local-deep-research/pull/{n})"
            for n in f.prs
        )
        where = f" ({prs})" if prs else ""
        out += [
            f"### {f.title} {{#{f.anchor}}}",
            "",
            f"Documented in [{f.page.split('#')[0].removesuffix('.md')}]({f.page}){where}. "
            f"Last release without it: **{f.before}**; first release with it: **{f.after}** "
            f"(its source shows: {f.marker}).",
            "",
        ]
        if not f.checks:
            out += ["No check of `ldr-check` exercises this fix; see below for why.", ""]
            continue
        for check in f.checks:
            before, after = _cell(reports[f.before], check), _cell(reports[f.after], check)
            out.append(f"- `{check}`: {before} on {f.before}, {after} on {f.after}.")
        out.append("")
    return "\n".join(out)


def _pool(reports: dict[str, Report | None]) -> str:
    rep = reports.get(NEWEST)
    found = [c for c in rep.checks if c.id == "encrypted-db-pool"] if rep else []
    if not found or not found[0].facts:
        return f"Not measured in this build ({_NOT_MEASURED}).\n"
    facts = found[0].facts
    return (
        f"On {NEWEST}, each pooled SQLCipher connection in WAL mode holds "
        f"**{facts['fds_per_connection']:g}** FDs (its `.db` and its `-wal`), plus "
        f"**{facts['shared_shm']}** `-shm` shared by all of them. With LDR's pool of "
        f"`pool_size={facts['pool_size']}` and `max_overflow={facts['max_overflow']}`, a user "
        f"whose pool is fully used holds **{facts['worst_case_fds']}** FDs; after "
        f"`dispose()` the count is back at its baseline ({found[0].verdict}).\n"
    )


def _differential(run_missing: bool) -> str:
    from .ldr_diff import KNOWN_DIFFERENCES, mirrors

    lines = [
        "| re-creation | mirrors | release | check | LDR | re-creation |",
        "|---|---|---|---|---|---|",
    ]
    for m in mirrors():
        ids = m.check_ids()
        try:
            ldr = cached_report(m.release, ids, run_missing=run_missing)
            ours = cached_report(
                m.release, ids, impl={m.function: m.pattern}, run_missing=run_missing
            )
        except LdrEnvError:
            continue
        for check in ids:
            a, b = _cell(ldr, check), _cell(ours, check)
            lines.append(
                f"| `{m.pattern}` | `{m.function}` | {m.release} | `{check}` | {a} | {b} |"
            )
    lines.append("")
    for (pattern, check), why in KNOWN_DIFFERENCES.items():
        lines.append(f"- `{pattern}` on `{check}` differs on purpose: {why}.")
    return "\n".join(lines) + "\n"


def render_sections(run_missing: bool) -> dict[str, str]:
    """Marker -> Markdown for each generated part of the page."""
    reports, note = _reports(run_missing)
    return {
        "<!-- ldr-matrix -->": _matrix(reports, note),
        "<!-- ldr-fixes -->": _fixes(reports),
        "<!-- ldr-pool -->": _pool(reports),
        "<!-- ldr-differential -->": _differential(run_missing),
    }
