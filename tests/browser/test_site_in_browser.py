"""The built site as readers see it: served on loopback, driven by a real headless Chromium.

The site is built once per test session (per xdist worker; every test lives in this one file so
``--dist loadfile`` keeps them on one worker) from the real ``mkdocs.yml``, strictly, with the
notebook outputs the notebook tests validated (the build takes them from the cache those tests
fill, and executes only notebooks no test has run yet). Playwright drives Debian's
``chromium`` (``apt-get install chromium``); without it the module is skipped. Screenshots of
the home page and a notebook page, light and dark, land in ``artifacts/screenshots/``.

Set ``HANDBOOK_BROWSER_CONFIG`` to another config file (for instance one that ``INHERIT``\\s
``mkdocs.yml``, placed next to it) to run the same checks against a proposed change.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from conftest import ROOT, quiet_env

# The session's build may wait for notebooks another worker is executing.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "browser tests need Chromium: apt-get install chromium (Debian/Ubuntu)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
#: The notebook whose rendered outputs are checked.
NOTEBOOK = "sqlite-wal-pools"
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 15_000
#: WCAG AA contrast for body text.
MIN_CONTRAST = 4.5

# Loads the real config through MkDocs' API and builds strictly, as `mkdocs build --strict` does.
_BUILD = """
import logging, sys
from mkdocs.commands.build import build
from mkdocs.config import load_config
logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
config = load_config(sys.argv[1], site_dir=sys.argv[2], strict=True)
config.plugins.on_startup(command="build", dirty=False)
try:
    build(config)
finally:
    config.plugins.on_shutdown()
"""


# --- serving and building -----------------------------------------------------------------


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """(site directory, base URL): the server's port is known first, so site_url matches it."""
    site_dir = tmp_path_factory.mktemp("browser-site")
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    config = os.environ.get("HANDBOOK_BROWSER_CONFIG", str(ROOT / "mkdocs.yml"))
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, config, str(site_dir)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=quiet_env(
            HANDBOOK_SERVE_WARMING="0",
            HANDBOOK_SITE_URL=base,
            **({"HANDBOOK_NOTEBOOK_JOBS": "1"} if os.environ.get("PYTEST_XDIST_WORKER") else {}),
        ),
        timeout=1500,
    )
    if result.returncode != 0:
        server.server_close()
        pytest.fail(f"strict build failed:\n{result.stderr[-4000:]}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site_dir, base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def base(site) -> str:
    return site[1]


# Module scope, not session: between its sync calls, Playwright's sync API marks its event loop
# as running in this thread, so asyncio.run() raises in any test that runs in the same worker
# while the browser is up. Stopping Playwright at the end of this file clears it again.
@pytest.fixture(scope="module")
def browser():
    # Playwright's launch() starts Chromium on a fresh temporary profile (user-data dir).
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            yield instance
        finally:
            instance.close()


#: Every request made by the pages of the real site, across all tests of the session.
REQUESTS: list[str] = []


class Tab:
    """A page in its own browser context, with the console errors it logged."""

    def __init__(self, page, errors: list[str]):
        self.page = page
        self.errors = errors


@contextmanager
def open_tab(browser, base: str, *, record: bool = True, **context_options) -> Iterator[Tab]:
    """A fresh context (own storage, so a palette choice does not leak between tests).

    Requests that leave the origin are recorded (into :data:`REQUESTS` when ``record``) and then
    aborted, so a regression fails the check instead of waiting on a network that is not there.
    """
    context_options.setdefault("viewport", {"width": 1280, "height": 800})
    context = browser.new_context(**context_options)
    context.set_default_timeout(TIMEOUT_MS)
    origin = origin_of(base)
    if record:
        context.on("request", lambda request: REQUESTS.append(request.url))
    context.route(lambda url: origin_of(url) != origin, lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda message: message.type == "error" and errors.append(f"console: {message.text}"),
    )
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and errors.append(f"HTTP {response.status}: {response.url}")
        ),
    )
    try:
        yield Tab(page, errors)
    finally:
        context.close()


