"""ldr_patterns.search_engine: close() cascades into every filter; skipping super() leaks.

The HTTP server runs in a child process, so every TCP socket in this process's census is a
client socket held by an engine or a filter.
"""

from __future__ import annotations

import gc
import select
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from unittest.mock import Mock

import pytest
from ldr_patterns.safe_close import safe_close
from ldr_patterns.search_engine import (
    BaseSearchEngine,
    HttpxReputationFilter,
    LocalSearchEngine,
    RequestsContentFilter,
    ResultFilter,
)
from leaklab import assert_flat, assert_leaks, census, measure
from leaklab.children import stop_child

ESTABLISHED = "socket.tcp.established"

SERVER = textwrap.dedent("""
    import os, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    server.serve_forever()
""")


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        ready, _, _ = select.select([child.stdout], [], [], 20)
        assert ready, "server did not start within 20 s"
        yield f"http://127.0.0.1:{int(child.stdout.readline())}"
    finally:
        stop_child(child)


def make_engine(engine_class: type[LocalSearchEngine], url: str) -> LocalSearchEngine:
    return engine_class(
        url,
        preview_filters=[HttpxReputationFilter(url)],
        content_filters=[RequestsContentFilter(url)],
    )


class SkipsSuper(LocalSearchEngine):
    def close(self) -> None:
        safe_close(self._client, "engine client")


def test_run_goes_through_both_filters(url):
    engine = make_engine(LocalSearchEngine, url)
    try:
        results = engine.run("q")
    finally:
        engine.close()
    assert [r["path"] for r in results] == ["/result/q/0", "/result/q/1"]


def test_close_releases_every_socket(url):
    gc.collect()
    before = census()[ESTABLISHED]
    engine = make_engine(LocalSearchEngine, url)
    reputation, content = engine._preview_filters[0], engine._content_filters[0]
    engine.run("q")
    assert census()[ESTABLISHED] == before + 3  # engine + two filters, one pooled socket each
    engine.close()
    assert census()[ESTABLISHED] == before
    assert engine._client.is_closed and reputation._client.is_closed
    assert all(not a.poolmanager.pools for a in content._session.adapters.values())


def test_skipping_super_leaks_two_sockets_per_engine_and_calling_it_is_flat(url):
    kept: list[LocalSearchEngine] = []

    def cycle(engine_class: type[LocalSearchEngine]):
        def run() -> None:
            engine = make_engine(engine_class, url)
            try:
                engine.run("q")
            finally:
                engine.close()
            kept.append(engine)  # referenced, as a caller that stores the engine would

        return run

    try:
        leak = measure(cycle(SkipsSuper), cycles=4, warmup=1)
        fix = measure(cycle(LocalSearchEngine), cycles=4, warmup=1)
    finally:
        for engine in kept:  # finish the cascade the broken subclass skipped
            BaseSearchEngine.close(engine)
        kept.clear()
    assert_leaks(leak, ESTABLISHED, per_cycle=2)
    assert leak.growth(ESTABLISHED) == 8
    assert_flat(fix, ESTABLISHED)


class BrokenFilter(ResultFilter):
    def close(self) -> None:
        raise OSError("filter close failed")


def test_one_failing_filter_does_not_stop_the_cascade(url, caplog):
    good = HttpxReputationFilter(url)
    engine = LocalSearchEngine(url, preview_filters=[BrokenFilter(), good])
    engine.run("q")
    engine.close()  # does not raise
    assert good._client.is_closed
    assert "BrokenFilter of LocalSearchEngine" in caplog.text


def test_mock_filters_are_each_closed_once():
    filters = [Mock(), Mock(), Mock()]
    engine = BaseSearchEngine(preview_filters=filters[:1], content_filters=filters[1:])
    engine.close()
    engine.close()  # the lists were emptied: nothing is closed twice
    for f in filters:
        f.close.assert_called_once_with()
