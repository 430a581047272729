"""``leaklab``: the debugging playbook as a command.

Exit status: 0 done, 1 leak suspected (``triage``, ``watch``, ``ldr-check``), 2 bad input or the
command could not run. Every failure is one line on stderr, never a traceback (set
``LEAKLAB_DEBUG=1`` to get one for a bug report). Nothing is ever written to the process or to
the files read.

Only ``argparse`` is imported at start-up; each command imports what it needs, so
``leaklab census PID --json`` (the path that has to beat the shell pipeline) loads the census
module and ``json`` and nothing else: no psutil, matplotlib or httpx.
"""

from __future__ import annotations

import argparse
import os
import sys

from .termsafe import printable

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up is timed)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

    from .census import Census

__all__ = ["main"]

PROG = "leaklab"
EXIT_OK, EXIT_LEAK, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line input found after parsing (one line, exit 2)."""


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter at the terminal's width, found without importing ``shutil``.

    argparse asks ``shutil.get_terminal_size()`` for the width whenever it makes a formatter,
    which it does on every run (to name the subcommands), and ``shutil`` brings ``bz2`` and
    ``lzma`` with it: about 2 ms of a command that is timed against a shell pipeline. This is
    the same lookup: ``$COLUMNS``, else the terminal on stdout, else 80; minus 2, as argparse.
    """
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return argparse.HelpFormatter(prog, width=max(columns, 11) - 2)


