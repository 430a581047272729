#!/usr/bin/env bash
# Inside-container variant of host-snapshot.sh, for hosts where you cannot
# get root. `docker exec --user 0` gives a root shell *inside* the container,
# which passes the UID check that stops the unprivileged exec shell from
# reading PID 1's FD links.
#
#   ./container-snapshot.sh ldr                 # print the command, do nothing
#   ./container-snapshot.sh --run ldr           # run host-snapshot.sh on PID 1
#   ./container-snapshot.sh --run --pidfds ldr  # run pidfd-targets.sh on PID 1
#
# The script body is streamed over stdin (`bash -s`), so nothing has to be
# copied into the image. Needs bash and GNU find in the image (Debian-based
# python images have both).
set -euo pipefail

prog=${0##*/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() {
    printf '%s: %s\n' "$prog" "$1" >&2
    exit 2
}

run=false script=host-snapshot.sh
while [[ $# -gt 0 ]]; do
    case $1 in
    --run) run=true ;;
    --pidfds) script=pidfd-targets.sh ;;
    -h | --help)
        echo "usage: $prog [--run] [--pidfds] CONTAINER"
        exit 0
        ;;
    -*) fail "unknown option '$1'" ;;
    *) break ;;
    esac
    shift
done
[[ $# -eq 1 ]] || fail "usage: $prog [--run] [--pidfds] CONTAINER"
name=$1
# Docker names and IDs: letters, digits, '_', '.', '-', starting alphanumeric.
[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9_.-]*$ ]] || fail "not a container name or ID: '$name'"

cmd=(docker exec -i --user 0 "$name" bash -s -- 1)
if ! $run; then
    printf '%q ' "${cmd[@]}"
    printf '< %q\n' "$here/$script"
    exit 0
fi
command -v docker >/dev/null 2>&1 || fail "docker not found"
"${cmd[@]}" <"$here/$script"