@pytest.fixture
def tab(browser, base) -> Iterator[Tab]:
    with open_tab(browser, base) as opened:
        yield opened


# --- assertion helpers (also run against deliberately broken variants below) ----------------


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return "local:"  # never leaves the browser
    return f"{parts.scheme}://{parts.netloc}"


def assert_same_origin(requests: list[str], base: str) -> None:
    origin = origin_of(base)
    outside = sorted({url for url in requests if origin_of(url) not in {origin, "local:"}})
    assert len(outside) == 0, f"{len(outside)} request(s) left {origin}: {outside}"


def search(page, query: str) -> list[str]:
    """Type ``query`` into Material's search box; the result links' paths, in ranked order."""
    box = page.locator("input.md-search__input")
    box.click()
    box.fill("")
    box.press_sequentially(query)
    # Results are rendered while typing; wait for the ones of the whole query (or for none).
    try:
        page.wait_for_function(
            """q => {
                const meta = document.querySelector('.md-search-result__meta');
                if (meta && /^No matching/.test(meta.innerText.trim())) return true;
                return [...document.querySelectorAll('.md-search-result__item a')]
                    .some(a => new URL(a.href).searchParams.get('h') === q);
            }""",
            arg=query,
            timeout=TIMEOUT_MS,
        )
    except sync_api.TimeoutError:
        raise AssertionError(f"search for {query!r} never showed results") from None
    links = page.locator(".md-search-result__list > .md-search-result__item > a")
    return [urlsplit(href).path for href in links.evaluate_all("els => els.map(a => a.href)")]


def assert_first_result(page, query: str, expected_path: str) -> None:
    paths = search(page, query)
    assert paths, f"search for {query!r}: no matching documents"
    assert paths[0] == expected_path, f"search for {query!r}: first {paths[0]}, ranked {paths[:5]}"


def contrast_ratio(page, selector: str) -> float:
    """WCAG contrast of the first ``selector``'s text against its composited background."""
    return page.locator(selector).first.evaluate(
        """el => {
            const parse = c => (c.match(/[\\d.]+/g) || []).map(Number);
            const layers = [];
            for (let n = el; n; n = n.parentElement) {
                const [r, g, b, a = 1] = parse(getComputedStyle(n).backgroundColor);
                if (a > 0) layers.push([r, g, b, a]);
                if (a >= 1) break;
            }
            let bg = [255, 255, 255];
            for (const [r, g, b, a] of layers.reverse())
                bg = [r * a + bg[0] * (1 - a), g * a + bg[1] * (1 - a), b * a + bg[2] * (1 - a)];
            const [fr, fg, fb, fa = 1] = parse(getComputedStyle(el).color);
            const fore = [fr * fa + bg[0] * (1 - fa), fg * fa + bg[1] * (1 - fa),
                          fb * fa + bg[2] * (1 - fa)];
            const lum = ([r, g, b]) => {
                const ch = v => { v /= 255; return v <= 0.03928 ? v / 12.92
                                  : Math.pow((v + 0.055) / 1.055, 2.4); };
                return 0.2126 * ch(r) + 0.7152 * ch(g) + 0.0722 * ch(b);
            };
            const [hi, lo] = [lum(fore), lum(bg)].sort((x, y) => y - x);
            return (hi + 0.05) / (lo + 0.05);
        }"""
    )


def scheme(page) -> str:
    return page.locator("body").get_attribute("data-md-color-scheme") or ""


def toggle_scheme(page) -> None:
    page.locator("form[data-md-component=palette] label:visible").first.click()


# --- checks -----------------------------------------------------------------------------------

PAGES = ["", "history/", "adr/hb-004/", f"notebooks/{NOTEBOOK}/"]


@pytest.mark.parametrize("path", PAGES)
def test_page_renders_without_console_errors(tab, base, path):
    response = tab.page.goto(base + path, wait_until="networkidle")
    assert response is not None and response.ok, path
    assert tab.page.locator("article h1").count() >= 1, f"{path}: no title rendered"
    assert tab.errors == [], f"{path}: {tab.errors}"


