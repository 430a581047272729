"""Execute the notebooks once, in parallel, into a cache that the tests and the site share.

The notebook tests (``conftest.py`` at the project root) and the site build
(``hooks/notebook_cache.py``) both ask this module for a notebook's executed copy. A copy is
made by running the notebook in a fresh kernel of this interpreter and is stored only when every
cell ran without error, under a key of everything its outputs depend on:

- the notebook file itself;
- the code it imports: the files of ``snippets/``, ``pyproject.toml`` and ``requirements.lock``
  that git tracks or would track (untracked but not ignored), never build output such as
  ``snippets/*.egg-info`` that ``pip install -e .`` rewrites;
- the Python version of the kernel.

So whichever of ``make test`` and ``make build`` runs first executes a notebook, the other
reuses the copy, and the page shows the outputs the test validated.

Notebooks run ``jobs`` at a time (one per core by default), each in its own kernel, longest
first (by the time the last run took), with a per-cell and a per-notebook timeout. Several
processes may share the cache (two pytest workers, a build): a notebook being executed by one
holds a lock on it, and the others work on other notebooks first and then wait for that copy
instead of executing it again.

``python hooks/notebook_runner.py [--jobs N] [NOTEBOOK...]`` executes the given (default: all)
notebooks into the cache and prints one line per notebook; it exits 1 if any failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from leaklab.census import usable_cpus

#: Inputs of every notebook besides the notebook itself (relative to the project root).
CODE_INPUTS = ("snippets", "pyproject.toml", "requirements.lock")
NOTEBOOKS = "notebooks"
CACHE_ENV = "HANDBOOK_CACHE"  # another folder for every build cache (make bench times cold runs)
JOBS_ENV = "HANDBOOK_NOTEBOOK_JOBS"
DEFAULT_CACHE = Path(".cache")
#: Where a run's figures go: leaklab.figures reads this variable; the folder sits beside the copy.
FIGURES_ENV = "LEAKLAB_FIGURES_DIR"
FIGURES = "figures"
CELL_TIMEOUT = 300.0
NOTEBOOK_TIMEOUT = 600.0
#: Bump when the way notebooks are executed changes, so older copies are not reused.
FORMAT = "2"  # 2: figures recorded beside each copy
#: Not part of any file git would track, whatever a .gitignore says (fallback without git).
BUILD_OUTPUT = re.compile(r"(^|/)(__pycache__|[^/]*\.egg-info|\.ipynb_checkpoints)(/|$)|\.pyc$")
#: Variables of the process asking, which must not reach (and so change) a notebook's run.
PRIVATE_ENV = re.compile(r"^(PYTEST_|HANDBOOK_|COV_CORE_)")


@dataclass(frozen=True)
class Outcome:
    """What became of one notebook: its executed copy, or why there is none."""

    notebook: Path
    executed: Path | None
    error: str | None = None
    seconds: float = 0.0
    reused: bool = False  # the copy was in the cache already

    @property
    def ok(self) -> bool:
        return self.executed is not None


def tracked_files(root: Path, names: Iterable[str] = CODE_INPUTS) -> list[Path]:
    """Files under ``names`` that git tracks or would track, sorted; a walk without git."""
    names = list(names)
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", *names],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=30,
        ).stdout
        if out:
            paths = {root / name for name in out.decode().split("\0") if name}
            return sorted(p for p in paths if p.is_file())
    except (OSError, subprocess.SubprocessError):
        pass  # not a git checkout (a tarball, a test's throwaway site): walk instead
    found = []
    for name in names:
        path = root / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            rel = file.relative_to(root).as_posix()
            if file.is_file() and not BUILD_OUTPUT.search(rel):
                found.append(file)
    return found


def code_fingerprint(root: Path) -> str:
    """Hash of the code every notebook imports and of the interpreter that runs it."""
    digest = hashlib.sha256(f"format {FORMAT}\0python {sys.version}\0".encode())
    for file in tracked_files(root):
        digest.update(file.relative_to(root).as_posix().encode() + b"\0")
        digest.update(file.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def cache_dir(root: Path) -> Path:
    """The folder of every build cache: ``.cache`` or ``$HANDBOOK_CACHE``."""
    return Path(os.environ.get(CACHE_ENV) or root / DEFAULT_CACHE)


def kernel_env() -> dict[str, str]:
    """The environment a kernel gets: the caller's, without the caller's own settings."""
    return {k: v for k, v in os.environ.items() if not PRIVATE_ENV.match(k)}


def default_jobs() -> int:
    """One notebook per core, or ``HANDBOOK_NOTEBOOK_JOBS``."""
    try:
        return max(1, int(os.environ.get(JOBS_ENV, "")))
    except ValueError:
        return usable_cpus()


def _this_interpreter_kernel_manager() -> type:
    """A kernel manager that starts ipykernel with this interpreter, like nbval's current env.

    A ``python3`` kernel spec found in the user's Jupyter folders could point at another
    Python; the notebooks must run where the kit and the lock are installed.
    """
    from ipykernel.kernelspec import get_kernel_dict
    from jupyter_client.kernelspec import KernelSpec
    from jupyter_client.manager import AsyncKernelManager

    class ThisInterpreter(AsyncKernelManager):
        @property
        def kernel_spec(self) -> KernelSpec:
            if self._kernel_spec is None:
                self._kernel_spec = KernelSpec(resource_dir="", **get_kernel_dict())
            return self._kernel_spec

    return ThisInterpreter


async def _kill_kernel(client: object) -> None:
    """Make sure a stopped notebook's kernel is gone: cancelling can leave clean-up half done."""
    km = getattr(client, "km", None)
    if km is not None and km.has_kernel:
        with contextlib.suppress(Exception):
            await km.shutdown_kernel(now=True)


