"""Terminal tables for ``leaklab census`` and ``leaklab diff``.

The layout follows the playbook's shell histogram (count, then type, largest first) and adds
the share of the total, the number a reader compares with "91% eventpoll".
"""

from __future__ import annotations

from .census import CATEGORIES, Census
from .termsafe import printable
from .triage import RANKED, describe_source

__all__ = ["census_table", "comparable_keys", "diff_table", "hidden_keys"]


def _sub_keys(c: Census, category: str) -> list[str]:
    """Non-zero sub-keys of a category (``socket.unix``...), most specific last."""
    prefix = category + "."
    return sorted(k for k, v in c.counts.items() if k.startswith(prefix) and v)


def census_table(c: Census) -> str:
    """Histogram by category with counts and shares, sub-keys indented under their category."""
    total = c.total
    lines = [f"{describe_source(c)}: {total} FDs", f"{'count':>7}  {'share':>6}  category"]
    ranked = sorted(
        ((k, c[k]) for k in RANKED if c[k]), key=lambda kv: (-kv[1], RANKED.index(kv[0]))
    )
    for key, n in ranked:
        share = f"{n / total:6.1%}" if total else "     -"
        lines.append(f"{n:7d}  {share}  {printable(key)}")
        for sub in _sub_keys(c, key):
            lines.append(f"{c[sub]:7d}  {'':6}  {'  ' * sub.count('.')}{printable(sub)}")
    lines.append(f"{total:7d}  {'100.0%' if total else '     -'}  total")
    if c.unseen and c.source != "proc":
        lines.append(f"not visible in this source: {', '.join(sorted(c.unseen))}")
    return "\n".join(lines) + "\n"


def _unseen(c: Census, key: str) -> bool:
    """True if ``c``'s source cannot see ``key`` (``socket.tcp.listen`` under ``socket.tcp``)."""
    return any(key == u or key.startswith(u + ".") for u in c.unseen)


def comparable_keys(a: Census, b: Census) -> list[str]:
    """Keys both censuses can see, non-zero in either: categories, then sub-keys.

    A text snapshot cannot tell TCP from Unix sockets; against a live census its zero
    ``socket.tcp`` would read as "every TCP socket appeared". Such keys are left out.
    """
    keys = [k for k in (*CATEGORIES, "unclassified") if a[k] or b[k]]
    keys += sorted(k for k in set(a.counts) | set(b.counts) if "." in k and (a[k] or b[k]))
    return [k for k in keys if not _unseen(a, k) and not _unseen(b, k)]


def hidden_keys(a: Census, b: Census) -> list[str]:
    """Non-zero keys one side cannot see, which a diff therefore does not compare."""
    keys = sorted(k for k in set(a.counts) | set(b.counts) if a[k] or b[k])
    return [k for k in keys if _unseen(a, k) or _unseen(b, k)]


def diff_table(a: Census, b: Census, name_a: str, name_b: str) -> str:
    """Per-category change from A to B, for every key both sides can see."""
    keys = [k for k in comparable_keys(a, b) if "." not in k or a[k] != b[k]]
    width = max([len(k) for k in keys] + [8])
    lines = [
        f"A: {printable(name_a)} — {describe_source(a)}, {a.total} FDs",
        f"B: {printable(name_b)} — {describe_source(b)}, {b.total} FDs",
        f"{'category':<{width}}  {'A':>7}  {'B':>7}  {'change':>7}",
    ]
    for key in keys:
        lines.append(f"{printable(key):<{width}}  {a[key]:7d}  {b[key]:7d}  {b[key] - a[key]:+7d}")
    lines.append(f"{'total':<{width}}  {a.total:7d}  {b.total:7d}  {b.total - a.total:+7d}")
    if hidden := hidden_keys(a, b):
        lines.append(f"not compared (one side cannot see them): {', '.join(hidden)}")
    return "\n".join(lines) + "\n"
