"""Exit 0 if HOST:PORT can be listened on now, 1 if not: `make serve` checks before building."""

from __future__ import annotations

import socket
import sys


def port_free(host: str, port: int) -> bool:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as sock:
        # The same option the server sets, so a port in TIME_WAIT is not taken for busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError:
            return False
    return True


if __name__ == "__main__":
    host, port = sys.argv[1], sys.argv[2]
    sys.exit(0 if port.isdigit() and port_free(host, int(port)) else 1)