SEARCHES = [
    ("eventpoll", "/playbook/"),  # the playbook's section on pinpointing eventpoll FDs
    ("4047", "/history/"),  # the PR of Wave 7
    ("safe_close", "/conventions/"),  # the convention that introduces the helper
]


@pytest.mark.parametrize(("query", "expected"), SEARCHES)
def test_search_ranks_the_right_page_first(tab, base, query, expected):
    tab.page.goto(base)
    assert_first_result(tab.page, query, expected)
    assert tab.errors == []


def test_search_check_fails_on_a_broken_index(browser, base):
    """The same helper, with history's entries missing from the search index, must fail."""
    with open_tab(browser, base, record=False) as broken:

        def without_history(route):
            index = json.loads(route.fetch().text())
            index["docs"] = [d for d in index["docs"] if not d["location"].startswith("history/")]
            route.fulfill(json=index)

        broken.page.route("**/search/search_index.json", without_history)
        broken.page.goto(base)
        with pytest.raises(AssertionError, match="4047"):
            assert_first_result(broken.page, "4047", "/history/")


def test_notebook_shows_its_plots_and_offers_the_ipynb(tab, base):
    page = tab.page
    page.goto(f"{base}notebooks/{NOTEBOOK}/")
    images = page.locator(".jupyter-wrapper img")
    assert images.count() > 0, "the executed notebook page shows no image (plots rendered as text?)"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jupyter-wrapper img')].every(i => i.complete)"
    )
    widths = images.evaluate_all("els => els.map(i => i.naturalWidth)")
    assert all(w > 0 for w in widths), f"images that did not load: {widths}"

    button = page.locator("a[download][href$='.ipynb']")
    assert button.count() == 1, "no download button for the notebook"
    with page.expect_download() as download:
        button.click()
    saved = Path(download.value.path())
    assert saved.read_bytes() == (ROOT / "notebooks" / f"{NOTEBOOK}.ipynb").read_bytes()
    assert tab.errors == []


def test_dark_light_toggle_keeps_notebook_output_readable(tab, base):
    page = tab.page
    page.goto(f"{base}notebooks/{NOTEBOOK}/")
    output = ".jupyter-wrapper .jp-OutputArea-output pre"
    assert page.locator(output).count() > 0, "no notebook output on the page"
    assert scheme(page) == "default"
    light = contrast_ratio(page, output)
    toggle_scheme(page)
    page.wait_for_function("() => document.body.dataset.mdColorScheme === 'slate'")
    dark = contrast_ratio(page, output)
    assert min(light, dark) >= MIN_CONTRAST, f"output contrast: light {light:.2f}, dark {dark:.2f}"
    toggle_scheme(page)
    page.wait_for_function("() => document.body.dataset.mdColorScheme === 'default'")
    # the stored choice survives a reload
    toggle_scheme(page)
    page.reload()
    assert scheme(page) == "slate"
    assert tab.errors == []


ANCHORS = [
    "anti-patterns/#truthy-mock-sentinel",
    "adr/hb-005/#addenda",
]


@pytest.mark.parametrize("path", ANCHORS)
def test_deep_link_scrolls_to_its_heading(tab, base, path):
    page = tab.page
    page.goto(base + path)
    anchor = path.split("#", 1)[1]
    heading = page.locator(f"[id='{anchor}']")
    assert heading.count() == 1, f"no element with id {anchor}"
    in_view = """id => { const r = document.getElementById(id).getBoundingClientRect();
                         return r.top >= 0 && r.top < window.innerHeight; }"""
    try:
        page.wait_for_function(in_view, arg=anchor, timeout=5_000)
    except sync_api.TimeoutError:
        top = heading.evaluate("el => el.getBoundingClientRect().top")
        raise AssertionError(f"{path}: heading at {top}px, not in the viewport") from None
    assert page.evaluate("window.scrollY") > 0, f"{path}: the page did not scroll"


