"""One setting for the site's address: the build and leaklab's page links agree, and nothing
links a host that does not serve this site."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import ROOT
from leaklab.site import LOCAL_SERVE_URL, repo_url, site_url

sys.path.insert(0, str(ROOT / "hooks"))

import site_address

FOREIGN_HOST = "learningcircuit.github.io/resource-cleanup-handbook"


def test_default_is_the_local_serve_address():
    assert site_url({}) == LOCAL_SERVE_URL == "http://127.0.0.1:8000/"
    assert site_url({"HANDBOOK_SITE_URL": "https://docs.test/hb"}) == "https://docs.test/hb/"
    assert repo_url({}) is None
    assert repo_url({"HANDBOOK_REPO_URL": "https://git.test/o/hb/"}) == "https://git.test/o/hb"


def test_the_build_takes_the_same_address_and_links_a_repository_only_when_set(monkeypatch):
    monkeypatch.delenv("HANDBOOK_REPO_URL", raising=False)
    monkeypatch.setenv("HANDBOOK_SITE_URL", "https://docs.test/hb")
    config = site_address.on_config({"site_url": None, "edit_uri": "x/"})
    assert config["site_url"] == "https://docs.test/hb/"
    assert config["edit_uri"] is None

    class Page:
        class file:
            src_uri = "changelog.md"

    text = f"see {site_address.FRAGMENT_RULES}."
    assert site_address.on_page_markdown(text, Page, {}, None) == text
    monkeypatch.setenv("HANDBOOK_REPO_URL", "https://git.test/o/hb")
    assert site_address.on_config({})["edit_uri"] == "https://git.test/o/hb/edit/main/docs/"
    linked = site_address.on_page_markdown(text, Page, {}, None)
    assert "(https://git.test/o/hb/blob/main/changelog.d/README.md)" in linked


def test_triage_links_follow_the_setting_and_say_when_they_are_local(tmp_path: Path):
    snapshot = ROOT / "tests" / "data" / "incident-ls.txt"
    run = [sys.executable, "-m", "leaklab", "triage", "--from", str(snapshot)]
    env = {"PATH": "/usr/bin:/bin"}
    local = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60)
    assert "http://127.0.0.1:8000/playbook/#eventpoll" in local.stdout
    assert "local `make serve`" in local.stdout
    env["HANDBOOK_SITE_URL"] = "https://docs.test/hb"
    published = subprocess.run(run, capture_output=True, text=True, env=env, timeout=60)
    assert "https://docs.test/hb/playbook/#eventpoll" in published.stdout
    assert "make serve" not in published.stdout


def test_no_file_links_a_host_that_does_not_serve_this_site():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    offenders = [
        name
        for name in tracked
        if name != "tests/test_site_address.py"
        and (ROOT / name).is_file()
        and FOREIGN_HOST in (ROOT / name).read_text(encoding="utf-8", errors="ignore")
    ]
    assert offenders == []
