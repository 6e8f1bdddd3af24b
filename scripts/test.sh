#!/usr/bin/env bash
# Runs every test suite of the project: installs what the tests need, builds, then tests.
#
# usage: scripts/test.sh                 all suites: swift tests (unit, fixtures, interop with the
#                                        Python driver and cqlsh), then each fuzz target for
#                                        FUZZ_SECONDS (default 30)
#        scripts/test.sh --filter X      only the swift tests matching X (no fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }

# Real peers the interop suites talk to (PyPI): the DataStax Python driver, cqlsh, and python lz4
# for compression vectors.
python_peers() {
    python3 - <<'PY' 2>/dev/null
import importlib.util, shutil, sys
ok = importlib.util.find_spec("cassandra") and importlib.util.find_spec("lz4") and shutil.which("cqlsh")
sys.exit(0 if ok else 1)
PY
}
if ! python_peers; then
    log "installing Python peers (cassandra-driver, cqlsh, lz4)"
    python3 -m pip install --quiet --disable-pip-version-check cassandra-driver cqlsh lz4
fi

log "building (debug) with tests"
swift build --build-tests

log "running swift tests"
swift test --skip-build "$@"

if [[ $# -eq 0 ]]; then
    for target in $(scripts/fuzz.sh --list); do
        log "fuzzing $target for ${FUZZ_SECONDS:-30}s"
        scripts/fuzz.sh "$target" --seconds "${FUZZ_SECONDS:-30}" 2>&1 | grep -E "^(==|stat::|Done)|ERROR|crash|deadly" >&2
    done
fi
