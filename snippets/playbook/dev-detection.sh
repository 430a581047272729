#!/usr/bin/env bash
# Make Python report unclosed resources while the tests run.
# Each block is one command line; run the one you need.
set -euo pipefail
[[ ${1:-} == --all ]] || {
    echo "${0##*/}: copy one command from this file, or pass --all to run them in turn" >&2
    exit 0
}

# --8<-- [start:asyncio-debug]
# asyncio debug mode + show ResourceWarning: unclosed transports, loops and
# clients are reported when the garbage collector finalizes them.
PYTHONASYNCIODEBUG=1 python -W default::ResourceWarning -m pytest tests/
# --8<-- [end:asyncio-debug]

# --8<-- [start:strict-subset]
# Fail on any ResourceWarning, for a targeted subset of tests only.
python -W error::ResourceWarning -m pytest tests/utilities/
# --8<-- [end:strict-subset]

# --8<-- [start:dev-mode]
# Development mode: ResourceWarning shown, asyncio debug on, extra checks.
# Fine locally; too slow for production.
python -X dev -m pytest tests/
# --8<-- [end:dev-mode]
