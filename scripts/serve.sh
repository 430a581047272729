#!/usr/bin/env bash
# Serve the site at once; execute the notebooks in a background build and let live
# reload swap in their outputs when it finishes (see hooks/notebook_cache.py).
set -u
set -m  # the background build gets its own process group, so the trap can stop all of it
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
cd "$(dirname "$0")/.." || exit 1
BIN=.venv/bin
export NO_MKDOCS_2_WARNING=1
ready=$("$BIN/python" hooks/notebook_cache.py --ready-file)
mkdir -p .cache/ready
warm_pid=
if [ ! -f "$ready" ]; then
  echo "Notebook outputs are not cached for this code yet: executing them in the background;"
  echo "the pages reload with outputs when that finishes (log: .cache/warm.log)."
  (
    if HANDBOOK_EXECUTE=true "$BIN/mkdocs" build --strict -d "$PWD/.cache/warm-site" >.cache/warm.log 2>&1; then
      touch "$ready" && echo "Notebook outputs ready."
    else
      echo "Executing the notebooks failed; see .cache/warm.log or run make build." >&2
    fi
  ) &
  warm_pid=$!
fi
HANDBOOK_SERVE_WARMING=1 "$BIN/mkdocs" serve --livereload -a "$HOST:$PORT" -w .cache/ready &
serve_pid=$!
# Both jobs run in process groups of their own (set -m): stop each group whole,
# whether this script is interrupted (Ctrl-C, kill) or the server exits by itself.
cleanup() {
  kill -- "-$serve_pid" 2>/dev/null
  [ -n "$warm_pid" ] && kill -- "-$warm_pid" 2>/dev/null
}
trap 'cleanup; exit 130' INT TERM
trap cleanup EXIT
wait "$serve_pid"
