"""`make serve` answers at once, refuses a busy port up front, and leaves nothing behind.

Each test serves a copy of the checkout (its own ``.cache``, log and port, ``HOME`` in a
temporary folder), so a ``make serve`` the user runs in the checkout itself is neither matched
nor disturbed. Leftovers are found by the process tree recorded while serving, not by name:
a process renamed or re-parented is still caught.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, quiet_env

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8", "replace")


def checkout_copy(dest: Path) -> Path:
    """The tracked and new files of this checkout, with its .venv linked in."""
    names = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, names):
        src = ROOT / os.fsdecode(name)
        if src.is_file():
            target = dest / os.fsdecode(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    (dest / ".venv").symlink_to(ROOT / ".venv")
    return dest


def _stat(pid: int) -> tuple[int, str, str] | None:
    """(parent, state, start time) of a process, None once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return int(fields[1]), fields[0], fields[19]


class TreeRecorder(threading.Thread):
    """Every descendant of ``root`` seen while it runs, as (pid, start time), with its command."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.seen: dict[tuple[int, str], str] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.1):
            self.sample()

    def sample(self) -> None:
        parents: dict[int, int] = {}
        starts: dict[int, str] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit() and (st := _stat(int(entry))):
                parents[int(entry)], starts[int(entry)] = st[0], st[2]
        tree = {self.root} | {pid for pid, _ in self.seen}
        grew = True
        while grew:
            grew = False
            for pid, parent in parents.items():
                if parent in tree and pid not in tree:
                    tree.add(pid)
                    grew = True
        for pid in tree - {self.root}:
            if pid in starts and (pid, starts[pid]) not in self.seen:
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    cmd = b""
                self.seen[(pid, starts[pid])] = cmd.decode(errors="replace")

    def alive(self) -> list[str]:
        """Recorded processes still running (a zombie has ended: it only awaits its reaper)."""
        out = []
        for (pid, start), cmd in self.seen.items():
            st = _stat(pid)
            if st and st[2] == start and st[1] != "Z":
                out.append(f"{pid} {cmd[:120]}")
        return out


@pytest.mark.slow
def test_serve_answers_stops_mid_build_and_leaves_nothing(tmp_path):
    hb = checkout_copy(tmp_path / "hb")
    home = tmp_path / "home"
    home.mkdir()
    port = free_port()
    server = subprocess.Popen(
        ["bash", "scripts/serve.sh", "127.0.0.1", str(port)],
        cwd=hb,
        env=quiet_env(HOME=str(home), TMPDIR=str(tmp_path / "tmp-outside")),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    recorder = TreeRecorder(server.pid)
    recorder.start()
    try:
        deadline = time.monotonic() + 240
        status, home_page = 0, ""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, home_page = fetch(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, server.stdout.read1().decode() if server.poll() is not None else ""
        assert "Resource Cleanup Handbook" in home_page
        status, page = fetch(f"http://127.0.0.1:{port}/notebooks/pipeline-check/")
        assert status == 200 and "pipe_fds" in page
        # Stop in the middle of the background build: once it runs a notebook's kernel.
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not any(
            "ipykernel" in cmd for cmd in recorder.seen.values()
        ):
            time.sleep(0.2)
        assert any("ipykernel" in cmd for cmd in recorder.seen.values()), recorder.seen
    finally:
        server.send_signal(signal.SIGINT)  # what Ctrl-C sends to the script
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
        server.stdout.close()
    deadline = time.monotonic() + 20
    while recorder.alive() and time.monotonic() < deadline:
        time.sleep(0.2)
    recorder.stop.set()
    recorder.join(5)
    assert recorder.alive() == [], "serve left processes behind"
    assert list((hb / ".cache" / "tmp").iterdir()) == [], "serve left temporary files"
    assert not (tmp_path / "tmp-outside").exists()
    assert not (home / ".ipython").exists(), "a kernel wrote to ~/.ipython"
    assert (hb / ".cache" / "ipython" / "profile_default" / "ipython_kernel_config.py").is_file()


def test_a_busy_port_is_one_line_before_any_build(tmp_path):
    hb = checkout_copy(tmp_path / "hb")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        proc = subprocess.run(
            ["bash", "scripts/serve.sh", "127.0.0.1", str(port)],
            cwd=hb,
            env=quiet_env(HOME=str(tmp_path)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert f"127.0.0.1:{port} is already in use" in proc.stderr
    assert f"PORT={port + 1}" in proc.stderr
    assert time.monotonic() - started < 20
    assert not (hb / ".cache" / "warm.log").exists(), "a build started anyway"


def test_an_unexecuted_serve_build_keeps_the_executed_cache(tmp_path):
    from test_site_build import build, throwaway_site

    site = throwaway_site(tmp_path, ["print('executed-' + 'output')"])
    assert build(site, tmp_path / "out").returncode == 0
    cache = site / ".cache" / "mkdocs-jupyter"
    entries = sorted(cache.rglob("*.json"))
    assert entries, "the executing build cached nothing"
    # What `make serve` builds while the background build has not finished.
    warming = build(site, tmp_path / "out2", HANDBOOK_SERVE_WARMING="1")
    assert warming.returncode == 0, warming.stderr[-2000:]
    assert sorted(cache.rglob("*.json")) == entries, "the unexecuted build evicted the cache"
