"""The per-test FD leak check (fd_canary marker, --fd-leaks, --fd-leaks-trace), run by pytester.

Each run is a real pytest in a child process on a file that leaks a real socket, event loop,
file and pipe, so the census, the verdict and the report are the ones a project would see.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from leaklab import pytest_fd_leaks
from leaklab.make_fd_leaks_example import transcript
from leaklab.pytest_fd_leaks import _address, _describe_target

pytest_plugins = ["pytester"]

PLUGIN_FILE = Path(pytest_fd_leaks.__file__)
EXAMPLE_OUTPUT = PLUGIN_FILE.parent / "examples" / "fd-leaks.txt"

# Plugins this project installs that the runs below do not need; leaving them out halves the
# start-up of each child pytest.
QUIET = ("-p", "no:cacheprovider", "-p", "no:nbval", "-p", "no:langsmith_plugin")

SCENARIO = PLUGIN_FILE.parent / "examples" / "test_leaks.py"
SOCKET_LINE = next(
    n
    for n, line in enumerate(SCENARIO.read_text().splitlines(), 1)
    if "conn = socket.create_connection" in line
)
MARKED_LEAKS = ("test_socket_leak", "test_event_loop_leak", "test_file_leak_in_fixture_teardown")


@pytest.fixture
def scenario(pytester: pytest.Pytester) -> pytest.Pytester:
    shutil.copy(SCENARIO, pytester.path / SCENARIO.name)
    return pytester


def failed_tests(result: pytest.RunResult) -> set[str]:
    return {
        line.split("::")[1].split(" ")[0]
        for line in result.outlines
        if line.startswith("FAILED test_leaks.py::")
    }


def test_marked_leaks_fail_by_type_and_nothing_else(
    scenario: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As a project would copy it (the page's command): no entry points, one file in tests/.
    (scenario.path / "tests").mkdir()
    shutil.copy(PLUGIN_FILE, scenario.path / "tests" / "pytest_fd_leaks.py")
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = scenario.runpytest_subprocess(
        "-p", "tests.pytest_fd_leaks", "-p", "no:cacheprovider", "test_leaks.py"
    )
    result.assert_outcomes(failed=3, passed=6)
    assert failed_tests(result) == set(MARKED_LEAKS)
    result.stdout.fnmatch_lines_random(
        [
            "FD leak check: test_leaks.py::test_socket_leak: socket +1 after teardown",
            "FD leak check: test_leaks.py::test_event_loop_leak: socket +2, eventpoll +1 *",
            "FD leak check: test_leaks.py::test_file_leak_in_fixture_teardown: file +1 *",
            "*fd *: file (*teardown.log)",
        ]
    )
    # The module-scoped listener opened during test_socket_leak's setup is not its leak.
    assert "tcp 127.0.0.1:* -> 0.0.0.0:0" not in result.stdout.str()


def test_fd_leaks_checks_unmarked_tests_and_summarises(scenario: pytest.Pytester) -> None:
    result = scenario.runpytest_subprocess(*QUIET, "-p", "no:xdist", "--fd-leaks")
    result.assert_outcomes(failed=4, passed=5)
    assert failed_tests(result) == {*MARKED_LEAKS, "test_pipe_leak_unmarked"}
    result.stdout.fnmatch_lines(
        [
            "*= FD leaks: 4 test(s) =*",
            "test_leaks.py::test_socket_leak: socket +1",
            "test_leaks.py::test_event_loop_leak: socket +2, eventpoll +1",
            "test_leaks.py::test_file_leak_in_fixture_teardown: file +1",
            "test_leaks.py::test_pipe_leak_unmarked: pipe +1",
        ]
    )


def normalise(transcript: str) -> str:
    """FD numbers, inodes and ports differ from run to run, library frames between versions."""
    text = re.sub(r"(fd |:\[|127\.0\.0\.1:)\d+", r"\1N", transcript)
    return re.sub(r"via .*", "via ...", text)


def test_fd_leaks_trace_shows_the_allocating_line(tmp_path: Path) -> None:
    text = transcript(tmp_path)
    assert f"allocated at test_leaks.py:{SOCKET_LINE}  conn = socket.create_connection(" in text
    assert re.search(r"allocated at test_leaks.py:\d+  held.append\(asyncio.new_event_loop", text)
    assert re.search(r"allocated at test_leaks.py:\d+  held.append\(\(tmp_path / ", text)
    assert re.search(r"fd \d+: subprocess.Popen\(.*\) stdout pipe", text)
    assert "= FD leaks: 4 test(s) =" in text
    # The transcript on the leaklab page is this run's, apart from numbers that vary.
    assert normalise(text) == normalise(EXAMPLE_OUTPUT.read_text())


def test_leaks_reach_the_controller_under_xdist(scenario: pytest.Pytester) -> None:
    result = scenario.runpytest_subprocess(*QUIET, "-n", "2", "--fd-leaks")
    result.assert_outcomes(failed=4, passed=5)
    assert failed_tests(result) == {*MARKED_LEAKS, "test_pipe_leak_unmarked"}
    result.stdout.fnmatch_lines_random(
        ["*= FD leaks: 4 test(s) =*", "test_leaks.py::test_pipe_leak_unmarked: pipe +1"]
    )


def test_marker_options_threads_and_tasks(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_options="""
        import asyncio
        import socket
        import threading

        import pytest

        held = []

        @pytest.mark.fd_canary(slack={"socket": 1})
        def test_one_socket_within_slack():
            held.append(socket.socket())

        @pytest.mark.fd_canary(keys=("eventpoll",))
        def test_socket_not_watched():
            held.append(socket.socket())

        @pytest.mark.fd_canary
        def test_thread_left_running():
            stop = threading.Event()
            threading.Thread(target=stop.wait, name="poller", daemon=True).start()
            held.append(stop)

        @pytest.mark.fd_canary(keys=("task",))
        def test_task_left_pending():
            loop = asyncio.new_event_loop()
            held.append((loop, loop.create_task(asyncio.sleep(3600), name="refresher")))
        """
    )
    result = pytester.runpytest_subprocess(*QUIET, "-p", "no:xdist")
    result.assert_outcomes(failed=2, passed=2)
    result.stdout.fnmatch_lines_random(
        [
            "test_options.py::test_one_socket_within_slack: socket +1 (within slack)",
            "FD leak check: test_options.py::test_thread_left_running: thread +1 after teardown",
            "*daemon thread started by the test still alive: poller",
            "FD leak check: test_options.py::test_task_left_pending: task +1 after teardown",
            "*asyncio task left pending: refresher running sleep() in an open loop",
        ]
    )


def test_trace_names_the_httpx_client_holding_a_socket(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_http="""
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import httpx
        import pytest

        clients = []

        class Ok(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        @pytest.fixture(scope="module")
        def url():
            server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            yield f"http://127.0.0.1:{server.server_address[1]}/"
            server.shutdown()
            server.server_close()

        @pytest.mark.fd_canary(keys=("socket",))
        def test_client_kept_open(url):
            client = httpx.Client()
            client.get(url)
            clients.append(client)

        @pytest.mark.fd_canary
        def test_client_closed(url):
            with httpx.Client() as client:
                client.get(url)
        """
    )
    result = pytester.runpytest_subprocess(*QUIET, "-p", "no:xdist", "--fd-leaks-trace")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "FD leak check: test_http.py::test_client_kept_open: socket +* after teardown",
            "*fd *: socket.socket (AF_INET, SOCK_STREAM), held by httpx.Client",
            "*allocated at test_http.py:*  client.get(url)",
        ]
    )


def test_a_misspelt_marker_option_stops_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.fd_canary(slack={"sockets": 1})
        def test_typo():
            pass
        """
    )
    result = pytester.runpytest_subprocess(*QUIET, "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_typo: fd_canary keys [[]'sockets'] are not FD types;*"])


