"""Notebooks against an Ollama named by OLLAMA_HOST, as a reader with a real server runs them.

A real server has no model called ``fake``: the stand-in here is the kit's fake Ollama that
lists one model of another name and, like Ollama, answers 404 for any model it does not list.
Every notebook that reads OLLAMA_HOST (through ``leaklab.ollama.ollama_server``) must run to
the end against it and say which model it took; a server that does not answer must stop the
first code cell with one sentence.
"""

from __future__ import annotations

import socket
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT
from leaklab.fake_ollama import FakeOllama
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

pytestmark = pytest.mark.slow

MODEL = "handbook-test:1b"
USES_OLLAMA_HOST = sorted(
    p for p in (ROOT / "notebooks").glob("*.ipynb") if "ollama_server(" in p.read_text()
)


def _run(path: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    return nb


def _text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") + str(o.get("evalue", "")) for o in cell.get("outputs", []))


def test_some_notebooks_read_ollama_host():
    assert len(USES_OLLAMA_HOST) >= 2, USES_OLLAMA_HOST


@pytest.mark.parametrize("path", USES_OLLAMA_HOST, ids=lambda p: p.stem)
def test_notebook_runs_against_a_server_without_the_fake_model(path, monkeypatch):
    monkeypatch.delenv("HANDBOOK_OLLAMA_MODEL", raising=False)
    with FakeOllama(models=(MODEL,), strict_models=True) as server:
        monkeypatch.setenv("OLLAMA_HOST", server.url)
        nb = _run(path)
        used = sum(n for key, n in server.requests_by_path.items() if key.startswith("POST"))
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert f"model '{MODEL}' (the first model the server lists)" in _text(first)
    assert used > 0, server.requests_by_path


@pytest.mark.parametrize("path", USES_OLLAMA_HOST[:1], ids=lambda p: p.stem)
def test_unreachable_ollama_host_stops_the_first_cell(path, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once the socket is closed
    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{port}")
    nb = nbformat.read(path, as_version=4)
    with pytest.raises(CellExecutionError) as caught:
        NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    first = next(c for c in nb.cells if c.cell_type == "code")
    assert "OllamaUnavailable" in str(caught.value)
    assert f"no Ollama answered at http://127.0.0.1:{port}" in _text(first)
    later = [c for c in nb.cells if c.cell_type == "code" and c is not first]
    assert all(not c.get("outputs") for c in later)
