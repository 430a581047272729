"""Mount the top-level ``notebooks/`` folder at ``/notebooks/``, the same on every version.

mkdocs-jupyter 0.27 can mount outside folders itself (``notebook_dirs``), but 0.27 needs
Python 3.12; on 3.11 the lock resolves 0.26, which lacks the option. This hook adds the
notebooks to the site's files itself, before the plugin turns them into pages, on both. The
plugin's own mount would also re-parse every notebook page after rendering to resolve links
against source files; the notebooks link with site URLs (``../../history/#wave-7``), which
work the same on both versions, so that pass would only cost time on every build.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

MOUNT = "notebooks"
SOURCE = "notebooks"
_manual_mount: Path | None = None


def on_config(config):
    global _manual_mount
    source = Path(config["config_file_path"]).parent / SOURCE
    _manual_mount = source
    if str(source) not in config["watch"]:
        config["watch"].append(str(source))
    return config


@event_priority(100)  # before mkdocs-jupyter wraps notebook files into pages
def on_files(files, config):
    if _manual_mount is None:
        return files
    for notebook in sorted(_manual_mount.glob("*.ipynb")):
        file = File(
            f"{MOUNT}/{notebook.name}",
            src_dir=str(_manual_mount.parent),
            dest_dir=config["site_dir"],
            use_directory_urls=config["use_directory_urls"],
        )
        file.edit_uri = f"../{SOURCE}/{notebook.name}"  # edit links point at the real file
        files.append(file)
    return files
