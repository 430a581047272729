"""The kit's notebook plumbing: threads, source display, font-cache counts, child servers.

Each helper here replaced copies that lived in several notebooks; these tests pin what the
notebooks rely on, against the real thing (real threads and event loops, real child
processes, real HTTP on loopback, the real fake-Ollama server).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import urllib.request
from pathlib import Path

import pytest
from IPython.display import Markdown
from leaklab import census
from leaklab.fake_ollama import FakeOllama
from leaklab.http_child import ChildHttpServer
from leaklab.ollama import (
    MODEL_ENV,
    OllamaUnavailable,
    fake_ollama_process,
    ollama_server,
    real_ollama,
)
from leaklab.plots import counts_without_font_cache
from leaklab.source import show_source, source_markdown
from leaklab.threads import THREAD_NAME, asyncio_run_in_thread, in_thread


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# -- threads ----------------------------------------------------------------------------------


def test_in_thread_returns_the_value_from_a_thread_without_a_loop():
    def probe():
        try:
            asyncio.get_running_loop()
            return "loop"
        except RuntimeError:
            return threading.current_thread().name

    async def inside_a_loop():
        return in_thread(probe)

    assert asyncio.run(inside_a_loop()) == THREAD_NAME


def test_in_thread_reraises_the_exception():
    def boom():
        raise KeyError("from the worker")

    with pytest.raises(KeyError, match="from the worker"):
        in_thread(boom)


def test_in_thread_bounds_the_wait():
    release = threading.Event()
    with pytest.raises(TimeoutError, match=r"still running after 0\.2 s"):
        in_thread(release.wait, timeout=0.2)
    release.set()


def test_asyncio_run_in_thread_runs_the_coroutine_from_inside_a_running_loop():
    async def answer():
        await asyncio.sleep(0)
        return 42

    async def caller():
        return asyncio_run_in_thread(answer)

    assert asyncio.run(caller()) == 42


# -- source display ---------------------------------------------------------------------------


def test_source_markdown_is_a_fenced_python_block_with_its_origin():
    text = source_markdown(in_thread, counts_without_font_cache)
    assert text.count("```python\n") == 2
    assert "def in_thread(" in text and "def counts_without_font_cache(" in text
    assert "`leaklab.threads, line " in text
    assert "print(" not in text.split("```python")[0]


def test_show_source_gives_ipython_markdown():
    shown = show_source(in_thread)
    assert isinstance(shown, Markdown)
    assert shown.data == source_markdown(in_thread)


# -- font-cache counts ------------------------------------------------------------------------


def test_counts_without_font_cache_ignore_matplotlib_files_only(tmp_path: Path):
    fonts = tmp_path / "matplotlib" / "mpl-data"
    fonts.mkdir(parents=True)
    before = counts_without_font_cache(census())
    with open(fonts / "DejaVuSans.ttf", "wb"), open(tmp_path / "other.txt", "wb"):
        during = counts_without_font_cache(census())
    assert during - before == {"file": 1}


# -- child HTTP server ------------------------------------------------------------------------


def test_child_http_server_answers_and_is_reaped():
    with ChildHttpServer(body_size=5) as server:
        with urllib.request.urlopen(server.url, timeout=5) as reply:
            assert reply.read() == b"xxxxx"
        pid = server.pid
    assert _gone(pid)


def test_child_http_server_rejects_a_negative_body():
    with pytest.raises(ValueError, match="body_size"):
        ChildHttpServer(body_size=-1)


# -- Ollama ----------------------------------------------------------------------------------


def _tags(url: str) -> list[str]:
    with urllib.request.urlopen(f"{url}/api/tags", timeout=5) as reply:
        return [m["name"] for m in json.load(reply)["models"]]


def test_fake_ollama_process_serves_and_is_reaped():
    with fake_ollama_process(models=("one", "two")) as url:
        assert _tags(url) == ["one", "two"]
        port = int(url.rsplit(":", 1)[1])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_fake_ollama_process_can_hang():
    with fake_ollama_process(hang=True) as url, pytest.raises(TimeoutError):
        urllib.request.urlopen(f"{url}/api/tags", timeout=0.5)


def test_ollama_server_is_the_fake_without_ollama_host(monkeypatch):
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert real_ollama() is None
    with ollama_server() as target:
        assert (target.model, target.real) == ("fake", False)
        assert _tags(target.url) == ["fake"]
        assert "fake Ollama" in target.describe()


def test_ollama_host_takes_the_first_model_listed(monkeypatch):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    with FakeOllama(models=("llama-x:1b", "other")) as srv:
        monkeypatch.setenv("OLLAMA_HOST", srv.url)
        with ollama_server() as target:
            assert (target.url, target.model, target.real) == (srv.url, "llama-x:1b", True)
            assert "first model the server lists" in target.describe()


def test_ollama_host_model_from_the_environment(monkeypatch):
    with FakeOllama(models=("llama-x:1b",)) as srv:
        monkeypatch.setenv("OLLAMA_HOST", srv.url)
        monkeypatch.setenv(MODEL_ENV, "chosen:7b")
        target = real_ollama()
        assert target is not None and target.model == "chosen:7b"
        assert MODEL_ENV in target.describe()


def test_ollama_host_without_models_is_refused(monkeypatch):
    monkeypatch.delenv(MODEL_ENV, raising=False)
    with FakeOllama(models=()) as srv:
        monkeypatch.setenv("OLLAMA_HOST", srv.url)
        with pytest.raises(OllamaUnavailable, match="lists no model"):
            real_ollama()


def test_unreachable_ollama_host_fails_in_one_sentence(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again before the request: nothing listens there
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
    with pytest.raises(OllamaUnavailable) as caught:
        real_ollama(timeout=2)
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".")
    assert f"OLLAMA_HOST='127.0.0.1:{port}'" in message and "unset OLLAMA_HOST" in message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
