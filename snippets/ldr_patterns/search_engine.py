"""``BaseSearchEngine.close()`` cascades into its filters; subclasses must call ``super().close()``.

LDR's search engines run their results through *preview filters* (before full content is
fetched) and *content filters* (after). Filters can own resources of their own: the journal
reputation filter builds an LLM, a fetching filter holds an HTTP session. The engine's base class
is the single place that closes them (``BaseSearchEngine.close()``, see the handbook's model
page). A subclass that overrides ``close()`` for its own session and forgets ``super().close()``
silently leaks every filter's resources: a review finding on PR #3818.

The classes here are small but real: the filters make real HTTP requests (one with an
``httpx.Client``, one with a ``requests.Session``), so an unclosed filter holds a real pooled
keep-alive socket. ``tests/test_ldr_search_engine.py`` counts those sockets with ``leaklab``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import httpx
import requests

from ldr_patterns.safe_close import safe_close

__all__ = [
    "BaseSearchEngine",
    "HttpxReputationFilter",
    "LocalSearchEngine",
    "RequestsContentFilter",
    "ResultFilter",
]

_log = logging.getLogger(__name__)

#: LDR classes re-created here -> (the LDR class, the release whose code it follows).
MIRRORS = {"BaseSearchEngine": ("web_search_engines.search_engine_base.BaseSearchEngine", "1.6.11")}

Result = dict[str, Any]


class ResultFilter:
    """A filter takes the list of results and returns the ones to keep. No resources here."""

    def filter_results(self, results: list[Result], query: str) -> list[Result]:
        return results

    def close(self) -> None:
        """Release whatever the filter owns; the base filter owns nothing."""


# --8<-- [start:filters]
class HttpxReputationFilter(ResultFilter):
    """Preview filter that asks a service about each result; owns an ``httpx.Client``."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=timeout)

    def filter_results(self, results: list[Result], query: str) -> list[Result]:
        self._client.get("/", params={"q": query}).raise_for_status()
        return results

    def close(self) -> None:
        safe_close(self._client, "reputation filter httpx client")


class RequestsContentFilter(ResultFilter):
    """Content filter that fetches each result's page; owns a ``requests.Session``."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self._base_url = base_url
        self._timeout = timeout
        self._session = requests.Session()

    def filter_results(self, results: list[Result], query: str) -> list[Result]:
        for result in results:
            self._session.get(self._base_url + result["path"], timeout=self._timeout)
        return results

    def close(self) -> None:
        safe_close(self._session, "content filter requests session")


# --8<-- [end:filters]


# --8<-- [start:base]
class BaseSearchEngine:
    """Runs a search, then its preview filters, then its content filters."""

    def __init__(
        self,
        preview_filters: Iterable[ResultFilter] = (),
        content_filters: Iterable[ResultFilter] = (),
    ) -> None:
        self._preview_filters: list[ResultFilter] = list(preview_filters)
        self._content_filters: list[ResultFilter] = list(content_filters)

    def _get_previews(self, query: str) -> list[Result]:
        raise NotImplementedError

    def run(self, query: str) -> list[Result]:
        results = self._get_previews(query)
        for f in self._preview_filters:
            results = f.filter_results(results, query)
        for f in self._content_filters:
            results = f.filter_results(results, query)
        return results

    def close(self) -> None:
        """The single entry point: close every filter, each failure logged, none skipped."""
        filters = [*self._preview_filters, *self._content_filters]
        self._preview_filters, self._content_filters = [], []
        for f in filters:
            safe_close(f, f"{type(f).__name__} of {type(self).__name__}", logger=_log)


# --8<-- [end:base]


# --8<-- [start:subclass]
class LocalSearchEngine(BaseSearchEngine):
    """An engine with its own HTTP client; its close() adds to the base close, never replaces it."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, **filters: Any) -> None:
        super().__init__(**filters)
        self._client = httpx.Client(base_url=base_url, timeout=timeout)

    def _get_previews(self, query: str) -> list[Result]:
        self._client.get("/", params={"q": query}).raise_for_status()
        return [{"path": f"/result/{query}/{i}", "title": f"{query} {i}"} for i in range(2)]

    def close(self) -> None:
        try:
            safe_close(self._client, "local search engine httpx client", logger=_log)
        finally:
            super().close()  # the cascade into _preview_filters and _content_filters


# --8<-- [end:subclass]
