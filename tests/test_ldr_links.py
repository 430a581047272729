"""hooks/ldr_links.py links LDR's pull requests, LDR's records, LDR's source and Python's docs."""

from __future__ import annotations

import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "hooks"))

import ldr_links

FILES = ldr_links.load_source_files()


def test_pr_numbers_in_prose_link_to_ldr_and_code_is_left_alone():
    html = (
        "<p>Fixed in #4047 and #3855's follow-up; see <a href='#x'>#3018</a>.</p>"
        "<p><code>#2712</code> and</p><pre>#3441</pre><p>colour #8c8c8c, &amp;#1234; no</p>"
    )
    out = ldr_links.link_references(html, FILES)
    assert f'<a class="ldr-ref" href="{ldr_links.LDR_REPO}/pull/4047"' in out
    assert f'href="{ldr_links.LDR_REPO}/pull/3855"' in out and "</a>'s follow-up" in out
    assert '<a href="#x">#3018</a>' in out
    assert "<code>#2712</code>" in out and "<pre>#3441</pre>" in out
    assert out.count("ldr-ref") == 2


def test_ldr_adr_numbers_link_to_ldr_records():
    out = ldr_links.link_references("<p>LDR's ADR-0004 and ADR-0001.</p>", FILES)
    assert "docs/decisions/0004-nullpool-for-sqlcipher.md" in out
    assert f'href="{ldr_links.LDR_REPO}/tree/main/docs/decisions"' in out


def test_source_paths_link_to_the_pinned_tag_only_when_they_exist_there():
    assert ldr_links.resolve_source("utilities/llm_utils.py", FILES) == "utilities/llm_utils.py"
    assert ldr_links.resolve_source(
        "src/local_deep_research/web/auth/connection_cleanup.py:50", FILES
    ) == ("web/auth/connection_cleanup.py")
    assert ldr_links.resolve_source("news_strategy.py", FILES).endswith("/news_strategy.py")
    assert ldr_links.resolve_source("config/llm_config.py:158", FILES) == "config/llm_config.py"
    # never merged, the handbook's own files, and names that are not paths
    assert ldr_links.resolve_source("utilities/fd_monitor.py", FILES) is None
    assert ldr_links.resolve_source("ldr_patterns/close_llm.py", FILES) is None
    assert ldr_links.resolve_source("safe_close(resource, name)", FILES) is None
    out = ldr_links.link_references("<p><code>utilities/llm_utils.py</code></p>", FILES)
    assert f"/blob/{ldr_links.LDR_TAG}/src/local_deep_research/utilities/llm_utils.py" in out


def test_python_apis_link_the_python_docs_once_per_page():
    html = (
        "<p><code>asyncio.run()</code> twice: <code>asyncio.run(x)</code>, <code>foo()</code></p>"
    )
    out = ldr_links.link_references(html, FILES)
    assert out.count("docs.python.org/3/library/asyncio-runner.html#asyncio.run") == 1
    assert "<code>foo()</code>" in out and out.count("<a ") == 1
