"""LDR's two FD canaries for ``_close_base_llm``, as they read with the leaklab plugin.

LDR's versions count *total* FDs with a hand-copied ``_open_fd_count()`` and allow +2 (five
in-loop closes) and +8 (twenty repeated-close cycles). Here the marker checks each FD type with
slack 0, and the cycle fixture judges the repeated close per type. ``tests/test_fd_leaks_plugin.py``
runs this file as it is, and once with the close removed to show that it then fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from langchain_ollama import ChatOllama
from ldr_patterns.close_llm import aclose_base_llm, close_base_llm
from leaklab.fake_ollama import FakeOllama

MODEL = "llama3.2"
KEEP: list[object] = []  # what a cache in LDR would keep alive


@pytest.fixture(scope="module")
def ollama_url() -> Iterator[str]:
    """A fake Ollama on loopback; module-scoped, so its FDs are not the first test's leak."""
    with FakeOllama() as server:
        yield server.url


# --8<-- [start:marker]
@pytest.mark.fd_canary(keys=("eventpoll", "socket", "thread", "task"))
def test_close_inside_a_running_loop_releases_the_client(ollama_url: str) -> None:
    async def use_then_close() -> None:
        llm = ChatOllama(model=MODEL, base_url=ollama_url)
        KEEP.append(llm)
        await llm.ainvoke("ping")
        await aclose_base_llm(llm)  # on the loop that opened the connection

    asyncio.run(use_then_close())


# --8<-- [end:marker]


# --8<-- [start:cycle]
def test_repeated_close_cycles_stay_flat(fd_canary, ollama_url: str) -> None:
    def cycle() -> None:
        llm = ChatOllama(model=MODEL, base_url=ollama_url)
        KEEP.append(llm)
        llm.invoke("ping")
        close_base_llm(llm)

    fd_canary(cycle, cycles=20, keys=("eventpoll", "socket.tcp.established"))


# --8<-- [end:cycle]
