#!/usr/bin/env bash
# Runs every test suite of the project: installs what the tests need, builds, then tests.
# Usage: scripts/test.sh            (all suites)
#        scripts/test.sh --filter X (only swift tests matching X; still installs peers)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }

# Real peers the interop suites talk to (PyPI): the DataStax Python driver and cqlsh.
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