def test_glossary_terms_show_their_tooltip(tab, base):
    page = tab.page
    page.goto(base + "playbook/")
    terms = page.locator("article abbr[title]")
    assert terms.count() > 0, "no glossary abbreviation on the playbook"
    term = terms.first
    definition = term.get_attribute("title")
    assert definition
    term.scroll_into_view_if_needed()
    term.hover()
    tooltip = page.locator(".md-tooltip2--active, .md-tooltip--active")
    tooltip.first.wait_for(state="visible")
    assert definition in tooltip.first.inner_text()


def incident_snapshot(pid: int = 4242) -> str:
    """``ls -l /proc/PID/fd`` as pasted from a terminal on an LDR container out of FDs."""
    lines = [f"$ ls -l /proc/{pid}/fd", "total 0"]
    targets = ["/dev/null", "pipe:[31337]", "pipe:[31338]"]
    targets += [f"socket:[{40000 + i}]" for i in range(48)]
    targets += ["anon_inode:[eventpoll]"] * 929
    targets += ["anon_inode:[pidfd]"] * 41
    targets += [f"/data/encrypted_databases/user.db{suffix}" for suffix in ("", "-wal", "-shm")]
    for fd, target in enumerate(targets):
        lines.append(f"lrwx------ 1 ldruser ldruser 64 May 16 21:04 {fd} -> {target}")
    return "\n".join(lines) + "\n"


def test_paste_box_triages_an_incident_snapshot(tab, base):
    page = tab.page
    page.goto(base + "playbook/#paste-triage")
    box = page.locator("#paste-triage-input")
    assert box.count() == 1, "no paste box on the playbook"
    box.fill(incident_snapshot())
    page.locator("#paste-triage-run").click()
    findings = page.locator("#paste-triage-output h4")
    findings.first.wait_for(state="visible")
    output = page.locator("#paste-triage-output").inner_text()
    assert "Leak suspected" in output, output[:500]
    first = findings.first.inner_text()
    assert re.match(r"1\. eventpoll: 929 FDs", first), first
    assert tab.errors == []


def test_screenshots_light_and_dark(browser, base):
    """Home and a notebook page in both schemes, chosen by the reader's system preference."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for color_scheme, expected in (("light", "default"), ("dark", "slate")):
        with open_tab(browser, base, color_scheme=color_scheme) as shot:
            for name, path in (("home", ""), ("notebook", f"notebooks/{NOTEBOOK}/")):
                shot.page.goto(base + path, wait_until="networkidle")
                plots = shot.page.locator(".jupyter-wrapper img")
                if plots.count():  # show the reviewer a plot on the theme, not just prose
                    plots.first.evaluate("el => el.scrollIntoView({block: 'center'})")
                    shot.page.wait_for_timeout(400)  # let the header's title transition settle
                target = SCREENSHOTS / f"{name}-{color_scheme}.png"
                shot.page.screenshot(path=str(target))
                assert scheme(shot.page) == expected, (name, color_scheme)
                assert target.stat().st_size > 10_000, target
            assert shot.errors == []


def test_external_request_check_catches_a_cdn(browser, base):
    """A page that pulls a script and a font from other hosts must fail the same check."""
    seen: list[str] = []
    with open_tab(browser, base, record=False) as broken:
        broken.page.on("request", lambda request: seen.append(request.url))

        def with_cdn(route):
            html = (
                route.fetch()
                .text()
                .replace(
                    "</head>",
                    '<script src="https://cdn.example.org/lib.js"></script>'
                    '<link rel="stylesheet" href="https://fonts.example.com/css"></head>',
                )
            )
            route.fulfill(body=html, content_type="text/html")

        broken.page.route(base, with_cdn)
        broken.page.goto(base)
    assert_same_origin([u for u in seen if "example" not in u], base)
    with pytest.raises(AssertionError, match="2 request"):
        assert_same_origin(seen, base)


def test_no_request_leaves_the_origin(browser, base):
    """Zero requests to other hosts, counted over every page this session opened."""
    with open_tab(browser, base) as visit:
        for path in ("", "playbook/", "adr/hb-005/", f"notebooks/{NOTEBOOK}/"):
            visit.page.goto(base + path, wait_until="networkidle")
        search(visit.page, "eventpoll")
    assert len(REQUESTS) > 10
    assert_same_origin(REQUESTS, base)
