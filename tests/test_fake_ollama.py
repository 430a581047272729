"""Tests for leaklab.fake_ollama: real langchain_ollama objects against the fake server.

The fake is the harness of the Ollama notebooks, so besides "does it answer" these tests
check that it leaves nothing behind (sockets, threads) and that its delay/hang/keep-alive
options really produce the client-side situations the notebooks rely on.

The cleanliness checks read /proc/self/fd directly and compare socket *inodes*, not just
counts, so they stay exact even if garbage collection closes an unrelated socket during a
test; the last test cross-checks the same picture with the kit's own ``leaklab.census``.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import socket
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator

import httpx
import ollama
import pytest
from langchain_ollama import ChatOllama, OllamaEmbeddings
from leaklab.fake_ollama import (
    FakeOllama,
    FakeOllamaError,
    fake_embedding,
    fake_reply,
    normalize_ollama_host,
    ollama_base_url,
)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

PROC_FD = "/proc/self/fd"


def fd_targets() -> dict[int, str]:
    """Map of this process's open FDs to their /proc link target."""
    out: dict[int, str] = {}
    for name in os.listdir(PROC_FD):
        try:
            out[int(name)] = os.readlink(f"{PROC_FD}/{name}")
        except OSError:  # the FD used by listdir itself, or one closed meanwhile
            continue
    return out


def fd_types() -> Counter[str]:
    """Count FDs by type: socket, pipe, anon_inode:[eventpoll], file..."""
    kinds: Counter[str] = Counter()
    for target in fd_targets().values():
        if target.startswith(("socket:", "pipe:")):
            kinds[target.split(":", 1)[0]] += 1
        elif target.startswith("anon_inode:"):
            kinds[target] += 1
        else:
            kinds["file"] += 1
    return kinds


def socket_inodes() -> set[str]:
    return {t for t in fd_targets().values() if t.startswith("socket:")}


def fake_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("fake-ollama")]


