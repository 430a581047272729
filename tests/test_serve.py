"""`make serve` answers at once and stops everything it started when it is stopped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request

from conftest import ROOT, quiet_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8", "replace")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_answers_and_cleans_up(tmp_path):
    port = free_port()
    env = quiet_env(HOME=str(tmp_path))
    server = subprocess.Popen(
        ["bash", "scripts/serve.sh", "127.0.0.1", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 240
        status, home = 0, ""
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, home = fetch(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                time.sleep(0.5)
        assert status == 200, server.stdout.read1().decode() if server.poll() is not None else ""
        assert "Resource Cleanup Handbook" in home
        status, page = fetch(f"http://127.0.0.1:{port}/notebooks/pipeline-check/")
        assert status == 200 and "pipe_fds" in page
    finally:
        server.send_signal(signal.SIGINT)  # what Ctrl-C sends to the script
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
    deadline = time.monotonic() + 20
    while group_alive(server.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not group_alive(server.pid), "serve left processes behind"
    leftovers = subprocess.run(
        ["pgrep", "-f", f"{ROOT}/.cache/warm-site|-a 127.0.0.1:{port}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert leftovers == [], "the background notebook build or the server outlived serve"
