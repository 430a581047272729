"""Cut a stylesheet down to the rules that can match a given set of pages.

mkdocs-jupyter ships JupyterLab's whole stylesheet (about 570 kB) with every notebook page:
rules for file browsers, menus, dialogs and widgets that a static notebook page never shows.
A rule is kept when every class its selector requires occurs on one of the pages (classes
inside ``:not(...)`` are not required); ``@media`` blocks are pruned the same way and dropped
when empty. Custom properties (``--jp-...``), declared by the hundred in ``:root`` blocks, are
kept only when a kept rule uses them, directly or through another custom property.

It errs on the side of keeping: selectors without classes (``body``, ``h1``, attribute or
theme selectors) always stay, and so do at-rules it does not understand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import tinycss2

CLASS = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
NOT = re.compile(r":not\((?:[^()]|\([^()]*\))*\)")
VAR = re.compile(r"var\(\s*(--[\w-]+)")
CLASS_ATTRIBUTE = re.compile(r"""class\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def classes_in(html: str) -> set[str]:
    """Every class name used in ``html``'s ``class`` attributes."""
    found: set[str] = set()
    for double, single in CLASS_ATTRIBUTE.findall(html):
        found.update((double or single).split())
    return found


def _selectors(prelude: str) -> list[str]:
    """A selector list split at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(prelude):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(prelude[start:i])
            start = i + 1
    parts.append(prelude[start:])
    return [p.strip() for p in parts if p.strip()]


def _matchable(selector: str, used: set[str]) -> bool:
    return all(name in used for name in CLASS.findall(NOT.sub("", selector)))


def _prune_rules(rules: Iterable, used: set[str]) -> list[tuple[str, list]]:
    """(prelude, declarations) for kept rules; at-rules as (text, None) or nested lists."""
    kept: list = []
    for rule in rules:
        if rule.type == "qualified-rule":
            selectors = [
                s for s in _selectors(tinycss2.serialize(rule.prelude)) if _matchable(s, used)
            ]
            if selectors:
                declarations = [
                    d
                    for d in tinycss2.parse_blocks_contents(rule.content, skip_whitespace=True)
                    if d.type == "declaration"
                ]
                kept.append((",".join(selectors), declarations))
        elif rule.type == "at-rule" and rule.lower_at_keyword == "media" and rule.content:
            inner = _prune_rules(
                tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True),
                used,
            )
            if inner:
                kept.append(("@media " + tinycss2.serialize(rule.prelude).strip(), inner))
        elif rule.type == "at-rule" and rule.lower_at_keyword != "charset":
            kept.append((rule.serialize(), None))
    return kept


def _walk(kept: list) -> Iterable[tuple[str, list]]:
    for prelude, body in kept:
        if body and not hasattr(body[0], "type"):
            yield from _walk(body)
        elif body is not None:
            yield prelude, body


def _needed_properties(kept: list, elsewhere: Iterable[str]) -> set[str]:
    """Custom properties used by a kept declaration or by other CSS (``elsewhere``), followed
    through the values of other custom properties."""
    defined: dict[str, list[str]] = {}
    needed: set[str] = {name for text in elsewhere for name in VAR.findall(text)}
    for _, declarations in _walk(kept):
        for d in declarations:
            value = tinycss2.serialize(d.value)
            if d.name.startswith("--"):
                defined.setdefault(d.name, []).append(value)
            else:
                needed.update(VAR.findall(value))
    todo = list(needed)
    while todo:
        for value in defined.get(todo.pop(), []):
            for name in VAR.findall(value):
                if name not in needed:
                    needed.add(name)
                    todo.append(name)
    return needed


def _write(kept: list, needed: set[str]) -> str:
    out = []
    for prelude, body in kept:
        if body is None:
            out.append(prelude)
        elif body and not hasattr(body[0], "type"):
            inner = _write(body, needed)
            if inner:
                out.append(f"{prelude}{{{inner}}}")
        else:
            declarations = [
                f"{d.name}:{tinycss2.serialize(d.value).strip()}"
                + ("!important" if d.important else "")
                for d in body
                if not d.name.startswith("--") or d.name in needed
            ]
            if declarations:
                out.append(f"{prelude}{{{';'.join(declarations)}}}")
    return "\n".join(out)


def prune(css: str, used: set[str], elsewhere: Iterable[str] = ()) -> str:
    """``css`` without the rules no page using only ``used`` classes can match.

    ``elsewhere`` is the other CSS the pages load (stylesheets, inline styles): custom
    properties it reads stay defined.
    """
    rules = tinycss2.parse_stylesheet(css, skip_comments=True, skip_whitespace=True)
    kept = _prune_rules(rules, used)
    return _write(kept, _needed_properties(kept, elsewhere)) + "\n"
