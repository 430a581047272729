"""Isolated, cached environments that hold one release (or one source tree) of LDR.

The handbook's own re-creations in ``ldr_patterns`` say what LDR's code *did*; only LDR's
released code says what it *does*. Its full dependency tree is large, but the cleanup code
imports with a handful of packages, so an environment here is:

* a virtualenv built by uv with a CPython >= 3.12 (LDR's releases from 1.6 on require it),
  found the way ``scripts/find-python.sh`` finds one (``python3.X`` on PATH, then pyenv);
* the pinned import-only dependencies of ``requirements-ldr.lock`` (``make lock`` refreshes it
  from ``requirements-ldr.in``);
* ``local-deep-research`` itself installed with ``--no-deps`` for a release, or, for a source
  tree, a ``.pth`` line pointing at the folder that holds ``local_deep_research/`` so the
  working tree is checked as it is, without building or writing anything into it.

Environments live under ``.cache/ldr/envs/`` (``LEAKLAB_LDR_CACHE`` overrides the folder),
keyed by target, interpreter and dependency lock, and are reused; a file lock makes parallel
builders wait for each other instead of racing. Typical use::

    env = ensure_env("1.10.7")           # or ensure_env("~/src/local-deep-research")
    env.python                           # path of the env's interpreter
    out = env.run("import local_deep_research as l; print(l.__version__)", timeout=60)

Every expected failure (unknown release, a folder without LDR, no CPython >= 3.12, registry
unreachable) is an :class:`LdrEnvError` whose message is one line.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .interpreters import SNIPPETS, find_cpythons

__all__ = [
    "DEPS_LOCK",
    "LdrEnv",
    "LdrEnvError",
    "RunResult",
    "Target",
    "cache_root",
    "ensure_env",
    "find_ldr_python",
    "parse_target",
]

#: The repository root: the editable install keeps the kit in ``<root>/snippets/leaklab``.
REPO_ROOT = SNIPPETS.parent
#: Pinned import-only dependencies, beside the main ``requirements.lock``.
DEPS_LOCK = REPO_ROOT / "requirements-ldr.lock"
PACKAGE = "local-deep-research"
#: LDR releases from 1.6 on declare ``Requires-Python: >=3.12,<3.15``.
MIN_PYTHON, MAX_PYTHON = (3, 12), (3, 14)
_RELEASE = re.compile(r"\d+(\.\d+){1,3}((a|b|rc)\d+)?(\.post\d+)?")
_BUILD_TIMEOUT = 600.0


class LdrEnvError(RuntimeError):
    """An environment could not be provided; ``str(exc)`` is one line for the user."""


@dataclass(frozen=True)
class Target:
    """What to check: a registry release (``"1.6.10"``) or a source folder.

    ``source`` is the folder that *holds* ``local_deep_research/`` (a checkout's ``src/``),
    ``None`` for a release. ``label`` is what reports show.
    """

    kind: Literal["release", "source"]
    release: str | None = None
    source: Path | None = None

    @property
    def label(self) -> str:
        return self.release if self.release is not None else str(self.source)


def parse_target(text: str) -> Target:
    """A release number or an existing path; anything else is refused, never passed on.

    A path is recognised by being an existing folder (or containing a ``/``); a release by
    the version pattern. The text is only ever used as a ``Path`` or as a ``==`` pin in an
    argument list, never in a shell.
    """
    text = str(text).strip()
    if not text:
        raise LdrEnvError("empty target: give a release such as 1.10.7 or a path to LDR source")
    if "\x00" in text or any(ord(c) < 32 for c in text):
        raise LdrEnvError("target contains control characters")
    expanded = Path(os.path.expanduser(text))
    if expanded.is_dir() or os.sep in text or text.startswith((".", "~")):
        if not expanded.exists():
            raise LdrEnvError(f"{text}: no such folder")
        if not expanded.is_dir():
            raise LdrEnvError(
                f"{text}: not a folder (give the folder holding local_deep_research/)"
            )
        root = expanded.resolve()
        for holder in (root, root / "src"):
            if (holder / "local_deep_research" / "__init__.py").is_file():
                return Target("source", source=holder)
        if root.name == "local_deep_research" and (root / "__init__.py").is_file():
            return Target("source", source=root.parent)
        raise LdrEnvError(f"{text}: no local_deep_research/ package here or in its src/")
    if not _RELEASE.fullmatch(text):
        raise LdrEnvError(
            f"{text!r} is neither a release of {PACKAGE} (like 1.10.7) nor an existing folder"
        )
    return Target("release", release=text)


@functools.cache
def find_ldr_python() -> tuple[tuple[int, int, int], str]:
    """The newest CPython 3.12-3.14 installed: ``LEAKLAB_LDR_PYTHON``, PATH, then pyenv.

    Probing every interpreter costs a few process starts, so the answer is kept for the life of
    the process.
    """
    override = os.environ.get("LEAKLAB_LDR_PYTHON")
    candidates = find_cpythons(MIN_PYTHON)
    if override:
        from .interpreters import _probe

        version = _probe(override)
        if version is None or not MIN_PYTHON <= version[:2] <= MAX_PYTHON:
            raise LdrEnvError(f"LEAKLAB_LDR_PYTHON={override} is not a CPython 3.12-3.14")
        return version, override
    for interp in candidates:
        if interp.version[:2] <= MAX_PYTHON:
            return interp.version, interp.path
    raise LdrEnvError(
        "no CPython 3.12-3.14 found (LDR >= 1.6 needs one); install one or set LEAKLAB_LDR_PYTHON"
    )


def cache_root() -> Path:
    """``$LEAKLAB_LDR_CACHE`` or ``<repo>/.cache/ldr``."""
    override = os.environ.get("LEAKLAB_LDR_CACHE")
    return Path(override).expanduser() if override else REPO_ROOT / ".cache" / "ldr"


def _uv() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("uv")
    if found is None:
        raise LdrEnvError("uv not found: run `make setup` (it is pinned in requirements.lock)")
    return found


def _deps_lock() -> bytes:
    try:
        return DEPS_LOCK.read_bytes()
    except OSError:
        raise LdrEnvError(f"{DEPS_LOCK} is missing: restore it or run `make lock`") from None


@dataclass(frozen=True)
class RunResult:
    """What a child interpreter of an env did; ``timed_out`` means it was killed."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool = False

    def last_line(self) -> str:
        """The last non-empty stderr line, the usual one-line summary of a failure."""
        lines = [ln.strip() for ln in self.stderr.splitlines() if ln.strip()]
        return lines[-1] if lines else f"exit status {self.returncode}"


@dataclass(frozen=True)
class LdrEnv:
    """A ready environment: ``python`` runs LDR's real code plus the kit (``import leaklab``)."""

    target: Target
    path: Path
    python: str
    python_version: tuple[int, int, int]
    ldr_version: str

    def child_environ(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for a child: the kit importable, nothing written into source trees.

        ``PYTHONPYCACHEPREFIX`` sends every compiled ``.pyc`` into the env's own folder, so
        nothing is written into a checked working tree while later children still start fast;
        user site-packages and an inherited ``PYTHONPATH`` or ``VIRTUAL_ENV`` cannot shadow the
        env's own packages.
        """
        drop = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
        env = {k: v for k, v in os.environ.items() if k not in drop}
        env.update(
            PYTHONPATH=str(SNIPPETS),
            PYTHONNOUSERSITE="1",
            PYTHONPYCACHEPREFIX=str(self.path / ".pycache"),
            PYTHONUNBUFFERED="1",
        )
        if extra:
            env.update(extra)
        return env

    def run(
        self,
        code: str,
        *,
        args: tuple[str, ...] = (),
        timeout: float = 60.0,
        env: Mapping[str, str] | None = None,
    ) -> RunResult:
        """Run ``code`` (``python -c``) in a fresh child of this env, bounded by ``timeout``.

        The child starts in a new temporary folder, also given as ``LDR_DATA_DIR`` so LDR writes
        its data there and not into the user's data folder; the folder is removed afterwards.
        On timeout the child's whole process group is killed and ``timed_out`` is set.
        """
        with tempfile.TemporaryDirectory(prefix="leaklab-ldr-") as tmp:
            environ = self.child_environ({"LDR_DATA_DIR": tmp, "LEAKLAB_TMP": tmp, **(env or {})})
            proc = subprocess.Popen(
                [self.python, "-c", code, *args],
                cwd=tmp,
                env=environ,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            try:
                out, err = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                return RunResult(proc.returncode, out, err, timed_out=True)
            return RunResult(proc.returncode, out, err)


def _env_dir(target: Target, py_version: tuple[int, int, int], lock: bytes) -> Path:
    key = hashlib.sha256(
        b"\0".join([target.label.encode(), repr(py_version).encode(), lock])
    ).hexdigest()[:10]
    py = f"py{py_version[0]}.{py_version[1]}"
    if target.kind == "release":
        return cache_root() / "envs" / f"{target.release}-{py}-{key}"
    return cache_root() / "envs" / f"src-{target.source.name}-{py}-{key}"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    locks = cache_root() / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    with open(locks / f"{path.name}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _uv_run(args: list[str], what: str) -> None:
    """Run one uv command; map its failure to a one-line :class:`LdrEnvError`."""
    try:
        out = subprocess.run([_uv(), *args], capture_output=True, text=True, timeout=_BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise LdrEnvError(f"{what}: uv took longer than {_BUILD_TIMEOUT:.0f}s") from None
    if out.returncode == 0:
        return
    err = out.stderr
    if "there is no version of" in err or "not found in the package registry" in err:
        raise LdrEnvError(f"{what}: no such release on the package registry")
    if any(s in err for s in ("Connect", "dns error", "Network connectivity", "timed out")):
        raise LdrEnvError(f"{what}: package registry unreachable (and not in uv's cache)")
    lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
    raise LdrEnvError(f"{what}: uv failed: {lines[-1] if lines else out.returncode}")


def _build(target: Target, path: Path, base_python: str) -> None:
    what = f"{PACKAGE} {target.label}" if target.kind == "release" else str(target.source)
    _uv_run(["venv", "-q", "--python", base_python, str(path)], what)
    py = str(path / "bin" / "python")
    _uv_run(["pip", "sync", "-q", "--python", py, str(DEPS_LOCK)], what)
    if target.kind == "release":
        _uv_run(
            ["pip", "install", "-q", "--python", py, "--no-deps", f"{PACKAGE}=={target.release}"],
            what,
        )
    else:
        site = subprocess.run(
            [py, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout.strip()
        Path(site, "_leaklab_ldr_source.pth").write_text(f"{target.source}\n")


_VERSION_PROBE = (
    "import importlib.metadata as m, pathlib, re, local_deep_research as l\n"
    "v = getattr(l, '__version__', None)\n"
    "if v is None:\n"
    "    f = pathlib.Path(l.__file__).with_name('__version__.py')\n"
    "    g = re.search(r'[\"\\']([^\"\\']+)[\"\\']', f.read_text()) if f.exists() else None\n"
    "    v = g.group(1) if g else m.version('local-deep-research')\n"
    "print(v)\n"
)


def ensure_env(target: str | Target, *, rebuild: bool = False) -> LdrEnv:
    """The cached environment for ``target``, built first if needed (needs the registry once).

    A release env is complete once built; a source env reads the source folder live, so edits
    to the working tree are seen on the next run without rebuilding.
    """
    if not isinstance(target, Target):
        target = parse_target(target)
    py_version, base_python = find_ldr_python()
    lock = _deps_lock()
    path = _env_dir(target, py_version, lock)
    done = path / ".leaklab-complete"
    with _locked(path):
        if rebuild or not done.exists():
            shutil.rmtree(path, ignore_errors=True)
            try:
                _build(target, path, base_python)
            except BaseException:
                shutil.rmtree(path, ignore_errors=True)
                raise
            done.write_text(target.label + "\n")
    python = str(path / "bin" / "python")
    env = LdrEnv(target, path, python, py_version, "")
    known = path / ".leaklab-ldr-version"
    if target.kind == "release" and known.exists():  # a release never changes once installed
        return LdrEnv(target, path, python, py_version, known.read_text().strip())
    probe = env.run(_VERSION_PROBE, timeout=120)
    if probe.returncode != 0 or probe.timed_out:
        raise LdrEnvError(
            f"{target.label}: local_deep_research does not import: {probe.last_line()}"
        )
    version = probe.stdout.strip().splitlines()[-1]
    if target.kind == "release":
        known.write_text(version + "\n")
    return LdrEnv(target, path, python, py_version, version)


def main(argv: list[str] | None = None) -> int:
    """``python -m leaklab.ldr_env TARGET``: build (or find) the env and print its interpreter."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        sys.stderr.write("usage: python -m leaklab.ldr_env TARGET\n")
        return 2
    try:
        env = ensure_env(argv[0])
    except LdrEnvError as exc:
        sys.stderr.write(f"leaklab: {exc}\n")
        return 2
    print(env.python)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
