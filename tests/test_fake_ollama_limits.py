"""The fake Ollama under hostile clients, and as a server process with a model of another name.

A raw socket plays the hostile client (a huge ``Content-Length``, a silent connection, wrong
JSON types); the real ``ollama`` client plays the well-behaved one.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import ollama
import pytest
from langchain_ollama import ChatOllama
from leaklab.fake_ollama import FakeOllama


def raw_request(port: int, head: str, body: bytes = b"", timeout: float = 10) -> tuple[int, dict]:
    """Send one HTTP request on a fresh socket; (status, JSON body) of the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head.encode() + b"\r\n\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data or len(data.partition(b"\r\n\r\n")[2]) < _length(data):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    header, _, payload = data.partition(b"\r\n\r\n")
    return int(header.split()[1]), json.loads(payload or b"{}")


def _length(data: bytes) -> int:
    for line in data.partition(b"\r\n\r\n")[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":")[1])
    return 0


def post(port: int, path: str, body: bytes, length: int | None = None) -> tuple[int, dict]:
    n = len(body) if length is None else length
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {n}"
    )
    return raw_request(port, head, body)


def test_a_huge_content_length_is_refused_without_reading_or_allocating():
    with FakeOllama(max_body=1024) as server:
        started = time.monotonic()
        # 100 GB announced, 10 bytes sent: the answer comes at once, nothing is allocated.
        status, body = post(server.port, "/api/chat", b'{"model":1', length=100 * 10**9)
        assert status == 413 and "larger than 1024 bytes" in body["error"]
        assert time.monotonic() - started < 5
        status, _ = post(server.port, "/api/chat", b"x" * 2048)
        assert status == 413
        assert server.errors == []


def test_an_idle_connection_is_closed_after_the_timeout():
    with FakeOllama(idle_timeout=0.5) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"POST /api/chat HTTP/1.1\r\n")  # and then nothing
            started = time.monotonic()
            assert sock.recv(1024) == b""  # the server hung up
            assert time.monotonic() - started < 5
        deadline = time.monotonic() + 5
        while server.connections_open and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.connections_open == 0


WRONG_TYPES = {
    "model is a number": {"model": 5, "messages": []},
    "messages is a string": {"model": "fake", "messages": "hello"},
    "a message is a string": {"model": "fake", "messages": ["hello"]},
    "stream is a string": {"model": "fake", "prompt": "x", "stream": "yes"},
    "prompt is a list": {"model": "fake", "prompt": ["x"]},
    "input holds numbers": {"model": "fake", "input": [1, 2]},
    "dimensions is text": {"model": "fake", "input": "x", "dimensions": "abc"},
    "dimensions is huge": {"model": "fake", "input": "x", "dimensions": 10**9},
    "body is a list": [1, 2, 3],
}


@pytest.mark.parametrize("name", sorted(WRONG_TYPES))
def test_wrong_json_types_get_400(name):
    path = "/api/embed" if "input" in json.dumps(WRONG_TYPES[name]) else "/api/chat"
    if "prompt" in json.dumps(WRONG_TYPES[name]):
        path = "/api/generate"
    with FakeOllama() as server:
        status, body = post(server.port, path, json.dumps(WRONG_TYPES[name]).encode())
        assert status == 400, body
        assert body["error"]
        assert server.errors == []


def test_strict_models_answer_404_like_a_real_server():
    with FakeOllama(models=("llama3.2:1b",), strict_models=True) as server:
        with ollama.Client(host=server.url) as client:
            assert [m.model for m in client.list().models] == ["llama3.2:1b"]
            with pytest.raises(ollama.ResponseError) as err:
                client.chat(model="fake", messages=[{"role": "user", "content": "hi"}])
        assert err.value.status_code == 404 and "not found" in str(err.value)
        llm = ChatOllama(model="llama3.2:1b", base_url=server.url)
        assert llm.invoke("hi").content == "fake reply to: hi"
        llm._client._client.close()  # ChatOllama has no close() of its own


def test_fake_ollama_as_a_server_process_with_another_model():
    proc = subprocess.Popen(
        [sys.executable, "-m", "leaklab.fake_ollama", "--model", "qwen3:0.6b"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("OLLAMA_HOST=127.0.0.1:"), line
        with ollama.Client(host=line.partition("=")[2]) as client:
            assert [m.model for m in client.list().models] == ["qwen3:0.6b"]
            with pytest.raises(ollama.ResponseError):
                client.generate(model="fake", prompt="hi")
            reply = client.generate(model="qwen3:0.6b", prompt="hi").response
        assert reply == "fake reply to: hi"
    finally:
        proc.stdin.close()  # its cue to stop
        proc.wait(timeout=10)
        proc.stdout.close()
    assert proc.returncode == 0
