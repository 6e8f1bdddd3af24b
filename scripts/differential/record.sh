#!/usr/bin/env bash
# Records the differential corpus's answers from a real Apache Cassandra.
#
# usage: scripts/differential/record.sh HOST:PORT OUTPUT.jsonl
#
# Runs every statement of Fixtures/differential/statements.jsonl, in order, on one connection of our
# CQLWire client (the same code that replays them against the embedded node in DifferentialCorpusTests),
# consistency ONE, keyspace `differential` (SimpleStrategy RF 1, dropped first), and writes one answer per
# statement: result kind, column names and types, rows as raw cell bytes (hex) page by page, or the error
# code and message. Regenerate the statements first with scripts/differential/generate.py SEED.
usage() { sed -n '2,/^[^#]/{/^#/s/^# \{0,1\}//p;}' "$0"; }
for arg in "$@"; do case "$arg" in -h|--help) usage; exit 0 ;; esac; done
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: $0 HOST:PORT OUTPUT.jsonl" >&2; exit 2; fi
cd "$(dirname "$0")/../.."
output=$(realpath -m "$2")
CQLNODE_DIFFERENTIAL_RECORD="$1" CQLNODE_DIFFERENTIAL_OUT="$output" \
    swift test --skip-build --filter 'DifferentialCorpusTests/record'
echo "recorded $(wc -l < "$output") answers into $output"
