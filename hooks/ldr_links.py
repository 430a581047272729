"""Link every LDR reference on every page: pull requests, LDR's own ADRs, source files, Python.

Pages and notebooks cite LDR's pull requests and issues as ``#NNNN``, LDR's decision records
as ``ADR-NNNN``, LDR's modules as paths such as ``utilities/llm_utils.py``, and paraphrase
Python's documented behaviour. A reader who wants to check a statement needs the source one
click away, and hand-written links drift and get forgotten, so this hook adds them all, after
Markdown or nbconvert has rendered the page (so code blocks, inline code and existing links are
recognised as such and left alone):

- ``#NNNN`` in prose links to LDR's GitHub at ``/pull/NNNN`` (GitHub redirects an issue
  number to the issue, so one form serves both);
- ``ADR-NNNN`` in prose links to that record in LDR's ``docs/decisions/``;
- inline code that names an LDR source file links to it at the pinned release tag, when the
  file exists there (``hooks/data/ldr-source-files.txt``);
- inline code that names a Python API whose behaviour the page paraphrases links to
  docs.python.org, once per page.
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, NavigableString, Tag
from page_cache import memo

LDR_REPO = "https://github.com/LearningCircuit/local-deep-research"
#: The release whose code the handbook's source references describe: the first with both the
#: Wave 7 close (#4047) and the Round 9 lock-dict fix (#4077).
LDR_TAG = "v1.6.12"
SOURCE_FILES = Path(__file__).resolve().parent / "data" / "ldr-source-files.txt"

PR = re.compile(r"(?<![\w/&#])#(?P<number>\d{3,5})\b")
LDR_ADR = re.compile(r"(?<![\w/-])ADR-(?P<number>\d{4})\b")
SKIP_PARENTS = {"a", "code", "pre", "script", "style", "kbd", "textarea", "svg", "title"}

#: LDR's decision records by number (docs/decisions/ of its repository).
LDR_ADRS = {
    4: "0004-nullpool-for-sqlcipher.md",
    5: "0005-reject-inapp-response-compression.md",
    6: "0006-focused-iteration-scope-and-final-max-results.md",
    7: "0007-egress-two-axis-data-classification.md",
    8: "0008-reviewing-long-lived-migration-branches.md",
    9: "0009-per-user-isolation-boundary.md",
    10: "0010-test-coverage-provenance-across-the-fastapi-migration.md",
    11: "0011-source-provenance-across-the-fastapi-migration.md",
    12: "0012-wontfix-legacy-documents-resource-cascade.md",
    13: "0013-research-runs-keep-daemon-thread.md",
}

PY = "https://docs.python.org/3/"
#: Python APIs whose behaviour pages paraphrase, by the name as written in inline code
#: (without call parentheses or arguments).
PYTHON_DOCS = {
    "__del__": "reference/datamodel.html#object.__del__",
    "weakref.finalize": "library/weakref.html#weakref.finalize",
    "asyncio.run": "library/asyncio-runner.html#asyncio.run",
    "asyncio.get_running_loop": "library/asyncio-eventloop.html#asyncio.get_running_loop",
    "asyncio.new_event_loop": "library/asyncio-eventloop.html#asyncio.new_event_loop",
    "asyncio.run_coroutine_threadsafe": (
        "library/asyncio-task.html#asyncio.run_coroutine_threadsafe"
    ),
    "asyncio.create_subprocess_exec": (
        "library/asyncio-subprocess.html#asyncio.create_subprocess_exec"
    ),
    "asyncio.create_subprocess_*": "library/asyncio-subprocess.html",
    "loop.close": "library/asyncio-eventloop.html#asyncio.loop.close",
    "PidfdChildWatcher": "library/asyncio-policy.html#asyncio.PidfdChildWatcher",
    "ThreadedChildWatcher": "library/asyncio-policy.html#asyncio.ThreadedChildWatcher",
    "selectors.DefaultSelector": "library/selectors.html#selectors.DefaultSelector",
    "EpollSelector": "library/selectors.html#selectors.EpollSelector",
    "selectors.EpollSelector": "library/selectors.html#selectors.EpollSelector",
    "functools.cache": "library/functools.html#functools.cache",
    "@cache": "library/functools.html#functools.cache",
    "@lru_cache": "library/functools.html#functools.lru_cache",
    "ResourceWarning": "library/exceptions.html#ResourceWarning",
    "-X dev": "library/devmode.html",
    "python -X dev": "library/devmode.html",
    "PYTHONASYNCIODEBUG": "using/cmdline.html#envvar-PYTHONASYNCIODEBUG",
    "PYTHONASYNCIODEBUG=1": "library/asyncio-dev.html#debug-mode",
    "tracemalloc": "library/tracemalloc.html",
    "gc.collect": "library/gc.html#gc.collect",
    "subprocess.run": "library/subprocess.html#subprocess.run",
    "subprocess.Popen": "library/subprocess.html#subprocess.Popen",
    "multiprocessing.Process": "library/multiprocessing.html#multiprocessing.Process",
    "os.pidfd_open": "library/os.html#os.pidfd_open",
    "urllib.request.urlopen": "library/urllib.request.html#urllib.request.urlopen",
    "RLIMIT_NOFILE": "library/resource.html#resource.RLIMIT_NOFILE",
    "threading.Lock": "library/threading.html#threading.Lock",
    "tempfile.NamedTemporaryFile": "library/tempfile.html#tempfile.NamedTemporaryFile",
}
CALL = re.compile(r"\(.*\)$")
SOURCE_REF = re.compile(
    r"^(?:src/local_deep_research/)?(?P<path>[\w/]+\.(?:py|json))(?::\d+)?(?::[\w.]+(?:\(\))?)?$"
)
#: Paths that name the handbook's own files, never LDR's.
OWN_PREFIXES = ("snippets/", "ldr_patterns/", "leaklab/", "tests/", "hooks/", "notebooks/")


def load_source_files(path: Path = SOURCE_FILES) -> set[str]:
    return {
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }


def resolve_source(text: str, files: set[str]) -> str | None:
    """The path under ``src/local_deep_research/`` that inline code ``text`` names, if any.

    A full path must exist at the tag; a bare file name must name exactly one file there.
    """
    match = SOURCE_REF.match(text.strip())
    if not match or match["path"].startswith(OWN_PREFIXES):
        return None
    path = match["path"]
    if "/" in path:
        return path if path in files else None
    candidates = [f for f in files if f.rsplit("/", 1)[-1] == path]
    return candidates[0] if len(candidates) == 1 else None


def pr_url(number: str) -> str:
    return f"{LDR_REPO}/pull/{number}"


def adr_url(number: int) -> str:
    name = LDR_ADRS.get(number)
    return (
        f"{LDR_REPO}/blob/main/docs/decisions/{name}"
        if name
        else f"{LDR_REPO}/tree/main/docs/decisions"
    )


def source_url(path: str) -> str:
    return f"{LDR_REPO}/blob/{LDR_TAG}/src/local_deep_research/{path}"


def _link_text(soup: BeautifulSoup, text: NavigableString) -> None:
    """Replace ``#NNNN`` and ``ADR-NNNN`` in one text node by links."""
    pieces: list[Tag | NavigableString] = []
    rest = str(text)
    pattern = re.compile(f"{PR.pattern}|{LDR_ADR.pattern.replace('number', 'adr')}")
    position = 0
    for match in pattern.finditer(rest):
        if match.start() > position:
            pieces.append(NavigableString(rest[position : match.start()]))
        if match["number"]:
            link = soup.new_tag(
                "a", href=pr_url(match["number"]), title="LDR pull request or issue"
            )
        else:
            link = soup.new_tag("a", href=adr_url(int(match["adr"])), title="LDR's decision record")
        link["class"] = "ldr-ref"
        link.string = match.group(0)
        pieces.append(link)
        position = match.end()
    if position == 0:
        return
    if position < len(rest):
        pieces.append(NavigableString(rest[position:]))
    text.replace_with(*pieces)


