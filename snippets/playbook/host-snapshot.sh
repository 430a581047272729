#!/usr/bin/env bash
# FD snapshot of a live process, read straight from /proc.
#
# Run it on the Docker host (no `docker exec`, so it still works when the
# container has no FDs left to fork a shell with):
#
#   sudo ./host-snapshot.sh --container ldr | tee "ldr-fd-$(date +%Y%m%dT%H%M%S).txt"
#   sudo ./host-snapshot.sh 12345            # any host PID
#
# Output sections: Total FDs, FD-type histogram (digits collapsed),
# Counts by category.  TOP=N changes the histogram length (default 30).
set -euo pipefail

prog=${0##*/}
usage="usage: $prog PID | $prog --container NAME"

fail() {
    printf '%s: %s\n' "$prog" "$1" >&2
    exit 2
}

is_pid() { [[ $1 =~ ^[1-9][0-9]{0,9}$ ]]; }

case "${1:-}" in
-h | --help)
    printf '%s\n' "$usage"
    exit 0
    ;;
-c | --container)
    [[ $# -eq 2 ]] || fail "$usage"
    command -v docker >/dev/null 2>&1 || fail "docker not found; pass the host PID instead"
    pid=$(docker inspect --format '{{.State.Pid}}' -- "$2" 2>/dev/null) ||
        fail "docker inspect found no container named '$2'"
    [[ $pid != 0 ]] || fail "container '$2' is not running (State.Pid is 0)"
    ;;
*)
    [[ $# -eq 1 ]] || fail "$usage"
    pid=$1
    ;;
esac

is_pid "$pid" || fail "PID must be a positive integer, got '$pid'"
fd_dir=/proc/$pid/fd
[[ -d $fd_dir ]] || fail "no process with PID $pid"

[[ -r $fd_dir && -x $fd_dir ]] || fail "cannot read $fd_dir (run as root, or as the process owner)"

# One pass over the FD table, one symlink target per line. FDs closed while
# we read are skipped; find's complaints about them are not errors here.
targets=$(find "$fd_dir" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null || true)
if [[ -n $targets && -z ${targets//$'\n'/} ]]; then
    fail "FD targets of PID $pid are unreadable (run as root, or as the process owner)"
fi

comm=$(cat "/proc/$pid/comm" 2>/dev/null || echo '?')
limit=$(awk '/^Max open files/ {print "soft=" $4 " hard=" $5}' "/proc/$pid/limits" 2>/dev/null || true)
printf '# PID %s (%s), max open files %s, %s\n' "$pid" "$comm" "${limit:-unknown}" \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)"

echo '=== Total FDs ==='
printf '%s' "$targets" | awk 'END {print NR}'

echo '=== FD-type histogram (digits collapsed) ==='
printf '%s\n' "$targets" |
    sed -E -e '/^$/d' -e 's/\[[[:digit:]]+\]/[N]/g' -e 's/[[:digit:]]{4,}/NUM/g' |
    awk '{ n[$0]++ } END { for (t in n) printf "%7d %s\n", n[t], t }' |
    sort -k1,1nr -k2 | awk -v top="${TOP:-30}" 'NR <= top'

echo '=== Counts by category ==='
printf '%s\n' "$targets" | awk '
    /^socket:/    { socket++ }
    /^pipe:/      { pipe++ }
    /eventpoll/   { epoll++ }
    /pidfd/       { pidfd++ }
    /-wal$/       { wal++ }
    /-shm$/       { shm++ }
    /\.db$/       { db++ }
    END {
        printf "socket:     %d\n", socket
        printf "pipe:       %d\n", pipe
        printf "eventpoll:  %d\n", epoll
        printf "pidfd:      %d\n", pidfd
        printf "WAL files:  %d\n", wal
        printf "SHM files:  %d\n", shm
        printf ".db files:  %d\n", db
    }'