def interpreters_with_pytest() -> list[str]:
    """Every installed CPython >= 3.11 that can import pytest on its own (no venv)."""
    from leaklab.interpreters import find_cpythons

    found = []
    for interp in find_cpythons():
        probe = subprocess.run(
            [interp.path, "-c", "import pytest"], capture_output=True, timeout=60, check=False
        )
        if probe.returncode == 0:
            found.append(interp.path)
    return found


def test_the_copied_file_works_on_every_cpython_with_pytest(tmp_path: Path) -> None:
    # Which asyncio registry holds the tasks differs by version (3.11: _all_tasks; 3.12 and
    # 3.13: _scheduled_tasks; 3.14: per-thread lists), so each interpreter runs the check.
    interpreters = interpreters_with_pytest()
    if not interpreters:
        pytest.skip("no installed CPython besides the venv's has pytest")
    (tmp_path / "tests").mkdir()
    shutil.copy(PLUGIN_FILE, tmp_path / "tests" / "pytest_fd_leaks.py")
    (tmp_path / "test_versions.py").write_text(
        "import asyncio\n"
        "import socket\n"
        "import pytest\n"
        "held = []\n"
        "@pytest.mark.fd_canary\n"
        "def test_socket():\n"
        "    held.append(socket.socket())\n"
        "@pytest.mark.fd_canary(keys=('task',))\n"
        "def test_task():\n"
        "    loop = asyncio.new_event_loop()\n"
        "    held.append((loop, loop.create_task(asyncio.sleep(3600), name='refresher')))\n"
        "@pytest.mark.fd_canary\n"
        "def test_clean():\n"
        "    asyncio.run(asyncio.sleep(0))\n"
    )
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    env.pop("PYTHONPATH", None)
    for python in interpreters:
        proc = subprocess.run(
            [python, "-m", "pytest", "-p", "tests.pytest_fd_leaks", "-p", "no:cacheprovider"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        out = proc.stdout
        assert "2 failed, 1 passed" in out, (python, out)
        assert "test_versions.py::test_socket: socket +1 after teardown" in out, python
        assert "asyncio task left pending: refresher running sleep() in an open loop" in out


def test_tcp_peer_addresses_are_decoded_and_ollama_named() -> None:
    # The format of /proc/net/tcp on a little-endian host, as the kernel writes it.
    if sys.byteorder == "little":
        assert _address("0100007F:2CAA") == "127.0.0.1:11434"
        assert _address("0000000000000000FFFF00000100007F:0050") == "127.0.0.1:80"
    ends = {"42": ("127.0.0.1:50000", "127.0.0.1:11434")}
    text = _describe_target("socket:[42]", ends)
    assert text == "socket (socket:[42]) tcp 127.0.0.1:50000 -> 127.0.0.1:11434 (Ollama's port)"


def test_the_plugin_file_needs_only_the_standard_library_and_pytest() -> None:
    tree = ast.parse(PLUGIN_FILE.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            imported.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.level:
            pytest.fail(f"relative import in {PLUGIN_FILE.name}: line {node.lineno}")
    outside = imported - set(sys.stdlib_module_names) - {"pytest", "_pytest"}
    assert not outside, f"{PLUGIN_FILE.name} imports {sorted(outside)}"


def test_categories_agree_with_the_kit_census() -> None:
    from leaklab.census import CATEGORIES, categorize

    assert pytest_fd_leaks.CATEGORIES == CATEGORIES
    targets = [
        "socket:[1]",
        "pipe:[2]",
        "anon_inode:[eventpoll]",
        "anon_inode:[pidfd]",
        "pidfd:[3]",
        "anon_inode:inotify",
        "anon_inode:[io_uring]",
        "net:[4]",
        "/tmp/x.db",
        "/tmp/x.db-wal",
        "/tmp/x.db-shm",
        "/dev/null",
        "/dev/shm/buf",
        "/var/log/app.log (deleted)",
    ]
    assert [pytest_fd_leaks.categorize(t) for t in targets] == [categorize(t) for t in targets]


LDR_EXAMPLE = PLUGIN_FILE.parent / "examples" / "test_ldr_canaries.py"


def test_the_ldr_shaped_example_passes_and_fails_without_its_close(
    pytester: pytest.Pytester,
) -> None:
    source = LDR_EXAMPLE.read_text()
    pytester.makepyfile(test_ldr_canaries=source)
    leaky = source.replace("await aclose_base_llm(llm)", "pass").replace(
        "close_base_llm(llm)\n", "pass\n"
    )
    assert leaky.count("pass") == source.count("pass") + 2, "the example's closes moved"
    pytester.makepyfile(test_ldr_canaries_leaky=leaky)
    result = pytester.runpytest_subprocess(*QUIET, "-p", "no:xdist")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines_random(
        [
            "FAILED test_ldr_canaries_leaky.py::test_close_inside_a_running_loop_*",
            "FAILED test_ldr_canaries_leaky.py::test_repeated_close_cycles_stay_flat*",
            "FD leak check: test_ldr_canaries_leaky.py::test_close_inside_*: socket +*",
        ]
    )
