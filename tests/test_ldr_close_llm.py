"""Tests for ldr_patterns.close_llm with real langchain_ollama objects and the fake server.

The fake server runs in this process, so each open connection shows up twice in the census
(client end and server end). ``socket.tcp.established`` is the key asserted: when the client
closes, its end disappears and the server's end leaves ESTABLISHED at once (CLOSE_WAIT), so a
closed connection never lingers in that key while the server thread catches up.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import threading
from collections.abc import Callable, Iterator
from unittest import mock

import httpx
import pytest
from langchain_ollama import ChatOllama, OllamaEmbeddings
from ldr_patterns import close_llm
from ldr_patterns.close_llm import (
    SENTINEL,
    aclose_base_llm,
    close_base_llm,
    close_base_llm_on_loop,
    inner_clients,
)
from leaklab import Measurement, assert_flat, assert_leaks, measure
from leaklab.fake_ollama import FakeOllama

KEY = "socket.tcp.established"


def _no_gc_measure(cycle: Callable[[], object]) -> Measurement:
    """Measure without collecting between cycles: a close must not need the GC to be flat.

    One collection first, so connections dropped by earlier tests are not in the baseline.
    """
    gc.collect()
    return measure(cycle, cycles=5, between=None)


@pytest.fixture(scope="module")
def srv() -> Iterator[FakeOllama]:
    with FakeOllama() as server:
        yield server


@pytest.fixture
def loop_thread() -> Iterator[asyncio.AbstractEventLoop]:
    """An event loop running in a background thread (the owning loop of a client)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_inner_clients_are_the_httpx_pair(srv: FakeOllama) -> None:
    for obj in (
        ChatOllama(model="fake", base_url=srv.url),
        OllamaEmbeddings(model="fake", base_url=srv.url),
    ):
        sync_client, async_client = inner_clients(obj)
        assert type(sync_client).__name__ == "Client"
        assert type(async_client).__name__ == "AsyncClient"
        close_base_llm(obj)


def test_other_providers_are_left_alone() -> None:
    other = mock.Mock()
    close_base_llm(other)
    assert inner_clients(other) == (None, None)
    other._client._client.close.assert_not_called()
    other._async_client._client.aclose.assert_not_called()


def test_idempotent(srv: FakeOllama) -> None:
    llm = ChatOllama(model="fake", base_url=srv.url)
    llm.invoke("hi")
    sync_client, async_client = inner_clients(llm)
    with (
        mock.patch.object(sync_client, "close", wraps=sync_client.close) as sync_close,
        mock.patch.object(async_client, "aclose", wraps=async_client.aclose) as async_close,
    ):
        close_base_llm(llm)
        close_base_llm(llm)
        asyncio.run(aclose_base_llm(llm))
    assert sync_close.call_count == 1
    assert async_close.call_count == 1
    assert getattr(sync_client, SENTINEL) is True
    assert getattr(async_client, SENTINEL) is True


def test_mock_without_spec_is_not_taken_for_closed(srv: FakeOllama) -> None:
    llm = ChatOllama(model="fake", base_url=srv.url)
    sync_mock = mock.Mock()  # sync_mock._ldr_closed is a truthy Mock, not True
    llm._client._client = sync_mock
    assert bool(sync_mock._ldr_closed)
    close_base_llm(llm)
    sync_mock.close.assert_called_once()
    assert sync_mock._ldr_closed is True


def test_sync_and_async_connections_closed_flat(srv: FakeOllama) -> None:
    def cycle() -> None:
        llm = ChatOllama(model="fake", base_url=srv.url)

        async def run() -> None:
            try:
                await llm.ainvoke("hi")
            finally:
                await aclose_base_llm(llm)

        llm.invoke("hi")
        asyncio.run(run())

    assert_flat(_no_gc_measure(cycle), KEY)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_unclosed_held_models_leak(srv: FakeOllama) -> None:
    held: list[ChatOllama] = []

    def cycle() -> None:
        llm = ChatOllama(model="fake", base_url=srv.url)
        held.append(llm)
        asyncio.run(llm.ainvoke("hi"))

    m = measure(cycle, cycles=5, warmup=0)
    held.clear()
    # one connection per call, counted at both ends
    assert_leaks(m, KEY, per_cycle=2)