def port_refuses(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        try:
            probe.connect(("127.0.0.1", port))
        except ConnectionRefusedError:
            return True
        return False


@pytest.fixture
def srv() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server
    assert server.errors == []


# ---------------------------------------------------------------------------------------------
# Content, with unmodified langchain_ollama objects
# ---------------------------------------------------------------------------------------------


def test_chat_invoke_and_stream(srv: FakeOllama) -> None:
    llm = ChatOllama(model="fake", base_url=srv.url)
    assert llm.invoke("hello there").content == fake_reply("hello there")
    chunks = [chunk.content for chunk in llm.stream("one two three")]
    assert len([c for c in chunks if c]) > 1, "reply should arrive in several chunks"
    assert "".join(str(c) for c in chunks) == fake_reply("one two three")
    # invoke() streams too (langchain_ollama sends stream=true by default); stream=False
    # goes through the single-JSON path of the server.
    assert llm.invoke("plain", stream=False).content == fake_reply("plain")
    assert srv.requests_by_path["POST /api/chat"] == 3
    assert srv.connections_accepted == 1  # one pooled keep-alive connection
    llm._client.close()


def test_chat_async_via_asyncio_run(srv: FakeOllama) -> None:
    async def both() -> tuple[str, str]:
        llm = ChatOllama(model="fake", base_url=srv.url)
        answer = await llm.ainvoke("async question")
        parts = [str(chunk.content) async for chunk in llm.astream("async stream")]
        await llm._async_client._client.aclose()
        return str(answer.content), "".join(parts)

    answer, streamed = asyncio.run(both())
    assert answer == fake_reply("async question")
    assert streamed == fake_reply("async stream")
    assert srv.requests_by_path["POST /api/chat"] == 2


def test_chat_uses_last_user_message(srv: FakeOllama) -> None:
    llm = ChatOllama(model="fake", base_url=srv.url)
    messages = [("system", "be brief"), ("human", "first"), ("ai", "ok"), ("human", "second")]
    assert llm.invoke(messages).content == fake_reply("second")
    llm._client.close()


def test_embeddings(srv: FakeOllama) -> None:
    emb = OllamaEmbeddings(model="fake", base_url=srv.url)
    docs = emb.embed_documents(["alpha", "beta", "alpha"])
    assert docs[0] == pytest.approx(fake_embedding("alpha"))
    assert docs[0] == docs[2] != docs[1]
    assert all(len(vec) == 8 for vec in docs)
    assert math.fsum(v * v for v in docs[1]) == pytest.approx(1.0)

    async def query_and_close() -> list[float]:
        try:
            return await emb.aembed_query("beta")
        finally:
            await emb._async_client._client.aclose()

    assert asyncio.run(query_and_close()) == pytest.approx(docs[1])
    assert srv.requests_by_path["POST /api/embed"] == 2
    emb._client.close()


def test_other_endpoints() -> None:
    with FakeOllama(dim=4, models=("fake", "fake-embed:latest")) as server:
        client = ollama.Client(host=server.url)
        assert [m.model for m in client.list().models] == ["fake", "fake-embed:latest"]
        show = client.show("fake")
        assert show.capabilities and "completion" in show.capabilities
        assert show.modelinfo and show.modelinfo["fake.embedding_length"] == 4
        assert client.generate("fake", "say hi").response == fake_reply("say hi")
        streamed = "".join(p.response or "" for p in client.generate("fake", "a b", stream=True))
        assert streamed == fake_reply("a b")
        assert client.generate("fake", "").done_reason == "load"
        assert client.chat("fake", [{"role": "user", "content": "x"}]).message.content == (
            fake_reply("x")
        )
        assert client.embeddings("fake", "q").embedding == pytest.approx(fake_embedding("q", 4))
        assert client.ps().models == []
        version = httpx.get(f"{server.url}/api/version", timeout=5).json()
        assert version == {"version": "0.0.0-fake"}
        with pytest.raises(ollama.ResponseError) as err:
            client._request_raw("POST", "/api/nonexistent", json={})
        assert err.value.status_code == 404
        # validate_model_on_init goes through /api/tags, accepting "name" and "name:tag".
        llm = ChatOllama(model="fake-embed", base_url=server.url, validate_model_on_init=True)
        llm._client.close()
        with pytest.raises(ValueError, match="not found"):
            ChatOllama(model="absent", base_url=server.url, validate_model_on_init=True)
        client.close()
        with warnings.catch_warnings():  # the rejected model's client cannot be closed by us
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        assert server.errors == []


# ---------------------------------------------------------------------------------------------
# Clean shutdown
# ---------------------------------------------------------------------------------------------


def test_shutdown_leaves_no_sockets_or_threads() -> None:
    gc.collect()
    sockets_before = socket_inodes()
    types_before = fd_types()
    threads_before = set(threading.enumerate())

    # One event loop for all async calls, kept open until the clients are closed: the async
    # clients' pooled sockets belong to it and can only be closed properly from it.
    with asyncio.Runner() as runner:
        runner.get_loop()
        sockets_with_loop = fd_types()["socket"]  # the loop's self-pipe is a socketpair
        with FakeOllama() as server:
            port = server.port
            llm = ChatOllama(model="fake", base_url=server.url)
            emb = OllamaEmbeddings(model="fake", base_url=server.url)
            assert llm.invoke("hi").content == fake_reply("hi")
            assert "".join(str(c.content) for c in llm.stream("s")) == fake_reply("s")
            assert runner.run(llm.ainvoke("a")).content == fake_reply("a")
            assert len(emb.embed_documents(["d"])) == 1
            assert len(runner.run(emb.aembed_query("q"))) == 8
            # The clients still hold their pooled connections: the server must close its
            # side of each even so.  Sync and async clients pool separately: 4 connections.
            assert server.connections_open == server.connections_accepted == 4
            # listening socket + both ends of each connection
            assert fd_types()["socket"] - sockets_with_loop == 1 + 2 * 4
        assert server.connections_open == 0
        assert server.handler_threads_alive == 0
        assert fake_threads() == []
        assert set(threading.enumerate()) <= threads_before
        assert port_refuses(port)

        # Once the clients are closed too, nothing at all is left over.
        for model in (llm, emb):
            model._client.close()
            runner.run(model._async_client._client.aclose())
    assert socket_inodes() <= sockets_before
    assert fd_types()["socket"] <= types_before["socket"]
    assert server.errors == []


def test_keep_alive_false_gives_one_connection_per_request() -> None:
    with FakeOllama(keep_alive=False) as server, httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            response = client.get("/api/version", timeout=5)
            assert response.headers["connection"] == "close"
        llm = ChatOllama(model="fake", base_url=server.url)
        for i in range(2):
            assert llm.invoke(f"q{i}").content == fake_reply(f"q{i}")
        assert server.requests == 5
        assert server.connections_accepted == 5
        llm._client.close()


def test_keep_alive_true_reuses_one_connection() -> None:
    with FakeOllama(keep_alive=True) as server, httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            response = client.get("/api/version", timeout=5)
            assert response.headers.get("connection", "keep-alive") != "close"
        assert server.requests == 3
        assert server.connections_accepted == 1


def test_delay_is_applied() -> None:
    with FakeOllama(delay=0.3) as server:
        start = time.monotonic()
        response = httpx.get(f"{server.url}/api/version", timeout=5)
        elapsed = time.monotonic() - start
    assert response.status_code == 200
    assert 0.3 <= elapsed < 3.0


def test_close_interrupts_a_long_delay() -> None:
    results: list[BaseException] = []

    def call(url: str) -> None:
        try:
            httpx.get(f"{url}/api/version", timeout=10)
        except httpx.HTTPError as exc:
            results.append(exc)

    server = FakeOllama(delay=30).start()
    caller = threading.Thread(target=call, args=(server.url,), daemon=True)
    caller.start()
    deadline = time.monotonic() + 5
    while server.requests == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    start = time.monotonic()
    server.close()
    assert time.monotonic() - start < 2.0
    caller.join(5)
    assert not caller.is_alive()
    assert results and isinstance(results[0], httpx.RemoteProtocolError)


def test_hang_times_out_client_and_still_shuts_down_promptly() -> None:
    gc.collect()
    sockets_before = socket_inodes()
    with FakeOllama(hang=True) as server:
        port = server.port
        with (
            httpx.Client(base_url=server.url, timeout=0.5) as client,
            pytest.raises(httpx.ReadTimeout),
        ):
            client.post("/api/chat", json={"model": "fake", "messages": []})
        llm = ChatOllama(model="fake", base_url=server.url, client_kwargs={"timeout": 0.5})
        with pytest.raises(httpx.ReadTimeout):
            llm.invoke("never answered")
        # A client that is still connected and waiting, and one that connected but never sent
        # anything: neither may keep the server alive.
        waiting = socket.create_connection(("127.0.0.1", port), timeout=5)
        body = json.dumps({"model": "fake", "prompt": "x"}).encode()
        waiting.sendall(
            b"POST /api/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        idle = socket.create_connection(("127.0.0.1", port), timeout=5)
        deadline = time.monotonic() + 5
        while (server.requests, server.handler_threads_alive) != (3, 4):
            assert time.monotonic() < deadline, server
            time.sleep(0.01)
        assert server.connections_open == server.connections_accepted == 4
        start = time.monotonic()
    elapsed = time.monotonic() - start
    assert elapsed < 2.0
    assert server.handler_threads_alive == 0
    assert server.connections_open == 0
    assert fake_threads() == []
    assert port_refuses(port)
    # The server closed its side without answering: the waiting client reads EOF.
    assert waiting.recv(1024) == b""
    assert idle.recv(1024) == b""
    waiting.close()
    idle.close()
    llm._client.close()
    gc.collect()
    assert socket_inodes() <= sockets_before


# The socket stranded on the first, closed loop is only reclaimed by the garbage collector.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_reusing_async_client_across_asyncio_run() -> None:
    """Documents a client behaviour the notebooks show: a pooled async connection is bound to
    the event loop that opened it, so a second asyncio.run() on the same ChatOllama fails when
    the server keeps connections alive, and works when it closes them."""
    with FakeOllama(keep_alive=True) as server:
        llm = ChatOllama(model="fake", base_url=server.url)
        asyncio.run(llm.ainvoke("first"))
        with pytest.raises(RuntimeError, match="Event loop is closed"):
            asyncio.run(llm.ainvoke("second"))
    with FakeOllama(keep_alive=False) as server:
        llm = ChatOllama(model="fake", base_url=server.url)
        asyncio.run(llm.ainvoke("first"))
        assert asyncio.run(llm.ainvoke("second")).content == fake_reply("second")
    del llm
    gc.collect()


def test_start_once_and_url_before_start() -> None:
    server = FakeOllama()
    with pytest.raises(FakeOllamaError):
        _ = server.url
    with server:
        with pytest.raises(FakeOllamaError):
            server.start()
        assert server.url == f"http://127.0.0.1:{server.port}"
    server.close()  # idempotent


# ---------------------------------------------------------------------------------------------
# OLLAMA_HOST
# ---------------------------------------------------------------------------------------------


def test_ollama_base_url_prefers_ollama_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLLAMA_HOST", "gpu-box")
    assert ollama_base_url("http://127.0.0.1:1") == "http://gpu-box:11434"
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.5:8080")
    assert ollama_base_url() == "http://10.0.0.5:8080"
    monkeypatch.setenv("OLLAMA_HOST", "https://ollama.example")
    assert ollama_base_url() == "https://ollama.example:443"


def test_ollama_base_url_default_and_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OLLAMA_HOST", raising=False)
    assert ollama_base_url("http://127.0.0.1:5") == "http://127.0.0.1:5"
    monkeypatch.setenv("OLLAMA_HOST", "  ")
    with pytest.raises(FakeOllamaError, match="OLLAMA_HOST"):
        ollama_base_url()


@pytest.mark.parametrize(
    "host",
    [
        "1.2.3.4",
        ":56789",
        "0.0.0.0:11434",
        "http://1.2.3.4",
        "https://example.com:56789/path/",
        "example.com/path",
        "[::1]",
        "http://[::1]:8000",
    ],
)
def test_normalisation_matches_ollama_client(host: str) -> None:
    from ollama._client import _parse_host

    assert normalize_ollama_host(host) == _parse_host(host)


@pytest.mark.parametrize("keep_alive", [True, False])
def test_census_sees_pooled_connections_only_with_keep_alive(keep_alive: bool) -> None:
    """The kit's own census agrees: keep-alive leaves ESTABLISHED pairs, and close leaves none."""
    census = pytest.importorskip("leaklab.census").census
    gc.collect()
    before = census()
    with FakeOllama(keep_alive=keep_alive) as server, httpx.Client(base_url=server.url) as client:
        for _ in range(3):
            client.get("/api/version", timeout=5)
        deadline = time.monotonic() + 5
        while server.connections_open != (1 if keep_alive else 0):
            assert time.monotonic() < deadline, server
            time.sleep(0.01)
        during = census() - before
        assert during["socket.tcp.listen"] == 1
        # client end + server end of the one pooled connection, or nothing at all
        assert during["socket.tcp.established"] == (2 if keep_alive else 0)
    after = census() - before
    assert after["socket"] <= 0
    assert after["socket.tcp.listen"] == 0
