"""ldr_env: targets are parsed without a shell, envs are built once and run LDR's real code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from leaklab.ldr_env import LdrEnvError, Target, ensure_env, find_ldr_python, parse_target

#: After #4047 (Wave 7): the first release whose close helper handles a running loop.
RELEASE = "1.6.11"


def _needs_python_312() -> None:
    try:
        find_ldr_python()
    except LdrEnvError as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "empty target"),
        ("abc", "neither a release"),
        ("1.6;rm -rf x", "neither a release"),
        ("$(touch pwned)", "neither a release"),
        ("/no/such/folder", "no such folder"),
    ],
)
def test_bad_targets_are_refused_with_one_line(text: str, fragment: str) -> None:
    with pytest.raises(LdrEnvError, match=fragment.replace("(", r"\(")) as info:
        parse_target(text)
    assert "\n" not in str(info.value)
    assert not Path("pwned").exists()


def test_folder_without_ldr_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LdrEnvError, match="no local_deep_research/"):
        parse_target(str(tmp_path))


def test_checkout_with_src_layout_is_found(tmp_path: Path) -> None:
    pkg = tmp_path / "src" / "local_deep_research"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    assert parse_target(str(tmp_path)) == Target("source", source=(tmp_path / "src").resolve())
    assert parse_target("1.10.7") == Target("release", release="1.10.7")


@pytest.mark.slow
def test_release_env_runs_ldr_code_and_writes_nothing_outside_its_temp_folder() -> None:
    _needs_python_312()
    env = ensure_env(RELEASE)
    assert env.ldr_version == RELEASE
    assert env.python_version[:2] >= (3, 12)
    assert os.path.exists(env.python)
    out = env.run(
        "import os, leaklab\n"
        "from local_deep_research.utilities.llm_utils import _close_base_llm\n"
        "print(os.getcwd() == os.environ['LDR_DATA_DIR'], leaklab.census().total > 2)",
        timeout=120,
    )
    assert (out.returncode, out.stdout.split()) == (0, ["True", "True"]), out.stderr
    assert ensure_env(RELEASE).path == env.path  # cached: the same folder, not rebuilt


@pytest.mark.slow
def test_runaway_child_is_killed_at_the_timeout() -> None:
    _needs_python_312()
    out = ensure_env(RELEASE).run("import time; time.sleep(60)", timeout=1)
    assert out.timed_out
