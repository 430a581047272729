"""A small in-process stand-in for an Ollama server, for offline FD measurements.

The leak classes in LDR that involve Ollama are about *client* objects (httpx pools, event
loops, sockets held by ``ChatOllama`` / ``OllamaEmbeddings``), so the notebooks need a server
that real, unmodified ``langchain_ollama`` objects can talk to without network access or a
GPU.  :class:`FakeOllama` speaks just enough of the Ollama HTTP API for that:

* ``POST /api/chat`` (streaming NDJSON or a single JSON object), ``POST /api/generate``,
  ``POST /api/embed`` (plus the older ``/api/embeddings``), ``GET /api/tags``,
  ``POST /api/show``, ``GET /api/ps`` and ``GET /api/version``.
* Replies are deterministic (:func:`fake_reply`, :func:`fake_embedding`) so a notebook can
  assert on content instead of only on "something came back".
* ``delay`` and ``hang`` exercise the slow and the never-answering server, which is what the
  bounded-close and timeout paths in LDR have to survive.
* ``keep_alive`` chooses between HTTP/1.1 persistent connections (clients then hold
  ESTABLISHED sockets in their pools, the situation that makes unclosed clients visible in a
  census) and ``Connection: close`` (one connection per request).

The server itself must never be the thing that leaks: when the ``with`` block exits, the
listening socket, every accepted connection socket (also those whose handler is stuck in
``hang``) and every thread it started are gone, within a bounded time.  Otherwise the census
taken after a measurement would blame the code under test for the harness's own FDs.

Only the standard library is used, so the server's own behaviour does not change with the
versions of the HTTP libraries that the notebooks are measuring.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import math
import os
import re
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

__all__ = [
    "FakeOllama",
    "FakeOllamaError",
    "fake_embedding",
    "fake_reply",
    "normalize_ollama_host",
    "ollama_base_url",
]

#: Version string reported by ``GET /api/version``.
FAKE_VERSION = "0.0.0-fake"
#: Port the ollama client assumes when OLLAMA_HOST names no port.
DEFAULT_OLLAMA_PORT = 11434
#: Largest request body accepted (413 beyond); the largest real request is a batch of texts.
MAX_BODY = 1 << 20
#: Seconds a connection may sit idle (or trickle a request) before the server drops it.
IDLE_TIMEOUT = 60.0
#: Largest embedding dimension a request may ask for.
MAX_DIM = 8192


class FakeOllamaError(RuntimeError):
    """Raised for misuse of the fake server (for example starting it twice)."""


# ---------------------------------------------------------------------------------------------
# Deterministic content
# ---------------------------------------------------------------------------------------------


def fake_reply(text: str) -> str:
    """Return the reply the fake server gives to a prompt or last user message.

    Derived from the input only, so notebooks and tests can compute the expected answer
    without talking to the server.
    """
    return f"fake reply to: {text}"


def fake_embedding(text: str, dim: int = 8) -> list[float]:
    """Return the unit-length embedding vector the fake server gives for ``text``.

    The components come from a SHA-256 stream of the text, so equal texts get equal vectors
    and different texts (almost surely) different ones; the vector is L2-normalised like the
    ones ``/api/embed`` of a real Ollama returns.
    """
    if dim < 1:
        raise ValueError(f"embedding dimension must be >= 1, got {dim}")
    raw: list[float] = []
    counter = 0
    while len(raw) < dim:
        block = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        for (value,) in struct.iter_unpack(">I", block):
            raw.append(value / 0xFFFFFFFF * 2.0 - 1.0)
        counter += 1
    vec = raw[:dim]
    norm = math.sqrt(sum(v * v for v in vec)) or 1.0
    return [v / norm for v in vec]


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _pieces(text: str) -> list[str]:
    """Split a reply into stream chunks (one word plus its trailing blank each)."""
    return re.findall(r"\S+\s*|\s+", text) or [""]


def _last_user_text(messages: Any) -> str:
    """Text of the last ``user`` message (what a chat model would answer)."""
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


# ---------------------------------------------------------------------------------------------
# OLLAMA_HOST handling
# ---------------------------------------------------------------------------------------------


def normalize_ollama_host(host: str) -> str:
    """Normalise an OLLAMA_HOST value the way the ``ollama`` client does.

    Mirrors ``ollama._client._parse_host`` (0.6.x): a missing scheme means ``http`` and port
    11434; an explicit ``http://`` or ``https://`` without a port means 80 or 443.  It is
    re-implemented rather than imported because that function is private API.
    """
    port = DEFAULT_OLLAMA_PORT
    scheme, _, hostport = host.partition("://")
    if not hostport:
        scheme, hostport = "http", host
    elif scheme == "http":
        port = 80
    elif scheme == "https":
        port = 443
    split = urllib.parse.urlsplit(f"{scheme}://{hostport}")
    hostname = split.hostname or "127.0.0.1"
    port = split.port or port
    with contextlib.suppress(ValueError):
        if isinstance(ipaddress.ip_address(hostname), ipaddress.IPv6Address):
            hostname = f"[{hostname}]"
    if path := split.path.strip("/"):
        return f"{scheme}://{hostname}:{port}/{path}"
    return f"{scheme}://{hostname}:{port}"


def ollama_base_url(default: str | None = None) -> str:
    """Base URL of the Ollama server a notebook should use.

    A reader who has a real Ollama running sets ``OLLAMA_HOST`` and gets that server
    (normalised like the ollama client would); everyone else gets ``default``, normally
    ``srv.url`` of a :class:`FakeOllama`.  With neither, there is nothing sensible to talk to,
    so this fails loudly instead of letting a client try 127.0.0.1:11434 and time out.
    """
    host = os.environ.get("OLLAMA_HOST", "").strip()
    if host:
        return normalize_ollama_host(host)
    if default is None:
        raise FakeOllamaError(
            "no Ollama server: OLLAMA_HOST is not set and no default URL was given "
            "(pass FakeOllama().url as the default)"
        )
    return default


# ---------------------------------------------------------------------------------------------
# HTTP server
# ---------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that tracks its connections and handler threads.

    The stock ``ThreadingMixIn`` either joins handler threads without a bound
    (``block_on_close``) or forgets them; neither lets us guarantee a prompt, complete
    shutdown when a handler is deliberately stuck, so both bookkeeping jobs live here.
    """

    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, owner: FakeOllama) -> None:
        self.owner = owner
        super().__init__(owner.address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can stall
        # offline; the name is only used for CGI variables, so skip it.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        owner = self.owner
        with owner._lock:
            owner._n_conn += 1
            owner._open_sockets.add(request)
            name = f"fake-ollama-{self.server_port}-conn-{owner._n_conn}"
        thread = threading.Thread(
            target=self.process_request_thread,
            args=(request, client_address),
            name=name,
            daemon=True,
        )
        with owner._lock:
            owner._handler_threads = [t for t in owner._handler_threads if t.is_alive()]
            owner._handler_threads.append(thread)
        thread.start()

    def shutdown_request(self, request: Any) -> None:
        # Forget the socket *before* closing it, under the lock that close() holds while it
        # shuts sockets down, so close() never touches an already closed (maybe reused) FD.
        with self.owner._lock:
            self.owner._open_sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up (timeout, closed pool) is normal here; anything else is a
        # bug in the fake and is kept for tests to look at instead of printed to stderr.
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        with self.owner._lock:
            self.owner.errors.append(repr(exc))


class _BadRequest(ValueError):
    """A request the fake answers with an error status (400, 404, 413) instead of a reply."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _check_types(body: dict[str, Any]) -> None:
    """Refuse wrong JSON types with 400, as Ollama does, instead of failing mid-answer."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise _BadRequest("model is required")
    expected = {
        "stream": (bool,),
        "prompt": (str,),
        "messages": (list,),
        "input": (str, list),
        "dimensions": (int,),
        "keep_alive": (str, int, float),
        "options": (dict,),
    }
    for key, types in expected.items():
        value = body.get(key)
        if value is not None and (
            not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        ):
            raise _BadRequest(f"invalid type for field {key!r}")
    if isinstance(body.get("input"), list) and not all(isinstance(t, str) for t in body["input"]):
        raise _BadRequest("invalid type for field 'input': expected strings")
    if any(not isinstance(m, dict) for m in body.get("messages") or []):
        raise _BadRequest("invalid type for field 'messages': expected objects")
    dim = body.get("dimensions")
    if dim is not None and not 1 <= dim <= MAX_DIM:
        raise _BadRequest(f"dimensions must be from 1 to {MAX_DIM}")


class _Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 so that keep-alive behaves like the real server."""

    protocol_version = "HTTP/1.1"
    server_version = "FakeOllama/" + FAKE_VERSION
    server: _Server

    def setup(self) -> None:
        # StreamRequestHandler applies ``timeout`` to the socket: an idle keep-alive
        # connection, or a client that trickles its request, is dropped after it.
        self.timeout = self.server.owner.idle_timeout
        super().setup()

    # -- plumbing -----------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: request logs on stderr would clutter notebook output."""

    @property
    def owner(self) -> FakeOllama:
        return self.server.owner

    def _read_body(self) -> Any:
        """The JSON body, read in chunks up to the cap; never sized by the client's word."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise _BadRequest("invalid Content-Length") from None
        if length < 0:
            raise _BadRequest("invalid Content-Length")
        if length > self.owner.max_body:
            self.close_connection = True  # the unread body must not be taken for a request
            raise _BadRequest(f"request body larger than {self.owner.max_body} bytes", 413)
        chunks, left = [], length
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 16))
            if not chunk:
                raise _BadRequest("request body shorter than its Content-Length")
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if not data:
            return {}
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            raise _BadRequest("invalid JSON body") from None

    def _prologue(self) -> tuple[bool, Any]:
        """Count the request, read its body, apply hang/delay; False means do not answer."""
        owner = self.owner
        path = urllib.parse.urlsplit(self.path).path
        with owner._lock:
            owner.requests += 1
            owner.requests_by_path[f"{self.command} {path}"] += 1
        error: _BadRequest | None = None
        try:
            body = self._read_body()
        except _BadRequest as exc:
            body, error = None, exc
        if owner.hang:
            # Never answer; wake only when the server closes.  The socket is shut down by
            # FakeOllama.close(), after which this connection ends without a response.
            owner._stop.wait()
            self.close_connection = True
            return False, None
        if owner.delay > 0 and owner._stop.wait(owner.delay):
            self.close_connection = True
            return False, None
        if error is not None:
            self._send_json({"error": str(error)}, status=error.status)
            return False, None
        return True, body

    def _common_headers(self, status: int, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if not self.owner.keep_alive:
            self.send_header("Connection", "close")
            self.close_connection = True

    def _send_json(self, obj: Any, status: int = 200) -> None:
        data = json.dumps(obj).encode()
        self._common_headers(status, "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def _send_ndjson(self, objs: Iterable[dict[str, Any]]) -> None:
        """Stream NDJSON with chunked transfer encoding, as Ollama does."""
        self._common_headers(200, "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for obj in objs:
            line = json.dumps(obj).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    # -- dispatch -----------------------------------------------------------------------------

    def do_GET(self) -> None:
        """Serve the read-only endpoints."""
        proceed, _ = self._prologue()
        if not proceed:
            return
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        owner = self.owner
        if path == "/api/version":
            self._send_json({"version": FAKE_VERSION})
        elif path == "/api/tags":
            self._send_json({"models": [owner._model_entry(m) for m in owner.models]})
        elif path == "/api/ps":
            self._send_json({"models": []})
        elif path in ("", "/"):
            # The real server answers its root with a plain-text liveness line.
            data = b"Ollama is running"
            self._common_headers(200, "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self._send_json({"error": f"404 page not found: {path}"}, status=404)

    def do_HEAD(self) -> None:
        """Liveness probe (``HEAD /``) as used by some health checks."""
        proceed, _ = self._prologue()
        if not proceed:
            return
        self._common_headers(200, "text/plain; charset=utf-8")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:
        """Serve chat, generate, embed and show."""
        proceed, body = self._prologue()
        if not proceed:
            return
        path = urllib.parse.urlsplit(self.path).path.rstrip("/")
        handler = {
            "/api/chat": self._chat,
            "/api/generate": self._generate,
            "/api/embed": self._embed,
            "/api/embeddings": self._embeddings,
            "/api/show": self._show,
        }.get(path)
        if handler is None:
            self._send_json({"error": f"404 page not found: {path}"}, status=404)
            return
        try:
            if not isinstance(body, dict):
                raise _BadRequest("request body must be a JSON object")
            _check_types(body)
            if self.owner.strict_models and body["model"] not in self.owner.models:
                raise _BadRequest(f'model "{body["model"]}" not found, try pulling it first', 404)
        except _BadRequest as exc:
            self._send_json({"error": str(exc)}, status=exc.status)
            return
        handler(body)

    # -- endpoints ----------------------------------------------------------------------------

    def _stats(self, prompt: str, reply: str) -> dict[str, Any]:
        return {
            "done": True,
            "done_reason": "stop",
            "total_duration": 1_000_000,
            "load_duration": 0,
            "prompt_eval_count": len(prompt.split()),
            "prompt_eval_duration": 500_000,
            "eval_count": len(_pieces(reply)),
            "eval_duration": 500_000,
        }

    def _chat(self, body: dict[str, Any]) -> None:
        model = body["model"]
        prompt = _last_user_text(body.get("messages"))
        reply = fake_reply(prompt)
        if body.get("stream", True):
            parts: list[dict[str, Any]] = [
                {
                    "model": model,
                    "created_at": _now(),
                    "message": {"role": "assistant", "content": piece},
                    "done": False,
                }
                for piece in _pieces(reply)
            ]
            parts.append(
                {
                    "model": model,
                    "created_at": _now(),
                    "message": {"role": "assistant", "content": ""},
                    **self._stats(prompt, reply),
                }
            )
            self._send_ndjson(parts)
        else:
            self._send_json(
                {
                    "model": model,
                    "created_at": _now(),
                    "message": {"role": "assistant", "content": reply},
                    **self._stats(prompt, reply),
                }
            )

    def _generate(self, body: dict[str, Any]) -> None:
        model = body["model"]
        prompt = body.get("prompt") or ""
        if not prompt:
            # An empty prompt is how clients ask Ollama to load a model; it answers "load".
            self._send_json(
                {
                    "model": model,
                    "created_at": _now(),
                    "response": "",
                    "done": True,
                    "done_reason": "load",
                }
            )
            return
        reply = fake_reply(prompt)
        if body.get("stream", True):
            parts: list[dict[str, Any]] = [
                {"model": model, "created_at": _now(), "response": piece, "done": False}
                for piece in _pieces(reply)
            ]
            parts.append(
                {"model": model, "created_at": _now(), "response": "", **self._stats(prompt, reply)}
            )
            self._send_ndjson(parts)
        else:
            self._send_json(
                {
                    "model": model,
                    "created_at": _now(),
                    "response": reply,
                    **self._stats(prompt, reply),
                }
            )

    def _embed(self, body: dict[str, Any]) -> None:
        texts = body.get("input", "")
        if isinstance(texts, str):
            texts = [texts]
        dim = body.get("dimensions") or self.owner.dim
        self._send_json(
            {
                "model": body["model"],
                "embeddings": [fake_embedding(str(t), int(dim)) for t in texts],
                "total_duration": 1_000_000,
                "load_duration": 0,
                "prompt_eval_count": sum(len(str(t).split()) for t in texts),
            }
        )

    def _embeddings(self, body: dict[str, Any]) -> None:
        self._send_json(
            {"embedding": fake_embedding(str(body.get("prompt") or ""), self.owner.dim)}
        )

    def _show(self, body: dict[str, Any]) -> None:
        model = body["model"]
        self._send_json(
            {
                "modelfile": f"FROM {model}\n",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": self.owner._model_entry(model)["details"],
                "model_info": {
                    "general.architecture": "fake",
                    "fake.context_length": 4096,
                    "fake.embedding_length": self.owner.dim,
                },
                "capabilities": ["completion", "embedding"],
                "modified_at": _now(),
            }
        )


# ---------------------------------------------------------------------------------------------
# Public object
# ---------------------------------------------------------------------------------------------


class FakeOllama:
    """In-process fake Ollama server on 127.0.0.1 with an ephemeral port.

    Use as a context manager::

        with FakeOllama() as srv:
            llm = ChatOllama(model="fake", base_url=srv.url)
            llm.invoke("hello").content  # 'fake reply to: hello'

    Args:
        delay: seconds to wait before answering each request (interrupted by close()).
        hang: accept connections and read requests but never answer, until close().
        keep_alive: True keeps HTTP/1.1 connections open between requests (clients pool them
            and hold ESTABLISHED sockets); False answers with ``Connection: close``.
        dim: embedding dimension (a request's ``dimensions`` field overrides it).
        models: model names listed by ``/api/tags`` (``validate_model_on_init`` checks these).
        strict_models: answer a request for a model not in ``models`` with 404, as a real
            server does for a model it has not pulled; by default any name is served.
        max_body: largest request body in bytes; a larger ``Content-Length`` gets 413 before
            anything is read, and bodies are read in chunks, never allocated from the header.
        idle_timeout: seconds an accepted connection may stay silent before it is closed.
        join_timeout: upper bound, in seconds, for joining the server's threads on close.

    Counters (read at any time): ``requests``, ``requests_by_path`` ("POST /api/chat" → n),
    ``connections_accepted``, ``connections_open``; ``errors`` lists unexpected handler
    exceptions (empty when the fake behaved).
    """

    def __init__(
        self,
        *,
        delay: float = 0.0,
        hang: bool = False,
        keep_alive: bool = True,
        dim: int = 8,
        models: Iterable[str] = ("fake",),
        strict_models: bool = False,
        max_body: int = MAX_BODY,
        idle_timeout: float = IDLE_TIMEOUT,
        join_timeout: float = 2.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if delay < 0:
            raise ValueError(f"delay must be >= 0, got {delay}")
        if dim < 1:
            raise ValueError(f"dim must be >= 1, got {dim}")
        self.delay = float(delay)
        self.hang = bool(hang)
        self.keep_alive = bool(keep_alive)
        self.dim = int(dim)
        self.models: tuple[str, ...] = tuple(models)
        self.strict_models = bool(strict_models)
        self.max_body = int(max_body)
        self.idle_timeout = float(idle_timeout)
        self.join_timeout = float(join_timeout)
        self.address = (host, int(port))

        self.requests = 0
        self.requests_by_path: Counter[str] = Counter()
        self.errors: list[str] = []

        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._n_conn = 0
        self._open_sockets: set[socket.socket] = set()
        self._handler_threads: list[threading.Thread] = []
        self._server: _Server | None = None
        self._serve_thread: threading.Thread | None = None
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the listening socket and start serving in a background thread."""
        if self._server is not None or self._closed:
            raise FakeOllamaError("a FakeOllama can be started only once")
        self._server = _Server(self)
        self._serve_thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fake-ollama-{self.port}",
            daemon=True,
        )
        try:
            self._serve_thread.start()
        except BaseException:
            self._server.server_close()
            self._closed = True
            raise
        return self

    def close(self) -> None:
        """Stop serving and release every socket and thread, within ``join_timeout``.

        Order matters: stop accepting, close the listening socket, wake handlers that wait
        (hang/delay), shut down accepted sockets so handlers blocked in ``recv`` see EOF, then
        join.  Safe to call more than once.
        """
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        server = self._server
        if server is None:
            return
        deadline = time.monotonic() + self.join_timeout
        serve_thread = self._serve_thread
        if serve_thread is not None and serve_thread.is_alive():
            # Returns once serve_forever has left its loop (within one poll_interval).  Only
            # called while that loop runs: otherwise shutdown() would wait forever.
            server.shutdown()
            serve_thread.join(max(0.0, deadline - time.monotonic()))
        server.server_close()
        with self._lock:
            for sock in list(self._open_sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            threads = list(self._handler_threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        # Last resort for a handler that did not finish in time: close its socket ourselves
        # so at least no FD outlives the server.
        with self._lock:
            leftovers = list(self._open_sockets)
            self._open_sockets.clear()
        for sock in leftovers:
            with contextlib.suppress(OSError):
                sock.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- introspection ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The ephemeral port chosen by the kernel."""
        if self._server is None:
            raise FakeOllamaError("FakeOllama is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """Base URL for ``base_url=`` / ``host=``: ``http://127.0.0.1:PORT``."""
        return f"http://{self.address[0]}:{self.port}"

    @property
    def connections_accepted(self) -> int:
        """TCP connections accepted so far (keep-alive clients reuse one for many requests)."""
        return self._n_conn

    @property
    def connections_open(self) -> int:
        """Accepted connections whose server side is still open right now."""
        with self._lock:
            return len(self._open_sockets)

    @property
    def handler_threads_alive(self) -> int:
        """Connection threads still running (0 after a clean close)."""
        with self._lock:
            return sum(t.is_alive() for t in self._handler_threads)

    def _model_entry(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "model": name,
            "modified_at": "2025-01-01T00:00:00Z",
            "size": 1,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "fake",
                "families": ["fake"],
                "parameter_size": "0B",
                "quantization_level": "F16",
            },
        }

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self._server else "new")
        where = f" {self.url}" if self._server is not None else ""
        return (
            f"<FakeOllama{where} {state} requests={self.requests} "
            f"connections_accepted={self.connections_accepted}>"
        )


# ---------------------------------------------------------------------------------------------
# As a server process
# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m leaklab.fake_ollama --model NAME``: a stand-in server in its own process.

    Serves the given models strictly (another name gets the 404 a real server gives), prints
    ``OLLAMA_HOST=127.0.0.1:PORT`` once it listens, and stops on SIGTERM, Ctrl-C or, when its
    stdin is a pipe, when that pipe is closed. A test that points notebooks at it with
    ``OLLAMA_HOST`` checks that they use the model the server has, not the name ``fake``.
    """
    import argparse
    import signal
    import stat

    parser = argparse.ArgumentParser(prog="python -m leaklab.fake_ollama")
    parser.add_argument("--model", action="append", required=True, help="repeat for more")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--lenient", action="store_true", help="serve any model name")
    parser.add_argument("--hang", action="store_true", help="accept requests, never answer")
    args = parser.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    def watch_stdin() -> None:
        with contextlib.suppress(OSError, ValueError):
            while sys.stdin.buffer.read(1 << 12):
                pass
        stop.set()

    server = FakeOllama(
        models=args.model, strict_models=not args.lenient, port=args.port, hang=args.hang
    )
    with server:
        print(f"OLLAMA_HOST=127.0.0.1:{server.port}", flush=True)
        with contextlib.suppress(OSError):
            if stat.S_ISFIFO(os.fstat(0).st_mode):  # a parent's pipe: its end is our cue
                threading.Thread(target=watch_stdin, daemon=True).start()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