class NotebookRunner:
    """Executed copies of the notebooks under ``root``, made on demand and cached."""

    def __init__(
        self,
        root: Path,
        cache: Path | None = None,
        jobs: int | None = None,
        cell_timeout: float = CELL_TIMEOUT,
        notebook_timeout: float = NOTEBOOK_TIMEOUT,
    ) -> None:
        self.root = root.resolve()
        cache = cache or cache_dir(self.root) / "notebooks"
        self.cache_root = cache if cache.is_absolute() else self.root / cache
        self.fingerprint = code_fingerprint(self.root)
        self.cache = self.cache_root / self.fingerprint
        self.jobs = jobs or default_jobs()
        self.cell_timeout = cell_timeout
        self.notebook_timeout = notebook_timeout

    # --- the cache ----------------------------------------------------------------------

    def notebooks(self) -> list[Path]:
        return sorted((self.root / NOTEBOOKS).glob("*.ipynb"))

    def copy_path(self, notebook: Path) -> Path:
        """Where the executed copy of ``notebook`` in its current version lives.

        The copy keeps the notebook's file name (pages and downloads are named after it), in a
        folder named after the notebook's content.
        """
        digest = hashlib.sha256(notebook.read_bytes()).hexdigest()[:16]
        return self.cache / notebook.stem / digest / notebook.name

    def cached(self, notebook: Path) -> Path | None:
        copy = self.copy_path(notebook)
        return copy if copy.is_file() else None

    def prune(self) -> None:
        """Drop copies made for other code (older fingerprints); they can never be used again."""
        if self.cache_root.is_dir():
            for stale in self.cache_root.iterdir():
                if stale.is_dir() and stale.name != self.fingerprint:
                    shutil.rmtree(stale, ignore_errors=True)

    def _durations(self) -> dict[str, float]:
        try:
            return json.loads((self.cache_root / "durations.json").read_text())
        except (OSError, ValueError):
            return {}

    def _record_duration(self, notebook: Path, seconds: float) -> None:
        durations = self._durations()
        durations[notebook.name] = round(seconds, 1)
        tmp = self.cache_root / f"durations.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(durations, indent=0, sort_keys=True))
        tmp.replace(self.cache_root / "durations.json")

    @contextlib.contextmanager
    def _lock(self, notebook: Path) -> Iterator[bool]:
        """Try to own ``notebook`` for execution; yields False if another process has it."""
        folder = self.cache / notebook.stem
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)  # releases the lock

    # --- executing ----------------------------------------------------------------------

    async def _execute(self, notebook: Path) -> Outcome:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        nb = nbformat.read(notebook, as_version=4)
        client = NotebookClient(
            nb,
            timeout=self.cell_timeout,
            kernel_name="python3",
            kernel_manager_class=_this_interpreter_kernel_manager(),
            allow_errors=False,
            resources={"metadata": {"path": str(notebook.parent)}},
        )
        # leaklab.record() writes the run's figures beside its copy (hooks/measured_figures.py)
        figures = self.copy_path(notebook).parent / FIGURES
        shutil.rmtree(figures, ignore_errors=True)
        env = {**kernel_env(), FIGURES_ENV: str(figures)}
        started = time.monotonic()
        run = asyncio.ensure_future(client.async_execute(env=env))
        done, _ = await asyncio.wait({run}, timeout=self.notebook_timeout)
        if not done:
            # Cancelling shuts the kernel down; what the cancelled run raises on the way out
            # (often "kernel died") is a consequence, the timeout is the cause.
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await run
            await _kill_kernel(client)
            return Outcome(
                notebook,
                None,
                f"the notebook ran longer than {self.notebook_timeout:.0f} s and was stopped",
                time.monotonic() - started,
            )
        try:
            run.result()
        except CellExecutionError as exc:
            return Outcome(notebook, None, _plain(str(exc)), time.monotonic() - started)
        except (CellTimeoutError, DeadKernelError) as exc:
            error = f"{type(exc).__name__}: {exc}"
            return Outcome(notebook, None, error, time.monotonic() - started)
        seconds = time.monotonic() - started
        copy = self.copy_path(notebook)
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = copy.with_suffix(f".{os.getpid()}.tmp")
        nbformat.write(nb, tmp)
        tmp.replace(copy)
        for older in copy.parent.parent.iterdir():  # earlier versions of this notebook
            if older.is_dir() and older != copy.parent:
                shutil.rmtree(older, ignore_errors=True)
        self._record_duration(notebook, seconds)
        return Outcome(notebook, copy, None, seconds)

    async def _one(self, notebook: Path, slots: asyncio.Semaphore, execute: bool) -> Outcome:
        while True:
            if copy := self.cached(notebook):
                return Outcome(notebook, copy, reused=True)
            if not execute:
                return Outcome(notebook, None, "not executed (execution is off)")
            async with slots:
                with self._lock(notebook) as mine:
                    if mine:
                        if copy := self.cached(notebook):  # made while we waited for the lock
                            return Outcome(notebook, copy, reused=True)
                        return await self._execute(notebook)
            await asyncio.sleep(0.5)  # another process is executing it: look again shortly

    async def _run(self, notebooks: list[Path], execute: bool) -> list[Outcome]:
        slots = asyncio.Semaphore(self.jobs)
        durations = self._durations()
        # Longest first (unknown ones count as longest), so no long notebook starts last.
        order = sorted(notebooks, key=lambda nb: -durations.get(nb.name, float("inf")))
        done = await asyncio.gather(*(self._one(nb, slots, execute) for nb in order))
        by_path = {outcome.notebook: outcome for outcome in done}
        return [by_path[nb] for nb in notebooks]

    def run(self, notebooks: Iterable[Path] | None = None, execute: bool = True) -> list[Outcome]:
        """The outcome of each notebook (default: all), executing those not cached yet.

        With ``execute=False`` nothing runs: cached copies are returned and the rest come back
        without one.
        """
        paths = [
            Path(nb).resolve() for nb in (self.notebooks() if notebooks is None else notebooks)
        ]
        self.cache.mkdir(parents=True, exist_ok=True)
        return asyncio.run(self._run(paths, execute))

    def executed(self, notebook: Path) -> Outcome:
        """The outcome of one notebook."""
        return self.run([notebook])[0]


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _plain(text: str) -> str:
    """An error as text: IPython colours its tracebacks with terminal escape codes."""
    return _ANSI.sub("", text)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook")
    parser.add_argument("--jobs", type=int, help="notebooks at a time (default: one per core)")
    args = parser.parse_args(argv)
    runner = NotebookRunner(Path(__file__).resolve().parent.parent, jobs=args.jobs)
    started = time.monotonic()
    outcomes = runner.run(args.notebooks or None)
    for o in outcomes:
        state = "cached" if o.reused else (f"{o.seconds:.1f} s" if o.ok else "FAILED")
        print(f"{o.notebook.name}: {state}")
        if o.error:
            print("  " + o.error.replace("\n", "\n  "))
    print(
        f"{len(outcomes)} notebooks in {time.monotonic() - started:.1f} s, {runner.jobs} at a time"
    )
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
