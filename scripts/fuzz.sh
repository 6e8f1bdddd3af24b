#!/usr/bin/env bash
# Builds a libFuzzer target and runs it on a corpus seeded from Fixtures/.
#
# usage: scripts/fuzz.sh TARGET [RUNS] [-- extra libFuzzer flags]
#        scripts/fuzz.sh TARGET --seconds N
#        scripts/fuzz.sh --list
# RUNS defaults to 100000. Crashes are written to .build-fuzz/artifacts/TARGET/ and make the
# script exit non-zero; the corpus grows in .build-fuzz/corpus/TARGET/.
#
# Each target is compiled with `swiftc -sanitize=fuzzer,address` from the source folders it
# needs into one module, so the sanitizer build stays small and never pulls in NIO or
# Hummingbird (the codec imports nothing from the connection layer: this build proves it).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }

# target -> "source folders|entry file|seed kind"
target_spec() {
    case "$1" in
        frame)   echo "Sources/CQLWire/Codec|Fuzz/FrameDecoderFuzz.swift|frames" ;;
        result)  echo "Sources/CQLWire/Codec|Fuzz/ResultDecoderFuzz.swift|bodies" ;;
        *) return 1 ;;
    esac
}
TARGETS="frame result"

case "${1:-}" in
    ""|-h|--help) usage; exit 0 ;;
    --list) echo "$TARGETS"; exit 0 ;;
esac

target=$1; shift
spec=$(target_spec "$target") || { echo "fuzz.sh: unknown target '$target' (targets: $TARGETS)" >&2; exit 2; }
IFS='|' read -r folders entry seeds <<<"$spec"

mode=(-runs=100000)
if [[ "${1:-}" == "--seconds" ]]; then
    mode=(-max_total_time="${2:?--seconds needs a number}"); shift 2
elif [[ "${1:-}" =~ ^[0-9]+$ ]]; then
    mode=(-runs="$1"); shift
fi
[[ "${1:-}" == "--" ]] && shift

out=.build-fuzz
mkdir -p "$out/bin" "$out/corpus/$target" "$out/artifacts/$target"
sources=()
for folder in $folders; do
    while IFS= read -r file; do sources+=("$file"); done < <(find "$folder" -name '*.swift' | sort)
done
binary="$out/bin/$target"
if [[ ! -x "$binary" ]] || [[ -n "$(find "${sources[@]}" "$entry" -newer "$binary" 2>/dev/null | head -1)" ]]; then
    echo "== building fuzz target $target (${#sources[@]} files)" >&2
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "Fuzz_$target" \
        "${sources[@]}" "$entry" -o "$binary" 2> >(grep -v "Cannot export local symbol" >&2)
fi
if [[ -z "$(ls -A "$out/corpus/$target")" ]]; then
    python3 scripts/fuzz_seeds.py "$seeds" "$out/corpus/$target" >&2
fi
echo "== fuzzing $target ${mode[*]}" >&2
"$binary" "${mode[@]}" -artifact_prefix="$out/artifacts/$target/" -print_final_stats=1 "$@" "$out/corpus/$target"
