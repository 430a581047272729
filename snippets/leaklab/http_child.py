"""A keep-alive HTTP server in a child process, for measuring the client side of connections.

An in-process server would put the accepted end of every connection into the measured
process's FD table too and double every count; in a child process, every TCP socket in the
notebook's census is a client's. The server speaks HTTP/1.1 with ``Content-Length``, so
clients keep their connection in their pools. It exits when its stdin closes (also when the
parent dies and the pipe goes with it), and :meth:`ChildHttpServer.close` reaps it.
"""

from __future__ import annotations

import select
import subprocess
import sys
from types import TracebackType
from typing import Self

from .children import die_with_parent, stop_child

__all__ = ["ChildHttpServer"]

_SERVER = r"""
import http.server, os, sys, threading
BODY = b"x" * int(sys.argv[1])
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
    def handle(self):
        try:
            super().handle()
        except OSError:  # a client that hangs up mid-read is not an error here
            pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
srv.serve_forever()
"""


class ChildHttpServer:
    """Answers every ``GET`` with 200 and ``body_size`` bytes, from a child process.

    ``url`` is ``http://127.0.0.1:PORT/``; ``pid`` is the child's. Starting waits at most
    ``timeout`` seconds for the child to report its port.
    """

    def __init__(self, body_size: int = 2, timeout: float = 20.0) -> None:
        if body_size < 0:
            raise ValueError(f"body_size must be >= 0, got {body_size}")
        self._child = subprocess.Popen(
            [sys.executable, "-c", _SERVER, str(body_size)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            preexec_fn=die_with_parent,
        )
        assert self._child.stdout is not None
        if not select.select([self._child.stdout], [], [], timeout)[0]:
            self.close()
            raise TimeoutError(f"the HTTP server did not report its port within {timeout} s")
        port = self._child.stdout.readline().strip()
        if not port.isdigit():
            self.close()
            raise RuntimeError("the HTTP server did not start")
        self.url = f"http://127.0.0.1:{port}/"
        self.pid = self._child.pid

    def close(self) -> None:
        """Close the child's stdin (it exits), reap it with a bound, close its pipe."""
        stop_child(self._child, 10.0)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