class _Parser(argparse.ArgumentParser):
    """argparse prints usage plus the error; one line is easier to read in an incident."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _help_formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: {message} (see `{self.prog} -h`)\n")


def pid_arg(text: str) -> int:
    """A PID must be a positive decimal integer; anything else is refused before use."""
    if not (text.isascii() and text.isdigit() and not text.startswith("0") and len(text) <= 10):
        raise argparse.ArgumentTypeError(f"PID must be a positive integer, got {text!r}")
    return int(text)


def _positive(kind: type) -> object:
    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
        if not 0 < value < float("inf"):  # also refuses nan
            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="FD census and triage for a live process or a saved snapshot.",
        epilog="Exit status: 0 done, 1 leak suspected (triage, watch), 2 bad input.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("census", help="FD histogram by category")
    p.add_argument("pid", nargs="?", type=pid_arg, help="process to read from /proc")
    p.add_argument("--from", dest="source", metavar="FILE", help="saved snapshot, - for stdin")
    p.add_argument("--json", action="store_true", help="machine-readable census")

    p = sub.add_parser("triage", help="dominant FD types and their lookup-table rows")
    p.add_argument("pid", nargs="?", type=pid_arg, help="process to read from /proc")
    p.add_argument("--from", dest="source", metavar="FILE", help="saved snapshot, - for stdin")
    p.add_argument(
        "--site-root",
        metavar="URL",
        help="handbook URL the links start with (default: $HANDBOOK_SITE_URL, else the local "
        "`make serve` address http://127.0.0.1:8000/)",
    )
    p.add_argument("--json", action="store_true", help="machine-readable triage")

    p = sub.add_parser("pidfds", help="every pidfd with the process it points at")
    p.add_argument("pid", type=pid_arg)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("diff", help="per-category change between two snapshots or PIDs")
    p.add_argument("a", metavar="A", help="snapshot file, - for stdin, or PID")
    p.add_argument("b", metavar="B", help="snapshot file, - for stdin, or PID")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("watch", help="sample a process and report growth per hour")
    p.add_argument("pid", type=pid_arg)
    p.add_argument("--every", type=_positive(float), default=10.0, metavar="S", help="seconds")
    p.add_argument("--samples", type=_positive(int), default=6, metavar="N", help="at least 2")
    p.add_argument("--plot", metavar="FILE.png", help="draw the growth (.png, .svg or .pdf)")
    p.add_argument("--force", action="store_true", help="let --plot replace an existing file")

    p = sub.add_parser("ldr-check", help="measure LDR's cleanup code: a release or a source tree")
    p.add_argument("target", metavar="TARGET", help="release (1.10.7) or path to LDR source")
    p.add_argument("--json", action="store_true", help="machine-readable results")
    p.add_argument("--check", action="append", metavar="ID", help="run only this check")
    p.add_argument("--fresh", action="store_true", help="measure a release again, not cached")
    return parser


def _one_source(args: argparse.Namespace) -> Census:
    """The census a command works on: a live PID or a snapshot, exactly one of them."""
    if (args.pid is None) == (args.source is None):
        raise UsageError("give either a PID or --from FILE (use - for stdin), not both")
    if args.source is not None:
        from .snapshot_parse import read_snapshot

        return read_snapshot(args.source)
    from .census import census

    return census(args.pid)


def _load(spec: str) -> Census:
    """A ``diff`` operand: an existing file, ``-``, or else a PID; never silently both."""
    try:
        pid: int | None = pid_arg(spec)
    except argparse.ArgumentTypeError:
        pid = None
    if pid is not None and os.path.lexists(spec):
        raise UsageError(f"{spec} is both a file here and a PID: write ./{spec} for the file")
    if pid is None:
        if spec != "-" and not os.path.lexists(spec):
            raise UsageError(f"{printable(repr(spec))} is neither a snapshot file nor a PID")
        from .snapshot_parse import read_snapshot

        return read_snapshot(spec)
    from .census import census

    return census(pid)


def cmd_census(args: argparse.Namespace) -> int:
    c = _one_source(args)
    if args.json:
        sys.stdout.write(c.to_json() + "\n")
    else:
        from .report import census_table

        sys.stdout.write(census_table(c))
    return EXIT_OK


def cmd_triage(args: argparse.Namespace) -> int:
    from .site import site_url
    from .triage import render_text, to_dict, triage

    root = args.site_root or site_url()
    t = triage(_one_source(args))
    if args.json:
        import json

        sys.stdout.write(json.dumps(to_dict(t, root), indent=2) + "\n")
    else:
        sys.stdout.write(render_text(t, root))
    return EXIT_LEAK if t.leak_suspected else EXIT_OK


def cmd_pidfds(args: argparse.Namespace) -> int:
    from . import pidfds

    targets = pidfds.pidfd_targets(args.pid)
    if args.json:
        import json

        sys.stdout.write(json.dumps(pidfds.to_dict(args.pid, targets), indent=2) + "\n")
    else:
        sys.stdout.write(pidfds.render_text(args.pid, targets))
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    if args.a == "-" and args.b == "-":
        raise UsageError("only one of A and B can be - (stdin)")
    a, b = _load(args.a), _load(args.b)
    from .report import comparable_keys, diff_table, hidden_keys

    if a.pid and b.pid and a.pid != b.pid:
        sys.stderr.write(
            f"{PROG}: warning: A is PID {a.pid} and B is PID {b.pid}: two different processes\n"
        )
    if args.json:
        import json

        change = {k: b[k] - a[k] for k in comparable_keys(a, b) if b[k] != a[k]}
        out = {
            "a": a.to_dict(),
            "b": b.to_dict(),
            "change": change,
            "total": b.total - a.total,
            "not_compared": hidden_keys(a, b),
        }
        sys.stdout.write(json.dumps(out) + "\n")
    else:
        sys.stdout.write(diff_table(a, b, args.a, args.b))
    return EXIT_OK


def cmd_watch(args: argparse.Namespace) -> int:
    from . import watch

    if args.samples < 2:
        raise UsageError("--samples must be at least 2: growth needs two points")
    if args.plot is not None:
        try:
            watch.check_plot_path(args.plot, args.force)  # before an hour of sampling, not after
        except watch.PlotPathError as exc:
            raise UsageError(str(exc)) from None
    w = watch.sample(args.pid, args.every, args.samples)
    sys.stdout.write(watch.render_text(w))
    sys.stdout.flush()
    if len(w.censuses) < 2:
        if w.interrupted:
            raise KeyboardInterrupt
        raise UsageError(f"PID {args.pid} went away after 1 sample: no growth to judge")
    status = EXIT_LEAK if w.suspects else EXIT_OK
    if args.plot is not None:
        try:
            written = watch.plot(w, args.plot, args.force)
        except (OSError, watch.PlotPathError) as exc:
            reason = getattr(exc, "strerror", None) or exc
            _fail(f"could not write the plot {printable(args.plot)}: {reason}")
            status = EXIT_LEAK if w.suspects else EXIT_BAD_INPUT  # a leak is never hidden
        else:
            sys.stdout.write(f"plot written to {printable(written)}\n")
    if w.interrupted:
        raise KeyboardInterrupt
    return status


def cmd_ldr_check(args: argparse.Namespace) -> int:
    from .ldr_check import command

    return command(args.target, args.json, args.check, args.fresh)


COMMANDS = {
    "census": cmd_census,
    "triage": cmd_triage,
    "pidfds": cmd_pidfds,
    "diff": cmd_diff,
    "watch": cmd_watch,
    "ldr-check": cmd_ldr_check,
}


def _fail(message: str) -> int:
    if sys.stderr is not None:
        sys.stderr.write(f"{PROG}: {printable(' '.join(str(message).split()))}\n")
    return EXIT_BAD_INPUT


def _denied(exc: PermissionError) -> str:
    advice = "" if os.geteuid() == 0 else " (rerun as root, or as its owner)"
    return f"{exc.filename}: permission denied{advice}"


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, dispatch, and turn every expected failure into one line and exit status 2."""
    # A one-shot process: the cyclic collector would only rescan the 20k FdEntry tuples of a
    # large census several times before exit (about 5% of `census PID --json`).
    import gc

    gc.disable()
    if sys.stdout is None:  # started with stdout closed (`>&-`): no place for the result
        return _fail("stdout is closed: nothing to write the result to")
    try:
        args = build_parser().parse_args(argv)
    except KeyboardInterrupt:
        return 130
    from .census import CensusError

    try:
        return COMMANDS[args.command](args)
    except (UsageError, CensusError) as exc:
        return _fail(str(exc))
    except BrokenPipeError:
        # The reader (`| head`) went away: not an error worth a message.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except IsADirectoryError as exc:
        return _fail(f"{exc.filename}: is a directory, not a snapshot file")
    except FileNotFoundError as exc:
        return _fail(f"{exc.filename}: no such file")
    except PermissionError as exc:
        return _fail(_denied(exc))
    except OSError as exc:
        return _fail(f"{getattr(exc, 'filename', None) or 'I/O'}: {exc.strerror or exc}")
    except KeyboardInterrupt:
        if sys.stderr is not None:
            sys.stderr.write(f"{PROG}: interrupted\n")
        return 130
    except Exception as exc:
        # Matched by name: importing snapshot_parse up front would slow the PID path.
        if type(exc).__name__ == "SnapshotError":
            return _fail(str(exc))
        if os.environ.get("LEAKLAB_DEBUG"):
            raise
        return _fail(f"internal error ({type(exc).__name__}: {exc}); LEAKLAB_DEBUG=1 shows more")


if __name__ == "__main__":
    raise SystemExit(main())
