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
# Hummingbird (the codec imports nothing from the connection layer: this build proves it). All
# modules share one -package-name, so the node's parser sees the codec's `package` declarations.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

# target -> "source folders|entry file|seed kind|module the sources import (built first)"
#   frame       the frame decoder and every message decoder, both directions: the client's
#               response path and the node's request path
#   result      RESULT bodies through the row view, dynamic values and Decodable rows
#   cql         the embedded node's CQL lexer and parser
#   jobrequest  validation of POST /jobs bodies (JSON, schedules, cron, time zones, limits)
target_spec() {
    case "$1" in
        frame)      echo "Sources/CQLCodec|Fuzz/FrameDecoderFuzz.swift|frames|" ;;
        result)     echo "Sources/CQLCodec|Fuzz/ResultDecoderFuzz.swift|bodies|" ;;
        cql)        echo "Sources/CQLNode/CQL|Fuzz/CQLParserFuzz.swift|cql|CQLCodec" ;;
        jobrequest) echo "Sources/Scheduler/Jobs Sources/Scheduler/Schedule|Fuzz/JobRequestFuzz.swift|json|" ;;
        *) return 1 ;;
    esac
}
TARGETS="frame result cql jobrequest"

# module -> its source folder, for targets whose sources import it
module_sources() {
    case "$1" in
        CQLCodec) echo "Sources/CQLCodec" ;;
        *) return 1 ;;
    esac
}

case "${1:-}" in
    ""|-h|--help) usage; exit 0 ;;
    --list) echo "$TARGETS"; exit 0 ;;
esac

target=$1; shift
spec=$(target_spec "$target") || { echo "fuzz.sh: unknown target '$target' (targets: $TARGETS)" >&2; exit 2; }
IFS='|' read -r folders entry seeds module <<<"$spec"

# The upcoming features the package turns on for these sources' targets (Package.swift's
# explicitImports): their files say `public import`, which needs them.
features=()
case "$target" in
    frame|result|cql) features=(-enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature MemberImportVisibility) ;;
esac

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
swiftc_fuzz() { swiftc -sanitize=fuzzer,address -parse-as-library -O -package-name cassandra_scheduler "$@" 2> >(grep -v "Cannot export local symbol" >&2); }

# A module the target's sources import is built first as a static library of its own.
link=()
if [[ -n "$module" ]]; then
    moddir="$out/modules/$module"
    mkdir -p "$moddir"
    modsources=()
    while IFS= read -r file; do modsources+=("$file"); done < <(find $(module_sources "$module") -name '*.swift' | sort)
    if [[ ! -f "$moddir/lib$module.a" ]] || [[ -n "$(find "${modsources[@]}" -newer "$moddir/lib$module.a" | head -1)" ]]; then
        echo "== building module $module for fuzzing (${#modsources[@]} files)" >&2
        swiftc_fuzz "${features[@]}" -emit-module -emit-library -static -module-name "$module" \
            -emit-module-path "$moddir/$module.swiftmodule" "${modsources[@]}" -o "$moddir/lib$module.a"
    fi
    link=(-I "$moddir" -L "$moddir" "-l$module")
fi

binary="$out/bin/$target"
if [[ ! -x "$binary" ]] || [[ -n "$(find "${sources[@]}" "$entry" ${module:+"$moddir/lib$module.a"} -newer "$binary" 2>/dev/null | head -1)" ]]; then
    echo "== building fuzz target $target (${#sources[@]} files)" >&2
    swiftc_fuzz "${features[@]}" -module-name "Fuzz_$target" "${link[@]}" "${sources[@]}" "$entry" -o "$binary"
fi
if [[ -z "$(ls -A "$out/corpus/$target")" ]]; then
    python3 scripts/fuzz_seeds.py "$seeds" "$out/corpus/$target" >&2
fi
echo "== fuzzing $target ${mode[*]}" >&2
"$binary" "${mode[@]}" -artifact_prefix="$out/artifacts/$target/" -print_final_stats=1 "$@" "$out/corpus/$target"
