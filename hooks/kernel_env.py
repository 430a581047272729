"""Notebook executions keep their files out of ``~/.ipython`` and leave no child behind.

Every execution of the notebooks (the build, ``make serve``'s background build, the notebook
tests) starts Jupyter kernels. Left to their defaults, those write each cell into the user's
``~/.ipython`` history database, and their children outlive a stopped run. This hook (and, for
pytest, the same module loaded as a plugin by ``-p kernel_env`` in ``pyproject.toml``) points
``IPYTHONDIR`` at ``.cache/ipython`` with a kernel configuration that keeps history in memory
and loads :mod:`leaklab.kernel_guard`, and ``JUPYTER_RUNTIME_DIR`` at ``.cache/jupyter-runtime``.
"""

from __future__ import annotations

import os
from pathlib import Path

KERNEL_CONFIG = """\
# Written by hooks/kernel_env.py for the handbook's own notebook executions.
c.HistoryManager.hist_file = ":memory:"
c.InteractiveShellApp.extensions = ["leaklab.kernel_guard"]
"""


def prepare(root: Path) -> dict[str, str]:
    """Create the folders and the kernel configuration; return the variables to set."""
    cache = root / ".cache"
    ipython = cache / "ipython"
    profile = ipython / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    config = profile / "ipython_kernel_config.py"
    if not config.is_file() or config.read_text() != KERNEL_CONFIG:
        config.write_text(KERNEL_CONFIG)
    runtime = cache / "jupyter-runtime"
    runtime.mkdir(parents=True, exist_ok=True)
    return {"IPYTHONDIR": str(ipython), "JUPYTER_RUNTIME_DIR": str(runtime)}


def apply(root: Path) -> None:
    """Set the variables in this process, so every kernel it starts inherits them."""
    os.environ.update(prepare(root))


def on_config(config):
    apply(Path(config["config_file_path"]).parent)
    return config


def pytest_configure(config):
    """pytest's entry point: notebook tests run their kernels the way the build does."""
    apply(Path(config.rootpath))
