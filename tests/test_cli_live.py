"""``leaklab`` against real local processes holding a known mix of FDs (leaklab.fdmix)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from cli_helpers import assert_one_line_error, digest, leaklab
from leaklab.fdmix import FdMix, expected_counts, spawn

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not hasattr(os, "pidfd_open"),
    reason="needs Linux /proc and os.pidfd_open",
)


@pytest.fixture
def mix(tmp_path):
    with spawn(FdMix(sqlite=str(tmp_path / "app.db"))) as m:
        yield m


def test_census_json_exact_counts(mix):
    proc = leaklab("census", str(mix.info["pid"]), "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    want = expected_counts(mix)
    assert {k: data["counts"][k] for k in want} == want
    assert data["total"] == sum(v for k, v in want.items() if "." not in k)


def test_census_table(mix):
    proc = leaklab("census", str(mix.info["pid"]))
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0] == f"PID {mix.info['pid']} (live /proc): 18 FDs"
    assert "      3   16.7%  eventpoll" in lines
    assert "      1              socket.tcp.listen" in lines


def test_sqlite_files_are_not_touched(tmp_path):
    db = tmp_path / "app.db"
    with spawn(FdMix(sqlite=str(db))) as m:
        before = {p.name: digest(p) for p in tmp_path.iterdir()}
        for args in (("census",), ("triage",), ("pidfds",)):
            assert leaklab(*args, str(m.info["pid"])).returncode == 0
        assert {p.name: digest(p) for p in tmp_path.iterdir()} == before


def test_pidfds_live_and_orphan(mix):
    proc = leaklab("pidfds", str(mix.info["pid"]))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(f"alive pid={mix.info['live'][0]} : sleep 600" in ln for ln in lines), lines
    assert sum("ORPHAN" in ln for ln in lines) == 1
    assert lines[-1].endswith("pidfds: 2 (alive 1, zombie 0, orphan 1, other namespace 0)")
    data = json.loads(leaklab("pidfds", str(mix.info["pid"]), "--json").stdout)
    states = sorted((p["state"], p["target"]) for p in data["pidfds"])
    assert states == [("alive", mix.info["live"][0]), ("orphan", -1)]


def test_triage_live_quiet_and_leaking(tmp_path):
    with spawn(FdMix(eventpoll=3)) as quiet:
        proc = leaklab("triage", str(quiet.info["pid"]))
        assert proc.returncode == 0, proc.stdout
    with spawn(FdMix(eventpoll=40, live=0, orphan=20)) as loud:
        proc = leaklab("triage", str(loud.info["pid"]))
        assert proc.returncode == 1, proc.stdout
        assert "1. eventpoll: 40 FDs" in proc.stdout
        assert "pidfd: 20 FDs" in proc.stdout
        assert "/playbook/#pidfd" in proc.stdout


def test_diff_pid_against_saved_json(tmp_path):
    with spawn(FdMix(leak_every=0.2)) as drip:
        pid = str(drip.info["pid"])
        saved = tmp_path / "before.json"
        saved.write_text(leaklab("census", pid, "--json").stdout)
        import time

        time.sleep(1.0)
        proc = leaklab("diff", str(saved), pid, "--json")
    assert proc.returncode == 0, proc.stderr
    change = json.loads(proc.stdout)["change"]
    assert change["eventpoll"] >= 2
    assert set(change) == {"eventpoll"}


def test_watch_drip_is_a_leak_and_plots(tmp_path):
    png = tmp_path / "growth.png"
    with spawn(FdMix(leak_every=0.3)) as drip:
        proc = leaklab(
            "watch", str(drip.info["pid"]), "--every", "0.4", "--samples", "6", "--plot", str(png)
        )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Verdict: LEAK SUSPECTED (eventpoll grows steadily)" in proc.stdout
    assert len(proc.stderr.splitlines()) == 6  # not a TTY: one plain line per sample
    assert proc.stderr.splitlines()[0].startswith("[1/6] ")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_watch_steady_process_is_not_a_leak():
    with spawn(FdMix()) as steady:
        proc = leaklab("watch", str(steady.info["pid"]), "--every", "0.1", "--samples", "3")
    assert proc.returncode == 0, proc.stdout
    assert "no leak suspected" in proc.stdout


def test_missing_pid_is_one_line(mix):
    assert_one_line_error(leaklab("census", "4194000"))
    assert_one_line_error(leaklab("watch", "4194000", "--every", "0.1", "--samples", "2"))


DROP_AND_RUN = """
import os, sys
import locale, json, re  # the stdlib under /root is unreadable after the drop
import leaklab.cli, leaklab.lookup, leaklab.pidfds, leaklab.report, leaklab.triage
leaklab.cli.build_parser()
os.setgid(65534)
os.setuid(65534)  # an ordinary user: may list another user's FDs but not read them
sys.exit(leaklab.cli.main(sys.argv[1:]))
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop to another user")
def test_permission_denied_says_how_to_rerun(mix):
    # The interpreter lives under /root, so the drop happens after start-up and imports.
    for command in ("census", "triage", "pidfds"):
        proc = subprocess.run(
            [sys.executable, "-c", DROP_AND_RUN, command, str(mix.info["pid"])],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert_one_line_error(proc)
        assert "docker exec --user 0" in proc.stderr and "root" in proc.stderr


def test_census_json_path_imports_no_heavy_module(mix):
    cmd = [sys.executable, "-X", "importtime", "-m", "leaklab", "census", str(mix.info["pid"])]
    proc = subprocess.run(
        [*cmd, "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines()}
    for heavy in ("psutil", "matplotlib", "httpx", "numpy", "leaklab.snapshot_parse"):
        assert heavy not in imported
