#!/usr/bin/env bash
# Codec benchmark, side by side in one run: decodes the same 5,000-row RESULT frame of job rows
# (uuid, text, timestamp, int, blob) with CQLWire (row view and Decodable, release build) and with
# the DataStax Python driver (Cython build, tuple rows), then prints the ratio.
#
# usage: scripts/bench_codec.sh [SECONDS_PER_DECODER]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
if [[ "${1:-}" == "-h" || "${1:-}" == "--help" ]]; then sed -n 2,6p "$0" | sed 's/^# \{0,1\}//'; exit 0; fi

python3 -c "import cassandra" 2>/dev/null || python3 -m pip install --quiet cassandra-driver
out=.build-bench
mkdir -p "$out"
python3 scripts/bench/codec_python.py write "$out/result_page.bin"

echo "== building codecbench (release)" >&2
swift build -c release --package-path Benchmarks --scratch-path "$out/swift" --product codecbench >&2
bin=$(swift build -c release --package-path Benchmarks --scratch-path "$out/swift" --show-bin-path)

swift_lines=$(LD_PRELOAD="$bin/libMallocInterposerSwift.so" "$bin/codecbench" "$out/result_page.bin" "$seconds")
python_line=$(python3 scripts/bench/codec_python.py bench "$out/result_page.bin" "$seconds")
echo "$swift_lines"
echo "$python_line"
python3 - "$python_line" <<PY
import json, sys
python = json.loads(sys.argv[1])
for line in """$swift_lines""".splitlines():
    swift = json.loads(line)
    print(f"{swift['decoder']}: {swift['rows_per_second']:,.0f} rows/s, {swift['cpu_us_per_row']:.3f} µs CPU/row, "
          f"{swift['allocations_per_row']:.2f} allocations/row = {swift['rows_per_second'] / python['rows_per_second']:.1f}x "
          f"the Python driver ({python['decoder']}: {python['rows_per_second']:,.0f} rows/s, {python['cpu_us_per_row']:.3f} µs CPU/row)")
PY