def test_close_inside_running_loop_is_flat(srv: FakeOllama) -> None:
    async def run() -> None:
        llm = ChatOllama(model="fake", base_url=srv.url)
        await llm.ainvoke("hi")
        close_base_llm(llm)  # sync call from async code: scheduled on this loop
        await asyncio.sleep(0.01)
        assert getattr(inner_clients(llm)[1], SENTINEL) is True

    assert_flat(_no_gc_measure(lambda: asyncio.run(run())), KEY)


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_close_after_owning_loop_closed_warns(
    srv: FakeOllama, caplog: pytest.LogCaptureFixture
) -> None:
    llm = ChatOllama(model="fake", base_url=srv.url)
    asyncio.run(llm.ainvoke("hi"))
    with caplog.at_level(logging.WARNING, logger=close_llm.__name__):
        close_base_llm(llm)
    assert "closed event loop" in caplog.text
    assert getattr(inner_clients(llm)[1], SENTINEL) is True


def test_close_on_owning_loop_from_another_thread(
    srv: FakeOllama, loop_thread: asyncio.AbstractEventLoop
) -> None:
    def cycle() -> None:
        llm = ChatOllama(model="fake", base_url=srv.url)
        asyncio.run_coroutine_threadsafe(llm.ainvoke("hi"), loop_thread).result(10)
        assert close_base_llm_on_loop(llm, loop_thread, timeout=5) is True

    assert_flat(_no_gc_measure(cycle), KEY)


def test_close_on_loop_refuses_own_thread(srv: FakeOllama) -> None:
    async def run() -> None:
        llm = ChatOllama(model="fake", base_url=srv.url)
        with pytest.raises(RuntimeError):
            close_base_llm_on_loop(llm, asyncio.get_running_loop(), timeout=1)
        await aclose_base_llm(llm)

    asyncio.run(run())


def _blocking_get(client: object, url: str) -> None:
    """A synchronous request that blocks the loop thread until its 2 s timeout fires."""
    with contextlib.suppress(httpx.HTTPError):
        client.get(url, timeout=2)  # type: ignore[attr-defined]


def test_hung_server_bound_warning_and_retry(
    loop_thread: asyncio.AbstractEventLoop, caplog: pytest.LogCaptureFixture
) -> None:
    with FakeOllama(hang=True) as hung:
        llm = ChatOllama(model="fake", base_url=hung.url)
        sync_client, async_client = inner_clients(llm)
        # The owning loop gets stuck in a blocking call to the unresponsive server.
        loop_thread.call_soon_threadsafe(_blocking_get, sync_client, hung.url + "/api/version")
        with caplog.at_level(logging.WARNING, logger=close_llm.__name__):
            assert close_base_llm_on_loop(llm, loop_thread, timeout=0.3) is False
        assert "later call retries" in caplog.text
        assert getattr(async_client, SENTINEL, None) is not True
        # Once the loop is free again (the blocking call timed out), a retry closes it.
        assert close_base_llm_on_loop(llm, loop_thread, timeout=5) is True
        assert getattr(async_client, SENTINEL) is True


def test_embeddings_closed_flat(srv: FakeOllama) -> None:
    def cycle() -> None:
        emb = OllamaEmbeddings(model="fake", base_url=srv.url)

        async def run() -> None:
            try:
                await emb.aembed_query("hi")
            finally:
                await aclose_base_llm(emb)

        emb.embed_documents(["a"])
        asyncio.run(run())

    assert_flat(_no_gc_measure(cycle), KEY)
