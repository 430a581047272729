"""``leaklab ldr-check TARGET``: does this LDR release, or this working tree, still leak?

Each check of :mod:`leaklab.ldr_probe` runs in its own child interpreter of the target's
cached environment (:mod:`leaklab.ldr_env`), against the kit's fake Ollama on loopback (or the
server in ``OLLAMA_HOST``), bounded by a timeout. The parent only starts the server, collects
one JSON line per check and renders the table; the fake runs in a process of its own, not
in the checked child, so the child's census holds only the client side of each connection.

Results of a *release* can be cached (:func:`cached_report`), keyed by the release, the
interpreter's minor version and a digest of the kit code that produced them, so the site's
matrix page and the ladder notebook rebuild only what changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .ldr_env import LdrEnv, LdrEnvError, Target, cache_root, ensure_env, parse_target

__all__ = [
    "CHECKS",
    "CheckResult",
    "CheckSpec",
    "Report",
    "cached_report",
    "kit_digest",
    "run_checks",
]

_HERE = Path(__file__).resolve().parent
#: The child arms its own alarm too, so it cannot outlive a parent that was killed meanwhile.
_PROBE = (
    "import os, signal; signal.alarm(int(os.environ['LEAKLAB_CHECK_TIMEOUT']) + 5)\n"
    "from leaklab.ldr_probe import main; main()"
)


@dataclass(frozen=True)
class CheckSpec:
    """A check's stable id, the LDR function it calls, its handbook page and time bound."""

    id: str
    function: str
    page: str
    timeout: float = 90.0


#: The checks, in report order. Ids are stable: the site, tests and scripts refer to them.
CHECKS: tuple[CheckSpec, ...] = (
    CheckSpec(
        "ollama-async-close-in-running-loop",
        "utilities.llm_utils._close_base_llm",
        "history.md#wave-7",
    ),
    CheckSpec(
        "ollama-async-close-after-loop",
        "utilities.llm_utils._close_base_llm",
        "notebooks/async-chat-clients.ipynb",
    ),
    CheckSpec("ollama-sync-close", "utilities.llm_utils._close_base_llm", "history.md#wave-3"),
    CheckSpec(
        "embeddings-close",
        "utilities.llm_utils._close_base_llm",
        "notebooks/audit-ollama-embeddings.ipynb",
    ),
    CheckSpec(
        "search-engine-close-cascade",
        "web_search_engines.search_engine_base.BaseSearchEngine.close",
        "notebooks/anti-skipped-super-close.ipynb",
    ),
    CheckSpec(
        "encrypted-db-pool",
        "database.encrypted_db.DatabaseManager",
        "adr/hb-004.md",
        timeout=180.0,
    ),
    CheckSpec("safe-close", "utilities.resource_utils.safe_close", "conventions.md"),
)
CHECK_IDS = tuple(c.id for c in CHECKS)


@dataclass(frozen=True)
class CheckResult:
    """One row: ``verdict`` is ``leak``, ``flat``, ``noisy``, ``n/a`` or ``error``."""

    id: str
    verdict: str
    function: str
    delta: dict[str, int]
    page: str
    detail: str = ""
    variants: dict[str, Any] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    cached: bool = False


