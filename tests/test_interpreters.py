"""find_cpythons returns runnable CPythons, newest first, and leaklab works in each of them."""

from __future__ import annotations

import subprocess

from leaklab.interpreters import child_env, find_cpythons

PROBE = (
    "import json, sys, leaklab; c = leaklab.census(); "
    "print(json.dumps([list(sys.version_info[:3]), c.total, "
    "any(m.split('.')[0] in ('psutil', 'matplotlib') for m in sys.modules)]))"
)


def test_find_cpythons_is_sorted_unique_and_verified() -> None:
    found = find_cpythons()
    assert found, "expected at least the running CPython's release line"
    versions = [v for v, _ in found]
    assert versions == sorted(versions, reverse=True)
    assert len({v[:2] for v in versions}) == len(versions)
    assert all(v[:2] >= (3, 11) for v in versions)
    assert find_cpythons(min_version=(99, 0)) == []


def test_leaklab_runs_stdlib_only_in_every_found_interpreter() -> None:
    import json

    for version, path in find_cpythons():
        out = subprocess.run(
            [path, "-c", PROBE], capture_output=True, text=True, timeout=60, env=child_env()
        )
        assert out.returncode == 0, out.stderr
        reported, total, heavy = json.loads(out.stdout)
        assert tuple(reported) == version
        assert total >= 3
        assert heavy is False
