"""ldr_patterns.ownership.LLMHolder: a borrowed client is never closed, an owned one always."""

from __future__ import annotations

import functools
import logging
from unittest.mock import Mock

import httpx
import pytest
from ldr_patterns.ownership import LLMHolder


def test_borrowed_client_survives_the_holders_close(local_url):
    with httpx.Client(base_url=local_url, timeout=5) as client:
        holder = LLMHolder(llm=client)
        assert holder._owns_llm is False
        holder.close()
        assert holder.llm is None
        assert not client.is_closed
        assert client.get("/").text == "ok"


def test_owned_client_is_closed(local_url):
    holder = LLMHolder(llm_factory=lambda: httpx.Client(base_url=local_url, timeout=5))
    client = holder.llm
    assert holder._owns_llm is True
    assert client.get("/").text == "ok"
    holder.close()
    assert client.is_closed and holder.llm is None


def test_shared_cached_client_outlives_every_borrower(local_url):
    @functools.cache
    def shared() -> httpx.Client:
        return httpx.Client(base_url=local_url, timeout=5)

    holders = [LLMHolder(llm=shared()) for _ in range(3)]
    for holder in holders:
        holder.close()
    try:
        assert shared().get("/").text == "ok"
    finally:
        shared().close()


def test_closing_a_shared_client_breaks_the_other_user(local_url):
    """The failure the ownership flag prevents, pinned so a change in httpx shows up here."""
    client = httpx.Client(base_url=local_url, timeout=5)
    client.close()
    with pytest.raises(RuntimeError, match="client has been closed"):
        client.get("/")


@pytest.mark.parametrize("kwargs", [{}, {"llm": Mock(), "llm_factory": Mock}])
def test_exactly_one_source_is_required(kwargs):
    with pytest.raises(ValueError):
        LLMHolder(**kwargs)


def test_owned_unspecced_mock_is_closed_exactly_once():
    holder = LLMHolder(llm_factory=Mock)
    llm = holder.llm
    holder.close()
    holder.close()
    llm.close.assert_called_once_with()


def test_borrowed_mock_is_never_closed():
    llm = Mock()
    with LLMHolder(llm=llm) as holder:
        assert holder.llm is llm
    llm.close.assert_not_called()


def test_failing_owned_close_is_logged_not_raised(caplog):
    llm = Mock()
    llm.close.side_effect = OSError("transport gone")
    holder = LLMHolder(llm_factory=lambda: llm, name="news analyzer llm")
    with caplog.at_level(logging.WARNING):
        holder.close()
    assert "news analyzer llm" in caplog.text
