"""Show reference code in a notebook as a highlighted code block, not as printed text.

``print(inspect.getsource(f))`` gives a plain-text output: no highlighting, and the page wraps
long lines mid-word. A Markdown fence is rendered like every other code block on the site
(highlighted, scrolled instead of wrapped), and the code shown is read from the snippet file
itself, so the page cannot drift from the code the notebook runs.
"""

from __future__ import annotations

import inspect
import textwrap
from typing import Any

__all__ = ["show_source", "source_markdown"]


def source_markdown(*objects: Any) -> str:
    """Source of each function or class as one fenced Python block, with its file and line."""
    blocks = []
    for obj in objects:
        lines, first = inspect.getsourcelines(obj)
        module = inspect.getmodule(obj)
        where = f"{module.__name__ if module else '?'}, line {first}"
        code = textwrap.dedent("".join(lines)).rstrip("\n")
        fence = "````" if "```" in code else "```"
        blocks.append(f"`{where}`\n\n{fence}python\n{code}\n{fence}")
    return "\n\n".join(blocks)


def show_source(*objects: Any) -> Any:
    """An IPython ``Markdown`` object showing :func:`source_markdown`; a cell's last value.

    Outside IPython the Markdown text itself is returned, so a script can print it.
    """
    text = source_markdown(*objects)
    try:
        from IPython.display import Markdown
    except ImportError:  # the kit also runs in bare child interpreters
        return text
    return Markdown(text)
