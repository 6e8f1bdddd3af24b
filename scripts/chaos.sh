#!/usr/bin/env bash
# Chaos run of the scheduler: builds (debug) cqlnode, worker and chaos, then runs chaos, which
# starts a standalone cqlnode and 3 workers on loopback behind a TCP proxy, submits jobs, injects
# faults (worker SIGKILL/SIGSTOP, node kill -9, proxy cuts and delays) and checks the histories.
#
# usage: scripts/chaos.sh [--jobs N] [--duration S] [--kill-rate R] [--stop-rate R]
#                         [--node-restarts N] [--proxy-faults R] [--seed N] [--work-dir DIR]
#        (rates are per minute; scripts/chaos.sh --help lists every flag)
# environment: CHAOS_SCRATCH_PATH  swift build scratch path (default .build)
# exit status: 0 when every check passed; the last line of output is `N passed, N failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=(--scratch-path "${CHAOS_SCRATCH_PATH:-.build}")
for product in cqlnode worker chaos; do
    swift build "${scratch[@]}" --product "$product" >&2
done
exec "$(swift build "${scratch[@]}" --show-bin-path)/chaos" "$@"
