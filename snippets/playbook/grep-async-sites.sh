#!/usr/bin/env bash
# List the call sites that can create the FD types asyncio leaks, so each one
# can be checked for an explicit close on every path.
#
#   ./grep-async-sites.sh [SOURCE_DIR]     # default: src/
set -euo pipefail

src=${1:-src/}
[[ -d $src ]] || {
    echo "${0##*/}: no such directory: $src" >&2
    exit 2
}

echo '=== eventpoll: event loops and async HTTP clients ==='
grep -rnE --include='*.py' \
    'asyncio\.create_subprocess|httpx\.AsyncClient|_async_client|\.ainvoke\(|new_event_loop' \
    "$src" || echo '(none)'

echo '=== pidfd: child processes watched by asyncio or multiprocessing ==='
grep -rnE --include='*.py' \
    'asyncio\.create_subprocess|multiprocessing\.Process|ProcessPoolExecutor|sync_playwright|async_playwright' \
    "$src" || echo '(none)'
