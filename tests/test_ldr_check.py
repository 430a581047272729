"""`leaklab ldr-check` on LDR's released code: verdicts before and after #4047, bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import tool
from leaklab.ldr_check import CHECK_IDS, cached_report
from leaklab.ldr_env import LdrEnvError, ensure_env, find_ldr_python

#: The release before #4047 (Wave 7) and the first release with it.
BEFORE, AFTER = "1.6.10", "1.6.11"
ALL_FLAT = dict.fromkeys(CHECK_IDS, "flat")
#: 1.6.10 closes the async client only when no loop runs (#3855): inside one it skips the close.
EXPECTED = {
    BEFORE: {**ALL_FLAT, "ollama-async-close-in-running-loop": "leak"},
    AFTER: ALL_FLAT,
}
ASYNC_CHECKS = ("ollama-async-close-in-running-loop", "ollama-async-close-after-loop")


def _needs_python_312() -> None:
    try:
        find_ldr_python()
    except LdrEnvError as exc:
        pytest.skip(str(exc))


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [tool("leaklab"), "ldr-check", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("target", ["nope", "/no/such/folder", "1.6;touch pwned", "9.9.9", "{tmp}"])
def test_bad_target_exits_2_with_one_line(target: str, tmp_path: Path) -> None:
    if target == "9.9.9":
        _needs_python_312()  # the registry is asked only once an interpreter is found
    proc = _cli(target.format(tmp=tmp_path), "--json")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 2, (out, err)
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("leaklab: "), err
    assert "Traceback" not in err
    assert not Path("pwned").exists()


@pytest.mark.slow
def test_pinned_releases_before_and_after_4047() -> None:
    _needs_python_312()
    procs = {release: _cli(release, "--json") for release in EXPECTED}  # side by side
    for release, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == (1 if release == BEFORE else 0), err
        report = json.loads(out)
        assert report["ldr_version"] == release
        assert {c["id"]: c["verdict"] for c in report["checks"]} == EXPECTED[release], out
    leak = next(c for c in report["checks"] if c["id"] == ASYNC_CHECKS[0])
    assert leak["page"].startswith("http") and leak["page"].endswith("history/#wave-7")


@pytest.mark.slow
def test_unpacked_release_gives_the_release_verdicts_and_stays_untouched(
    tmp_path: Path,
) -> None:
    _needs_python_312()
    installed = next(ensure_env(BEFORE).path.glob("lib/python3.*/site-packages"))
    checkout = tmp_path / "local-deep-research"
    shutil.copytree(
        installed / "local_deep_research",
        checkout / "src" / "local_deep_research",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    before = sorted(p.relative_to(checkout) for p in checkout.rglob("*"))
    args = [a for check in ASYNC_CHECKS for a in ("--check", check)]
    proc = _cli(str(checkout), "--json", *args)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err
    folder = {c["id"]: c["verdict"] for c in json.loads(out)["checks"]}
    assert folder == cached_report(BEFORE, ASYNC_CHECKS).verdicts()
    assert sorted(p.relative_to(checkout) for p in checkout.rglob("*")) == before


@pytest.mark.slow
def test_table_names_each_check_its_function_and_page() -> None:
    _needs_python_312()
    proc = _cli(AFTER, "--check", "safe-close")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    row = next(line for line in out.splitlines() if line.startswith("safe-close"))
    assert row.split()[1:4] == ["utilities.resource_utils.safe_close", "flat", "-"]


def test_unreachable_registry_exits_2_with_one_line(tmp_path: Path) -> None:
    _needs_python_312()
    import os

    env = {**os.environ, "UV_OFFLINE": "1", "LEAKLAB_LDR_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run(
        [tool("leaklab"), "ldr-check", "1.6.1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "registry unreachable" in proc.stderr, proc.stderr
    assert not (tmp_path / "cache" / "envs").exists() or not any(
        (tmp_path / "cache" / "envs").iterdir()
    )
