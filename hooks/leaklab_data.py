"""Export leaklab's lookup table into the site for the playbook's paste box.

The paste box on the playbook page triages a snapshot in the browser. It must use exactly the
rows ``leaklab triage`` prints, so the data is not copied by hand: after every build this hook
writes ``assets/leaklab/lookup.json`` from :func:`leaklab.lookup.export`, the same function the
tests compare with the command line's table.
"""

from __future__ import annotations

import sys
from pathlib import Path

OUTPUT = "assets/leaklab/lookup.json"


def write_lookup(site_dir: str | Path) -> Path:
    """Write the export under ``site_dir`` and return its path (the tests call this directly)."""
    try:
        from leaklab.lookup import export_json
    except ImportError:  # a checkout without `pip install -e .`: use the source tree
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "snippets"))
        from leaklab.lookup import export_json
    target = Path(site_dir) / OUTPUT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(export_json(), encoding="utf-8")
    return target


def on_post_build(config) -> None:
    write_lookup(config["site_dir"])
