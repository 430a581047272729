"""Mount the top-level ``notebooks/`` folder at ``/notebooks/`` on every supported Python.

mkdocs-jupyter mounts outside folders itself (``notebook_dirs``) from 0.27 on, but 0.27
needs Python 3.12; on 3.11 the lock resolves 0.26, which lacks the option and would reject
it as an unknown setting under ``strict``. So the setting is not written in mkdocs.yml:
this hook hands it to the plugin when the plugin knows it, and otherwise adds the
notebooks to the site's files itself, before the plugin turns them into pages.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

MOUNT = "notebooks"
SOURCE = "notebooks"
_manual_mount: Path | None = None


@event_priority(100)  # before mkdocs-jupyter's own on_config reads notebook_dirs
def on_config(config):
    global _manual_mount
    plugin = config["plugins"]["mkdocs-jupyter"]
    source = Path(config["config_file_path"]).parent / SOURCE
    if "notebook_dirs" in plugin.config:
        plugin.config["notebook_dirs"] = {MOUNT: SOURCE}
        _manual_mount = None
    else:
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
