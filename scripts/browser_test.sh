#!/usr/bin/env bash
# Browser tests of the web console: starts two debug-built workers on 127.0.0.1 with free ports
# (the first on its embedded node, the second on that node, both with one API token and 8 shards),
# then drives headless Chromium through /ui with Selenium (scripts/browser/console_test.py): sign in
# and out, create a job through the form after a field error, find it, watch it succeed, cancel a
# running sleep job, pause and resume, the XSS payload shown as text, and the cluster page whose
# split changes when the second worker stops. Both workers are stopped on exit, also on failure.
#
# usage: scripts/browser_test.sh [--only NAME] [--artifacts DIR]
#        scripts/browser_test.sh --help
#
#   --only NAME      run only the tests whose name contains NAME (besides the sign-in)
#   --artifacts DIR  where the screenshots go (default .build/console-screenshots, gitignored)
#
# needs: chromium and chromium-driver (Debian), selenium (PyPI); scripts/test.sh installs them.
# environment: BROWSER_TEST_BUILD_ARGS  extra `swift build` arguments (e.g. --scratch-path DIR)
# exit status: 0 when every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { printf 'browser tests FAILED: %s\n' "$*" >&2; exit 1; }
log() { printf '== %s\n' "$*" >&2; }

only=()
artifacts=".build/console-screenshots"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --only) only=(--only "${2:?--only needs a value}"); shift 2 ;;
        --artifacts) artifacts="${2:?--artifacts needs a value}"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done

command -v chromium >/dev/null || fail "chromium is not installed (apt-get install chromium chromium-driver)"
command -v chromedriver >/dev/null || fail "chromedriver is not installed (apt-get install chromium-driver)"
python3 -c 'import selenium' 2>/dev/null || fail "selenium is not installed (pip install selenium)"

read -r -a build_args <<<"${BROWSER_TEST_BUILD_ARGS:-}"
# With the tests, as scripts/test.sh builds: a no-op there (a product-only build would rebuild the
# dependencies without testability).
log "building (debug) with tests"
swift build "${build_args[@]}" --build-tests >&2 || fail "swift build --build-tests failed"
binary="$(swift build "${build_args[@]}" --show-bin-path)/worker"

# shellcheck source=lib/processes.sh
source scripts/lib/processes.sh
workdir="$(mktemp -d)"
pid_a="" pid_b=""
stop() {
    local pid="$1"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    stop "$pid_b"
    stop "$pid_a"
    rm -rf "$workdir"
}
trap cleanup EXIT

token="console-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
common=(--api-token "$token" --shards 8 --poll-interval 200ms --shutdown-grace 2s)
env -u SCHEDULER_CASSANDRA -u SCHEDULER_API_TOKEN "$binary" --http-port 0 --embedded-port 0 --in-memory \
    --worker-id console-a "${common[@]}" >"$workdir/a.out" 2>"$workdir/a.err" &
pid_a=$!
url_a="$(wait_line "$workdir/a.out" "$WORKER_URL" "worker A" "$pid_a")" || { cat "$workdir/a.err" >&2; fail "worker A did not start"; }
cql_port="$(wait_line "$workdir/a.out" 's/^embedded CQL node on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "embedded node" "$pid_a")" \
    || fail "worker A did not report its embedded node"
env -u SCHEDULER_API_TOKEN "$binary" --http-port 0 --cassandra "127.0.0.1:$cql_port" --worker-id console-b "${common[@]}" \
    >"$workdir/b.out" 2>"$workdir/b.err" &
pid_b=$!
url_b="$(wait_line "$workdir/b.out" "$WORKER_URL" "worker B" "$pid_b")" || { cat "$workdir/b.err" >&2; fail "worker B did not start"; }
log "workers on $url_a (embedded node :$cql_port) and $url_b"

mkdir -p "$artifacts"
rm -f "$artifacts"/*.png
status=0
python3 scripts/browser/console_test.py --url "$url_a" --token "$token" --artifacts "$artifacts" \
    --stop-pid "$pid_b" --worker-b console-b "${only[@]}" || status=$?
log "screenshots in $artifacts"
if [[ $status -ne 0 ]]; then
    tail -n 30 "$workdir/a.err" >&2
    fail "$status browser test(s) failed"
fi
