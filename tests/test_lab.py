"""`make lab` starts JupyterLab for any user, root included, and says where to open it."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_make_lab_serves_and_prints_the_address(tmp_path):
    port = free_port()
    lab = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_PORT={port}"],
        cwd=ROOT,
        env=dict(os.environ, HOME=str(tmp_path), BROWSER="true"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    out = ""
    try:
        deadline = time.monotonic() + 180
        address = None
        while address is None and time.monotonic() < deadline and lab.poll() is None:
            if select.select([lab.stdout], [], [], 1)[0]:
                out += lab.stdout.readline()
                address = re.search(rf"http://127\.0\.0\.1:{port}/lab\?token=\w+", out)
        assert address, out[-3000:]
        assert f"JupyterLab: http://127.0.0.1:{port}/lab" in out
        # Under load the address can be printed a moment before the server accepts.
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(address.group(), timeout=10) as response:
                    assert response.status == 200
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait(timeout=10)
        lab.stdout.close()
    if os.geteuid() == 0:
        assert "--allow-root" in out
