#!/usr/bin/env bash
# Serve the site at once; execute the notebooks in a background build and let live
# reload swap in their outputs when it finishes (see hooks/notebook_cache.py).
# Stopped in any way, it stops the server, the background build and every process they
# started, and removes its temporary folder: /tmp is left as it was found.
set -u
set -m  # the background build gets its own process group, so the trap can stop all of it
HOST=${1:-127.0.0.1}
PORT=${2:-8000}
cd "$(dirname "$0")/.." || exit 1
BIN=.venv/bin
export NO_MKDOCS_2_WARNING=1
# A busy port is one line, before anything is built.
if ! "$BIN/python" scripts/port_free.py "$HOST" "$PORT"; then
  echo "make serve: $HOST:$PORT is already in use; choose another port, e.g. make serve PORT=$((PORT + 1))" >&2
  exit 2
fi
# mkdocs' serve folder and the kernels' connection files go here, not to /tmp.
mkdir -p .cache/tmp
run_tmp=$(mktemp -d "$PWD/.cache/tmp/serve.XXXXXX") || exit 1
export TMPDIR=$run_tmp
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
# Both jobs run in process groups of their own (set -m). The server gets SIGINT first, as
# Ctrl-C would give it, so it removes its folder; then each group is stopped whole. Kernels
# run in sessions of their own, and leaklab.kernel_guard ends them and their children as
# soon as the build that started them is gone.
stop_group() {
  kill "-$1" -- "-$2" 2>/dev/null || return 0
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 -- "-$2" 2>/dev/null || return 0
    sleep 0.5
  done
  kill -KILL -- "-$2" 2>/dev/null
}
cleanup() {
  trap - INT TERM EXIT
  stop_group INT "$serve_pid"
  [ -n "$warm_pid" ] && stop_group TERM "$warm_pid"
  sleep 1  # kernels notice their parent is gone and end with their children
  rm -rf "$run_tmp"
}
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap cleanup EXIT
wait "$serve_pid"
