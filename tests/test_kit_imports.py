"""``import leaklab`` is cheap, and ``leaklab census PID --json`` loads only what a census needs.

The command line is timed against the playbook's shell pipeline with interpreter start-up
included (``make bench``), so every module it imports is paid for on each call. These tests
check the imports themselves, which is deterministic; the timing stays in the bench.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import leaklab
import pytest

#: Modules the census command must not load: the measuring loop, plotting, the psutil
#: fallback, and the standard-library modules that cost the most start-up.
NOT_FOR_A_CENSUS = (
    "leaklab.measure",
    "matplotlib",
    "psutil",
    "httpx",
    "dataclasses",
    "inspect",
    "typing",
)

PROBE = """
import io, json, sys
from contextlib import redirect_stdout
from leaklab.cli import main
with redirect_stdout(io.StringIO()) as out:
    status = main(["census", sys.argv[1], "--json"])
assert status == 0 and json.loads(out.getvalue())["total"] > 0
print(json.dumps(sorted(sys.modules)))
"""


def test_census_command_imports_only_what_it_needs():
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(os.getpid())],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    loaded = set(json.loads(out.stdout))
    assert "leaklab.census" in loaded
    assert loaded.isdisjoint(NOT_FOR_A_CENSUS), sorted(loaded & set(NOT_FOR_A_CENSUS))


def test_every_export_is_listed_and_resolves():
    assert sorted(leaklab.__all__) == sorted(leaklab._EXPORTS)
    for name in leaklab.__all__:
        assert getattr(leaklab, name) is not None, name
    assert set(leaklab.__all__) <= set(dir(leaklab))


def test_census_and_measure_stay_functions_whatever_imports_first():
    # Importing a submodule binds it on the package; the names must still give the functions.
    probe = (
        "import leaklab.measure, leaklab.census\n"
        "from leaklab.measure import judge\n"
        "from leaklab import census, measure\n"
        "import leaklab\n"
        "assert callable(census) and census.__module__ == 'leaklab.census', census\n"
        "assert callable(measure) and measure.__module__ == 'leaklab.measure', measure\n"
        "assert leaklab.census is census and leaklab.measure is measure\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=60)


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        leaklab.no_such_name  # noqa: B018