@dataclass(frozen=True)
class Report:
    """All checks of one target."""

    target: str
    ldr_version: str
    python: str
    checks: tuple[CheckResult, ...]

    @property
    def exit_code(self) -> int:
        """0 when every check is flat or n/a; 1 otherwise (a leak, noise or an error)."""
        return 0 if all(c.verdict in ("flat", "n/a") for c in self.checks) else 1

    def verdicts(self) -> dict[str, str]:
        return {c.id: c.verdict for c in self.checks}

    def by_id(self, check_id: str) -> CheckResult:
        return next(c for c in self.checks if c.id == check_id)

    def to_dict(self, site_root: str | None = None) -> dict[str, Any]:
        """The ``--json`` shape: target, ldr_version, python, checks[id, verdict, ...].

        Pages become URLs under ``site_root``, by default the handbook's address
        (``HANDBOOK_SITE_URL``, else the local ``make serve`` one).
        """
        from .lookup import site_url
        from .site import site_url as handbook_url

        root = site_root or handbook_url()
        checks = []
        for c in self.checks:
            item = asdict(c)
            item["page"] = site_url(c.page, root)
            checks.append(item)
        return {
            "target": self.target,
            "ldr_version": self.ldr_version,
            "python": self.python,
            "checks": checks,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            data["target"],
            data["ldr_version"],
            data["python"],
            tuple(CheckResult(**c) for c in data["checks"]),
        )

    def render_text(self) -> str:
        """The table ``ldr-check`` prints: check, function, verdict, FD types moved, page."""
        head = f"LDR {self.ldr_version} ({self.target}) on CPython {self.python}"
        reused = sum(c.cached for c in self.checks)
        if reused:
            head += f"; {reused} of {len(self.checks)} results reused from the cache (--fresh)"
        head += "\n\n"
        rows = [("check", "LDR function", "verdict", "FD types moved", "page")]
        for c in self.checks:
            moved = ", ".join(f"{k} {v:+d}" for k, v in c.delta.items()) or "-"
            verdict = c.verdict if c.verdict != "error" else f"error: {c.detail}"
            rows.append((c.id, c.function, verdict, moved, c.page.replace(".ipynb", "")))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [
            "  ".join(cell.ljust(widths[i]) if i < 4 else cell for i, cell in enumerate(r))
            for r in rows
        ]
        lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 4)
        counts = {v: sum(c.verdict == v for c in self.checks) for v in ("leak", "flat", "n/a")}
        tail = (
            f"\n{counts['leak']} leak, {counts['flat']} flat, {counts['n/a']} n/a, "
            f"{len(self.checks) - sum(counts.values())} other\n"
        )
        return head + "\n".join(line.rstrip() for line in lines) + "\n" + tail


@contextlib.contextmanager
def _ollama() -> Iterator[tuple[str, str]]:
    """``(url, model)``: the server in ``OLLAMA_HOST`` when set, else the kit's fake Ollama.

    The kit chooses (:func:`leaklab.ollama.ollama_server`): a real server must answer and
    names the model (``HANDBOOK_OLLAMA_MODEL`` or its first); an unreachable one is a one-line
    error, exit 2.
    """
    from .ollama import OllamaUnavailable, ollama_server

    try:
        with ollama_server() as target:
            yield target.url, target.model
    except OllamaUnavailable as exc:
        raise LdrEnvError(str(exc)) from None


def _run_one(env: LdrEnv, spec: CheckSpec, ollama: tuple[str, str], impl: str) -> CheckResult:
    import time

    start = time.perf_counter()
    extra = {
        "LEAKLAB_OLLAMA_URL": ollama[0],
        "LEAKLAB_OLLAMA_MODEL": ollama[1],
        "LEAKLAB_LDR_IMPL": impl,
        "LEAKLAB_CHECK_TIMEOUT": str(int(spec.timeout)),
    }
    out = env.run(_PROBE, args=(spec.id,), timeout=spec.timeout, env=extra)
    seconds = round(time.perf_counter() - start, 2)
    base = {"id": spec.id, "function": spec.function, "page": spec.page, "seconds": seconds}
    if out.timed_out:
        return CheckResult(
            verdict="error", delta={}, detail=f"timed out after {spec.timeout:g}s", **base
        )
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    try:
        data = json.loads(lines[-1])
    except (IndexError, ValueError):
        return CheckResult(verdict="error", delta={}, detail=out.last_line()[:300], **base)
    return CheckResult(
        verdict=data["verdict"],
        delta=data.get("delta", {}),
        detail=data.get("detail", ""),
        variants=data.get("variants", {}),
        facts=data.get("facts", {}),
        **base,
    )


def run_checks(
    target: str | Target,
    ids: Iterable[str] | None = None,
    *,
    impl: Mapping[str, str] | None = None,
) -> Report:
    """Build (or reuse) the target's env and run the checks ``ids`` (default: all), in order.

    ``impl`` replaces LDR functions by others for the differential test: keys are the
    ``function`` column (``utilities.resource_utils.safe_close``), values ``module:name``.
    """
    wanted = list(CHECK_IDS if ids is None else ids)
    unknown = [i for i in wanted if i not in CHECK_IDS]
    if unknown:
        raise LdrEnvError(f"unknown check {unknown[0]!r}; known: {', '.join(CHECK_IDS)}")
    env = ensure_env(target)
    specs = [c for c in CHECKS if c.id in wanted]
    with _ollama() as ollama:
        impl_json = json.dumps(dict(impl or {}))
        results = tuple(_run_one(env, spec, ollama, impl_json) for spec in specs)
    python = ".".join(map(str, env.python_version))
    return Report(env.target.label, env.ldr_version, python, results)


