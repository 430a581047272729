"""Write the generated snapshot fixtures of tests/test_cli_*.py.

    .venv/bin/python tests/data/make_fixtures.py            # rewrite them
    .venv/bin/python tests/data/make_fixtures.py --check    # exit 1 if incident-ls.txt differs

``incident-ls.txt`` has the shape of LDR's Wave 7 incident (929 eventpoll, 64 pidfd and 3
sockets of 1024 FDs) as a user would paste ``ls -l /proc/1/fd``; it is generated with a fixed
seed, so ``--check`` can prove the committed file is this script's output. ``host-snapshot.txt``
is what ``snippets/playbook/host-snapshot.sh`` printed for a live process holding the known FD
mix of :mod:`leaklab.fdmix` (its PID and date differ on every run, so it is not checked).
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent

#: The incident's FD mix: 929 + 64 + 3 of 1024, the other 28 an ordinary app's FDs.
INCIDENT = {
    "anon_inode:[eventpoll]": 929,
    "anon_inode:[pidfd]": 64,
    "socket:[{n}]": 3,
    "pipe:[{n}]": 10,
    "/app/logs/ldr.log": 4,
    "/usr/local/lib/python3.14/site-packages/certifi/cacert.pem": 2,
    "/data/encrypted_databases/user_{h}.db": 3,
    "/data/encrypted_databases/user_{h}.db-wal": 3,
    "/data/encrypted_databases/user_{h}.db-shm": 1,
    "anon_inode:[eventfd]": 2,
}
INCIDENT_COUNTS = {
    "eventpoll": 929,
    "pidfd": 64,
    "socket": 3,
    "pipe": 10,
    "file": 6,
    "sqlite_db": 3,
    "sqlite_wal": 3,
    "sqlite_shm": 1,
    "eventfd": 2,
    "dev": 3,
}


def incident_text() -> str:
    rng = random.Random(7)
    targets = [t for t, n in INCIDENT.items() for _ in range(n)]
    rng.shuffle(targets)
    targets = ["/dev/null"] * 3 + targets  # stdin, stdout, stderr
    assert len(targets) == 1024 == sum(INCIDENT_COUNTS.values())
    lines = ["ldruser@ldr:/app$ exit", "root@ldr:/app# ls -l /proc/1/fd", "total 0"]
    for fd, target in enumerate(targets):
        target = target.format(n=rng.randrange(10**6, 10**7), h=rng.randrange(16**8))
        mode = "lrwx------" if fd > 2 else "lr-x------"
        lines.append(f"{mode} 1 ldruser ldruser 64 May 16 21:04 {fd} -> {target}")
    lines.append("root@ldr:/app#")
    return "\n".join(lines) + "\n"


def host_snapshot_text() -> str:
    sys.path.insert(0, str(ROOT / "snippets"))
    from leaklab.fdmix import FdMix, spawn

    with tempfile.TemporaryDirectory() as tmp, spawn(FdMix(sqlite=f"{tmp}/app.db")) as mix:
        script = ROOT / "snippets" / "playbook" / "host-snapshot.sh"
        out = subprocess.run(
            ["bash", str(script), str(mix.info["pid"])],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
    # Paste noise around the report, as it arrives in an issue.
    return f"$ sudo ./host-snapshot.sh {mix.info['pid']} | tee ldr-fd.txt\n{out}$\n"


def main() -> int:
    incident = HERE / "incident-ls.txt"
    if "--check" in sys.argv:
        return 0 if incident.read_text(encoding="utf-8") == incident_text() else 1
    incident.write_text(incident_text(), encoding="utf-8")
    (HERE / "host-snapshot.txt").write_text(host_snapshot_text(), encoding="utf-8")
    print(f"wrote {incident.name} and host-snapshot.txt in {HERE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
