#!/usr/bin/env bash
# For every pidfd a process holds, show which process it points at.
#
# The kernel writes the target into /proc/PID/fdinfo/FD as "Pid:":
#   > 0  the target is alive (or a zombie not yet reaped)
#   -1   the target exited and was reaped: the pidfd is an ORPHAN
#    0   the target lives outside the PID namespace of this /proc
#
#   ./pidfd-targets.sh            # PID 1 (inside the container, as root)
#   sudo ./pidfd-targets.sh 12345 # a host PID
set -euo pipefail

prog=${0##*/}
fail() {
    printf '%s: %s\n' "$prog" "$1" >&2
    exit 2
}

[[ $# -le 1 ]] || fail "usage: $prog [PID]"
pid=${1:-1}
[[ $pid =~ ^[1-9][0-9]{0,9}$ ]] || fail "PID must be a positive integer, got '$pid'"
[[ -d /proc/$pid/fd ]] || fail "no process with PID $pid"
[[ -r /proc/$pid/fd && -x /proc/$pid/fd ]] ||
    fail "cannot read /proc/$pid/fd (run as root, or as the process owner)"

alive=0 orphan=0 other_ns=0
for fd_path in "/proc/$pid/fd"/*; do
    fd=${fd_path##*/}
    link=$(readlink "$fd_path" 2>/dev/null) || continue
    [[ $link == *pidfd* ]] || continue
    target=$(awk '$1 == "Pid:" {print $2; exit}' "/proc/$pid/fdinfo/$fd" 2>/dev/null) || target=''
    [[ -n $target ]] || continue # closed while we were reading
    if [[ $target =~ ^[1-9][0-9]*$ ]]; then
        cmd=$(tr '\0' ' ' <"/proc/$target/cmdline" 2>/dev/null | cut -c1-80) || cmd=''
        echo "fd=$fd alive pid=$target : ${cmd:-<no cmdline: zombie or kernel thread>}"
        alive=$((alive + 1))
    elif [[ $target == 0 ]]; then
        echo "fd=$fd OTHER-NAMESPACE (target not visible from this /proc)"
        other_ns=$((other_ns + 1))
    else # -1
        echo "fd=$fd ORPHAN (child exited; pidfd not closed)"
        orphan=$((orphan + 1))
    fi
done
echo "pidfds: $((alive + orphan + other_ns)) (alive $alive, orphan $orphan, other namespace $other_ns)"