def kit_digest() -> str:
    """Digest of the code and pins that decide a result: probe, verdict, census, dep lock.

    This module only starts the children and renders, so editing it keeps cached results.
    """
    from .ldr_env import DEPS_LOCK

    h = hashlib.sha256()
    for path in (
        _HERE / "ldr_probe.py",
        _HERE / "measure.py",
        _HERE / "census.py",
        DEPS_LOCK,
    ):
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def _impl_digest(impl: Mapping[str, str]) -> str:
    """Digest of a replacement map and the source of every module it names."""
    import importlib.util

    h = hashlib.sha256(json.dumps(dict(impl), sort_keys=True).encode())
    for target in sorted(impl.values()):
        spec = importlib.util.find_spec(target.partition(":")[0])
        if spec is not None and spec.origin:
            h.update(Path(spec.origin).read_bytes())
    return h.hexdigest()[:8]


def cached_report(
    release: str,
    ids: Iterable[str] | None = None,
    *,
    refresh: bool = False,
    impl: Mapping[str, str] | None = None,
    run_missing: bool = True,
) -> Report:
    """Checks ``ids`` (default: all) of a *release*, each cached under ``.cache/ldr/results``.

    A cached result is keyed by release, check, interpreter minor version and
    :func:`kit_digest`, so it is reused until the code that measured it changes; only the
    missing checks run (with ``run_missing=False`` they are left out of the report instead).
    Only releases are cached: a source tree changes under the same path.
    """
    target = parse_target(release)
    if target.kind != "release":
        raise LdrEnvError(f"{release}: only releases are cached; use run_checks for a folder")
    from .ldr_env import find_ldr_python

    wanted = list(CHECK_IDS if ids is None else ids)
    version, _ = find_ldr_python()
    folder = cache_root() / "results" / release
    digest = kit_digest() + (f"-impl{_impl_digest(impl)}" if impl else "")

    def path(check_id: str) -> Path:
        return folder / f"{check_id}-py{version[0]}.{version[1]}-{digest}.json"

    missing = [i for i in wanted if refresh or not path(i).exists()]
    if not run_missing:  # what is cached, nothing measured (a build that must not wait)
        wanted = [i for i in wanted if i not in missing]
        missing = []
    if missing:
        report = run_checks(target, missing, impl=impl)
        folder.mkdir(parents=True, exist_ok=True)
        for result in report.checks:
            data = {"ldr_version": report.ldr_version, "python": report.python, **asdict(result)}
            tmp = path(result.id).with_suffix(f".tmp{os.getpid()}")
            tmp.write_text(json.dumps(data, indent=1))
            tmp.replace(path(result.id))
    loaded = [json.loads(path(i).read_text()) for i in wanted]
    meta = loaded[0] if loaded else {"ldr_version": release, "python": ""}
    checks = tuple(
        CheckResult(
            **{k: v for k, v in d.items() if k not in ("ldr_version", "python", "cached")},
            cached=i not in missing,
        )
        for i, d in zip(wanted, loaded, strict=True)
    )
    return Report(release, meta["ldr_version"], meta["python"], checks)


def command(
    target: str, as_json: bool, checks: list[str] | None = None, fresh: bool = False
) -> int:
    """The ``ldr-check`` subcommand: print the table or JSON, return the exit status.

    A release is immutable, so its results are reused from the cache while the kit code is
    unchanged (``fresh`` measures again); a source tree is always measured.
    """
    try:
        parsed = parse_target(target)
        if parsed.kind == "release" and not fresh:
            report = cached_report(target, checks)
        else:
            report = run_checks(parsed, checks)
    except LdrEnvError as exc:
        sys.stderr.write(f"leaklab: {' '.join(str(exc).split())}\n")
        return 2
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), indent=2) + "\n")
    else:
        sys.stdout.write(report.render_text())
    return report.exit_code
