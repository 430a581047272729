"""Triage: from a census to the lookup-table rows that explain it, and a leak verdict.

The rule (documented on the leaklab page, and ported to the playbook's paste box):

* A category is **dominant** when it holds at least ``DOMINANT_SHARE`` (10%) of all FDs; the
  three largest such categories are named, and the largest category always is.
* A **leak is suspected** (exit status 1) when any category with a lookup row reaches that
  row's ``suspect_at`` count: 16 for eventpoll and pidfd, which a healthy LDR process holds
  only a handful of, and 256 (a quarter of LDR's 1024 limit) for sockets, pipes and the SQLite
  files, whose pools are legitimately larger. Plain files (mmapped weights, FAISS indexes) never
  make a leak by themselves.
* Every suspected category is reported even when it is not dominant.

A threshold on a single snapshot cannot tell a slow drip from a large steady state; that is what
``leaklab watch`` and ``leaklab diff`` are for. The rule only has to send the reader to the right
row quickly, and it does on the incidents the handbook records: 929 eventpolls and 64 pidfds of
1024 (Wave 7), about 29 orphan pidfds (Round 8).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .census import CATEGORIES, Census
from .lookup import DEFAULT_SITE_ROOT, DOMINANT_SHARE, MAX_DOMINANT, Row, row_for, site_url
from .termsafe import printable

__all__ = ["Finding", "Triage", "plain", "render_text", "to_dict", "triage"]

#: Top-level keys a triage ranks; ``unclassified`` appears for truncated reports and psutil.
RANKED = (*CATEGORIES, "unclassified")


@dataclass(frozen=True)
class Finding:
    """One category triage names: its count and share, its lookup row, whether it is suspect."""

    category: str
    count: int
    share: float
    dominant: bool
    suspect: bool
    row: Row | None


@dataclass(frozen=True)
class Triage:
    census: Census
    findings: tuple[Finding, ...]

    @property
    def leak_suspected(self) -> bool:
        return any(f.suspect for f in self.findings)


def triage(c: Census) -> Triage:
    """Apply the rule of the module docstring to one census."""
    total = c.total or 0
    ranked = sorted(
        ((k, c[k]) for k in RANKED if c[k] > 0), key=lambda kv: (-kv[1], RANKED.index(kv[0]))
    )
    dominant = [k for k, n in ranked if total and n / total >= DOMINANT_SHARE][:MAX_DOMINANT]
    if not dominant and ranked:
        dominant = [ranked[0][0]]
    findings = []
    for key, n in ranked:
        row = row_for(key)
        suspect = bool(row and row.suspect_at is not None and n >= row.suspect_at)
        if key in dominant or suspect:
            share = n / total if total else 0.0
            findings.append(Finding(key, n, share, key in dominant, suspect, row))
    return Triage(c, tuple(findings))


_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def plain(markdown: str) -> str:
    """Table Markdown -> terminal text: links keep their words, backticks go."""
    return _LINK.sub(r"\1", markdown).replace("`", "")


def _fixes(row: Row) -> str:
    if not row.fixes:
        return "no wave so far"
    parts = []
    for fix in row.fixes:
        prs = " " + ", ".join(f"#{n}" for n in fix.prs) if fix.prs else ""
        parts.append(f"{fix.wave}{prs} ({plain(fix.what)})")
    return "; ".join(parts)


def describe_source(c: Census) -> str:
    """``PID 12 (live /proc)``; a census read back from JSON says so, never "live"."""
    where = f"PID {c.pid}" if c.pid else "snapshot"
    kind = {"proc": "live /proc", "psutil": "live, psutil"}.get(c.source, f"{c.source} text")
    if c.origin == "json":
        kind = f"saved leaklab JSON of a {c.source} census"
    return printable(f"{where} ({kind})")


def render_text(t: Triage, site_root: str = DEFAULT_SITE_ROOT) -> str:
    """The triage as a terminal report, one block per finding."""
    c = t.census
    lines = [f"Triage of {describe_source(c)}: {c.total} FDs"]
    if t.leak_suspected:
        names = ", ".join(f"{f.category} {f.count}" for f in t.findings if f.suspect)
        lines.append(f"Verdict: LEAK SUSPECTED ({names})")
    else:
        lines.append("Verdict: no leak suspected (no type reached its threshold)")
    for i, f in enumerate(t.findings, 1):
        flags = [w for w, on in (("dominant", f.dominant), ("SUSPECT", f.suspect)) if on]
        lines.append("")
        lines.append(f"{i}. {f.category}: {f.count} FDs, {f.share:.1%} [{', '.join(flags)}]")
        row = f.row
        if row is None:
            lines.append("   no row in the lookup table for this type; compare with the")
            lines.append(f"   fingerprints: {site_url('fingerprints.md', site_root)}")
            continue
        threshold = f"{row.suspect_at} FDs" if row.suspect_at else "never by itself"
        lines += [
            f"   type:          {plain(row.fd_type)}",
            f"   likely source: {plain(row.likely_source)}",
            f"   where to look: {plain(row.where_to_look)}",
            f"   fixed before:  {_fixes(row)}",
            f"   suspect from:  {threshold}",
            f"   page:          {site_url(row.page, site_root)}",
        ]
        if row.notebook:
            lines.append(f"   notebook:      {site_url(row.notebook, site_root)}")
        lines += _mechanism_lines(f, c)
    if site_root == DEFAULT_SITE_ROOT:
        lines += [
            "",
            f"Links point at a local `make serve` ({DEFAULT_SITE_ROOT}); set HANDBOOK_SITE_URL or",
            "--site-root to the address where the handbook is published.",
        ]
    return "\n".join(lines) + "\n"


def _mechanism_lines(f: Finding, c: Census) -> list[str]:
    """The measured mechanisms of a finding's type, each with the evidence that tells it apart."""
    if f.row is None or not f.row.mechanisms:
        return []
    lines = [
        f"   explanations:  {len(f.row.mechanisms)} measured mechanisms leave {f.category};"
        " tell them apart by the evidence below",
        "                  (for LDR's 929-eventpoll snapshot none is confirmed)",
    ]
    counts = dict(c.counts)
    for m in f.row.mechanisms:
        fits = m.fits(f.count, counts)
        verdict = "fits this snapshot" if fits else "does NOT fit this snapshot"
        needs = ", ".join(f"{per * f.count} {key}s" for key, per in m.companions)
        why = (
            "" if fits else f" (needs {needs}, has {', '.join(str(c[k]) for k, _ in m.companions)})"
        )
        lines.append(f"   - {plain(m.name)}: {verdict}{why}")
        lines.append(f"       evidence: {plain(m.evidence())}")
    return lines


def to_dict(t: Triage, site_root: str = DEFAULT_SITE_ROOT) -> dict[str, Any]:
    """Machine-readable triage (``--json``)."""
    findings = []
    for f in t.findings:
        item: dict[str, Any] = {
            "category": f.category,
            "count": f.count,
            "share": round(f.share, 4),
            "dominant": f.dominant,
            "suspect": f.suspect,
            "row": f.row.id if f.row else None,
        }
        if f.row:
            item["page"] = site_url(f.row.page, site_root)
            item["notebook"] = site_url(f.row.notebook, site_root) if f.row.notebook else None
            item["prs"] = [n for fix in f.row.fixes for n in fix.prs]
            item["mechanisms"] = [
                {"id": m.id, "fits": m.fits(f.count, dict(t.census.counts))}
                for m in f.row.mechanisms
            ]
        findings.append(item)
    return {
        "pid": t.census.pid,
        "total": t.census.total,
        "source": t.census.source,
        "leak_suspected": t.leak_suspected,
        "findings": findings,
    }