def link_references(html: str, files: set[str]) -> str:
    """Return ``html`` with LDR and Python references linked (see the module docstring)."""
    soup = BeautifulSoup(html, "html.parser")
    for text in list(soup.find_all(string=True)):
        if not (PR.search(text) or LDR_ADR.search(text)):
            continue
        if any(parent.name in SKIP_PARENTS for parent in text.parents):
            continue
        _link_text(soup, text)
    seen_python: set[str] = set()
    for code in soup.find_all("code"):
        if code.find_parent(["a", "pre"]) or code.find("a"):
            continue
        text = code.get_text()
        path = resolve_source(text, files)
        if path:
            code.wrap(soup.new_tag("a", href=source_url(path), title=f"LDR source at {LDR_TAG}"))
            continue
        name = CALL.sub("", text.strip())
        if name in PYTHON_DOCS and name not in seen_python:
            seen_python.add(name)
            code.wrap(soup.new_tag("a", href=PY + PYTHON_DOCS[name], title="Python documentation"))
    return str(soup)


_FILES: set[str] | None = None


def on_page_content(html: str, page, config, files) -> str:
    global _FILES
    if _FILES is None:
        _FILES = load_source_files()
    files = _FILES
    return memo(
        "ldr-links", __file__, lambda text: link_references(text, files), html, *sorted(files)
    )
