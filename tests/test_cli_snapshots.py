"""``leaklab`` on saved snapshot texts: exact counts, triage pointers, and refusals."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from cli_helpers import DATA, assert_one_line_error, digest, leaklab

INCIDENT = DATA / "incident-ls.txt"
PASTE = DATA / "ls-paste.txt"
REPORT = DATA / "host-snapshot.txt"

PASTE_COUNTS = {
    "eventpoll": 3,  # one of them wrapped in the middle of its name
    "socket": 2,  # one wrapped before its arrow
    "pipe": 2,
    "pidfd": 2,  # one quoted with "> ", one pasted twice
    "dev": 1,
    "sqlite_db": 1,  # path wrapped
    "sqlite_wal": 1,
    "sqlite_shm": 1,
    "file": 1,  # "(deleted)"
}
REPORT_COUNTS = {
    "socket": 3,
    "pipe": 6,
    "eventpoll": 3,
    "pidfd": 2,
    "dev": 1,
    "sqlite_db": 1,
    "sqlite_wal": 1,
    "sqlite_shm": 1,
}


def census_json(*args: str, stdin: str | bytes | None = None) -> dict:
    proc = leaklab("census", *args, "--json", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def nonzero(data: dict) -> dict:
    return {k: v for k, v in data["counts"].items() if v and "." not in k}


def test_incident_fixture_is_the_generators_output():
    script = DATA / "make_fixtures.py"
    proc = subprocess.run([sys.executable, str(script), "--check"], timeout=60)
    assert proc.returncode == 0, "tests/data/incident-ls.txt differs from make_fixtures.py"


def test_incident_paste_exact_counts():
    data = census_json("--from", str(INCIDENT))
    assert data["total"] == 1024
    assert data["pid"] == 1
    counts = nonzero(data)
    assert (counts["eventpoll"], counts["pidfd"], counts["socket"]) == (929, 64, 3)
    assert sum(counts.values()) == 1024


def test_noisy_paste_with_prompts_wraps_and_crlf():
    before = digest(PASTE)
    data = census_json("--from", str(PASTE))
    assert b"\r\n" in PASTE.read_bytes()
    assert nonzero(data) == PASTE_COUNTS
    assert data["total"] == sum(PASTE_COUNTS.values()) == 14
    assert digest(PASTE) == before


def test_host_snapshot_report():
    data = census_json("--from", str(REPORT))
    assert nonzero(data) == REPORT_COUNTS
    assert data["total"] == 18
    assert data["source"] == "host-snapshot"


def test_truncated_report_counts_the_rest_as_unclassified():
    # TOP=N cut the /dev/null row off the histogram; no category line covers "dev".
    lines = [ln for ln in REPORT.read_text().splitlines() if not ln.endswith(" /dev/null")]
    data = census_json("--from", "-", stdin="\n".join(lines) + "\n")
    assert data["total"] == 18
    assert data["counts"]["unclassified"] == 1
    assert data["counts"]["dev"] == 0
    assert nonzero(data) | {"dev": 1} == REPORT_COUNTS | {"unclassified": 1}


def test_report_without_categories_keeps_the_total():
    text = "=== Total FDs ===\n40\n=== FD-type histogram (digits collapsed) ===\n  30 pipe:[N]\n"
    data = census_json("--from", "-", stdin=text)
    assert data["total"] == 40
    assert data["counts"]["pipe"] == 30
    assert data["counts"]["unclassified"] == 10


def test_stdin_and_file_agree():
    from_file = census_json("--from", str(PASTE))
    from_stdin = census_json("--from", "-", stdin=PASTE.read_bytes())
    assert from_file["counts"] == from_stdin["counts"]


def test_own_json_round_trips():
    first = leaklab("census", "--from", str(INCIDENT), "--json").stdout
    again = census_json("--from", "-", stdin=first)
    assert again == json.loads(first)


def test_census_table_shows_shares():
    proc = leaklab("census", "--from", str(INCIDENT))
    assert proc.returncode == 0
    assert "    929   90.7%  eventpoll" in proc.stdout
    assert "   1024  100.0%  total" in proc.stdout


def test_triage_of_the_incident_points_at_eventpoll_and_pidfd():
    before = digest(INCIDENT)
    proc = leaklab("triage", "--from", str(INCIDENT), "--site-root", "https://example.test/hb")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "Verdict: LEAK SUSPECTED (eventpoll 929, pidfd 64)" in out
    assert "1. eventpoll: 929 FDs, 90.7% [dominant, SUSPECT]" in out
    assert "2. pidfd: 64 FDs, 6.2% [SUSPECT]" in out
    assert "https://example.test/hb/playbook/#eventpoll" in out
    assert "https://example.test/hb/notebooks/async-chat-clients/" in out
    assert "Wave 6 #3855" in out and "Wave 7 #4047" in out and "Round 8 #3971" in out
    assert "https://example.test/hb/playbook/#pidfd" in out
    assert digest(INCIDENT) == before


def test_triage_json_and_site_root_from_environment():
    import os

    env = dict(os.environ, HANDBOOK_SITE_URL="http://handbook.test/hb")
    proc = leaklab("triage", "--from", str(INCIDENT), "--json", env=env)
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert data["leak_suspected"] is True
    first = data["findings"][0]
    assert (first["category"], first["count"], first["row"]) == ("eventpoll", 929, "eventpoll")
    assert first["page"] == "http://handbook.test/hb/playbook/#eventpoll"
    assert 3855 in first["prs"] and 4047 in first["prs"]


def test_triage_of_a_quiet_snapshot_exits_0():
    proc = leaklab("triage", "--from", str(PASTE))
    assert proc.returncode == 0, proc.stdout
    assert "no leak suspected" in proc.stdout


def test_diff_of_two_files():
    proc = leaklab("diff", str(PASTE), str(INCIDENT))
    assert proc.returncode == 0, proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("eventpoll"))
    assert line.split() == ["eventpoll", "3", "929", "+926"]


BAD_TEXT = {
    "empty": b"",
    "blank": b"\n\r\n   \n",
    "binary": bytes(range(256)),
    "latin1": "caf\xe9 lrwx".encode("latin-1"),
    "prose": b"The container died again, any idea?\n$ docker ps\n",
    "json-not-census": b'{"hello": "world"}',
    "broken-json": b'{"counts": ',
}


@pytest.mark.parametrize("name", sorted(BAD_TEXT))
def test_bad_snapshot_file_is_one_line_exit_2(tmp_path, name):
    path = tmp_path / f"{name}.txt"
    path.write_bytes(BAD_TEXT[name])
    before = digest(path)
    for command in ("census", "triage"):
        assert_one_line_error(leaklab(command, "--from", str(path)))
    assert_one_line_error(leaklab("census", "--from", "-", stdin=BAD_TEXT[name]))
    assert digest(path) == before


@pytest.mark.parametrize(
    "args",
    [
        ("census", "abc"),
        ("census", "0"),
        ("census", "-5"),
        ("census", "12x"),
        ("census", "$(id)"),
        ("census", "4194304999"),
        ("census",),
        ("census", "1", "--from", "x"),
        ("census", "--from", "/nonexistent/snapshot.txt"),
        ("census", "--from", "/"),
        ("triage", "abc"),
        ("pidfds", "abc"),
        ("pidfds", "99999999"),
        ("diff", "-", "-"),
        ("diff", "not-a-file", "1"),
        ("watch", "1", "--samples", "1"),
        ("watch", "1", "--every", "0"),
        ("watch", "abc"),
        ("nosuchcommand",),
        (),
    ],
)
def test_bad_arguments_are_one_line_exit_2(args):
    assert_one_line_error(leaklab(*args))
