"""The leaks the fd_canary marker and --fd-leaks catch, and the tests they leave alone."""

import asyncio
import os
import socket
import subprocess
import sys

import pytest

held = []  # what the leaking tests keep reachable, so no garbage collection can close it


@pytest.fixture(scope="module")
def listener():
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


@pytest.fixture
def log_dir(tmp_path):
    yield tmp_path
    held.append((tmp_path / "teardown.log").open("w"))


@pytest.mark.fd_canary
def test_socket_leak(listener):
    conn = socket.create_connection(listener.getsockname())
    held.append(conn)


@pytest.mark.fd_canary
def test_event_loop_leak():
    held.append(asyncio.new_event_loop())


@pytest.mark.fd_canary
def test_file_leak_in_fixture_teardown(log_dir):
    assert log_dir.is_dir()


@pytest.mark.fd_canary
def test_clean_socket(listener):
    with socket.create_connection(listener.getsockname()):
        pass


@pytest.mark.fd_canary
def test_clean_event_loop():
    asyncio.run(asyncio.sleep(0))


def test_clean_unmarked():
    read, write = os.pipe()
    os.close(read)
    os.close(write)


def test_clean_with_capfd(capfd, tmp_path, monkeypatch):
    # pytest's own fixtures open and close what they need within the test's setup and teardown.
    os.write(1, b"captured by capfd")
    (tmp_path / "note.txt").write_text("closed")
    monkeypatch.setenv("LEAKLAB_EXAMPLE", "1")


def test_clean_with_capsys(capsys, caplog, recwarn):
    print("captured by capsys")


def test_pipe_leak_unmarked():
    child = subprocess.Popen([sys.executable, "-c", "pass"], stdout=subprocess.PIPE)
    child.wait()
    held.append(child)
