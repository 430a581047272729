"""The Ollama server a notebook talks to: the kit's fake by default, a real one on request.

Offline is the default: :func:`ollama_server` starts :class:`~leaklab.fake_ollama.FakeOllama`
in a child process, so the notebook's own census holds only the client ends of each
connection, as LDR's process does with Ollama in another container. A reader with a real
Ollama sets ``OLLAMA_HOST``; the notebook then uses that server, with the model named by
``HANDBOOK_OLLAMA_MODEL`` or else the first one the server lists (a real server has no model
called ``fake``), and says which. A server that does not answer fails at once, in one
sentence, rather than as a connection error deep inside a measurement.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .children import die_with_parent, stop_child
from .fake_ollama import normalize_ollama_host
from .interpreters import child_env

__all__ = [
    "FAKE_MODEL",
    "MODEL_ENV",
    "OllamaTarget",
    "OllamaUnavailable",
    "fake_ollama_process",
    "ollama_server",
    "real_ollama",
]

#: The one model the fake server lists by default (it answers to any name).
FAKE_MODEL = "fake"
#: Environment variable naming the model to use on a real server.
MODEL_ENV = "HANDBOOK_OLLAMA_MODEL"


class OllamaUnavailable(RuntimeError):
    """``OLLAMA_HOST`` names a server that does not answer, or that offers no model."""


@dataclass(frozen=True)
class OllamaTarget:
    """Where a notebook's Ollama clients connect (``url``) and which ``model`` they ask for."""

    url: str
    model: str
    real: bool
    why: str

    def describe(self) -> str:
        """One line for the notebook's output: which server and which model, and why."""
        kind = "real Ollama (OLLAMA_HOST)" if self.real else "the kit's fake Ollama"
        return f"Ollama: {kind} at {self.url}, model {self.model!r} ({self.why})"


def real_ollama(timeout: float = 5.0) -> OllamaTarget | None:
    """The server ``OLLAMA_HOST`` names, checked with one ``GET /api/tags``; None if unset.

    Raises :class:`OllamaUnavailable` with a one-sentence message when the server does not
    answer within ``timeout`` seconds or lists no model and ``HANDBOOK_OLLAMA_MODEL`` is unset.
    """
    host = os.environ.get("OLLAMA_HOST", "").strip()
    if not host:
        return None
    url = normalize_ollama_host(host)
    try:
        with urllib.request.urlopen(f"{url}/api/tags", timeout=timeout) as reply:
            listed = json.loads(reply.read(1 << 20))
        names = [m["name"] for m in listed.get("models", []) if isinstance(m.get("name"), str)]
    except (OSError, ValueError, AttributeError, TypeError, KeyError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise OllamaUnavailable(
            f"OLLAMA_HOST={host!r} is set but no Ollama answered at {url} ({reason}); "
            "start it there, or unset OLLAMA_HOST to use the kit's fake server."
        ) from None
    chosen = os.environ.get(MODEL_ENV, "").strip()
    if chosen:
        return OllamaTarget(url, chosen, real=True, why=f"from {MODEL_ENV}")
    if not names:
        raise OllamaUnavailable(
            f"the Ollama at {url} lists no model; pull one, or name one in {MODEL_ENV}."
        )
    return OllamaTarget(url, names[0], real=True, why="the first model the server lists")


@contextlib.contextmanager
def fake_ollama_process(
    *, hang: bool = False, models: Sequence[str] = (FAKE_MODEL,), timeout: float = 30.0
) -> Iterator[str]:
    """Run ``python -m leaklab.fake_ollama`` in a child process; yield its base URL.

    The child answers to any model name (``models`` are what it lists) and serves until its
    stdin closes; on exit it is stopped and reaped (killed if it takes longer than ``timeout``
    seconds), and its pipes are closed.
    """
    command = [sys.executable, "-m", "leaklab.fake_ollama", "--lenient"]
    command += [arg for model in models for arg in ("--model", model)]
    child = subprocess.Popen(
        command + (["--hang"] if hang else []),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(),
        preexec_fn=die_with_parent,
    )
    try:
        if not select.select([child.stdout], [], [], timeout)[0]:
            raise TimeoutError(f"the fake Ollama did not report its address within {timeout} s")
        line = child.stdout.readline().strip() if child.stdout else ""
        if not line.startswith("OLLAMA_HOST="):
            raise RuntimeError("the fake Ollama did not start")
        url = normalize_ollama_host(line.removeprefix("OLLAMA_HOST="))
        yield url
    finally:
        stop_child(child, timeout)


@contextlib.contextmanager
def ollama_server(timeout: float = 30.0) -> Iterator[OllamaTarget]:
    """The real Ollama of ``OLLAMA_HOST`` if set (see :func:`real_ollama`), else a fake one.

    The fake runs in a child process for the duration of the ``with`` block.
    """
    real = real_ollama()
    if real is not None:
        yield real
        return
    with fake_ollama_process(timeout=timeout) as url:
        yield OllamaTarget(url, FAKE_MODEL, real=False, why="offline default")
