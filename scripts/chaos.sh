#!/usr/bin/env bash
# Chaos run of the scheduler: builds (debug) cqlnode, worker and chaos, then runs chaos, which
# starts a standalone cqlnode and 3 workers on loopback behind a TCP proxy, submits jobs, injects
# faults (worker SIGKILL/SIGSTOP, node kill -9, proxy cuts and delays, late effect deliveries) and
# checks the histories, lock hand-overs judged from the node's LWT audit log.
#
# usage: scripts/chaos.sh [--jobs N] [--duration S] [--kill-rate R] [--stop-rate R]
#                         [--node-restarts N] [--proxy-faults R] [--faults-each N] [--seed N]
#                         [--work-dir DIR]
#        (rates are per minute; scripts/chaos.sh --help also lists every flag of an already built chaos)
#        scripts/chaos.sh --short [FLAGS]   the CI run: about 1,000 jobs, at least 2 faults of each
#                                           kind, killed after CHAOS_TIMEOUT seconds (default 330)
# environment: CHAOS_SCRATCH_PATH  swift build scratch path (default .build)
#              CHAOS_TIMEOUT       seconds after which the run and everything it started is killed
# exit status: 0 when every check passed; the last line of output is `N passed, N failed`.
# Everything the run starts lives in its own process group, killed when this script exits.
usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p;}' "$0"; }
for arg in "$@"; do
    case "$arg" in
        -h|--help)
            usage
            # The binary's own flags, without building it (help has no side effects).
            built="$(dirname "$0")/../${CHAOS_SCRATCH_PATH:-.build}/debug/chaos"
            if [[ -x "$built" ]]; then
                printf '\nflags of %s:\n' "$built"; "$built" --help
            else
                printf '\n(swift build --product chaos, then --help lists every flag of the chaos binary)\n'
            fi
            exit 0 ;;
    esac
done
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=(--scratch-path "${CHAOS_SCRATCH_PATH:-.build}")
args=("$@")
limit="${CHAOS_TIMEOUT:-}"
if [[ "${1:-}" == "--short" ]]; then
    args=(--jobs 1000 --duration 120 --drain-timeout 100 --faults-each 2 --node-restarts 2
          --kill-rate 0 --stop-rate 0 --proxy-faults 0 --late-effect-seconds 10 "${@:2}")
    limit="${limit:-330}"
fi
for product in cqlnode worker chaos; do
    swift build "${scratch[@]}" --product "$product" >&2
done
bin="$(swift build "${scratch[@]}" --show-bin-path)"

timeout_cmd=()
[[ -n "$limit" ]] && timeout_cmd=(timeout -k 10 "$limit")
# chaos runs in a process group of its own; each node and worker leads yet another
# group, so chaos lists their pids in CHAOS_PID_FILE and the cleanup kills those still running the
# binary listed (a pid reused since is left alone), also when chaos died or the timeout killed it.
pid_file="$(mktemp "${TMPDIR:-/tmp}/chaos-pids.XXXXXX")"
CHAOS_PID_FILE="$pid_file" setsid "${timeout_cmd[@]}" "$bin/chaos" "${args[@]}" &
group=$!
cleanup() {
    kill -TERM -- "-$group" 2>/dev/null || true
    local pid exe
    while read -r pid exe; do
        [[ "$(readlink "/proc/$pid/exe" 2>/dev/null)" == "$exe" ]] && kill -KILL "$pid" 2>/dev/null || true
    done <"$pid_file"
    sleep 1
    kill -KILL -- "-$group" 2>/dev/null || true
    rm -f "$pid_file"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
status=0
wait "$group" || status=$?
if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "chaos: killed after ${limit} s"
    echo "0 passed, 1 failed"
fi
exit "$status"
