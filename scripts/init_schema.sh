#!/usr/bin/env bash
# Applies infra/schema.cql once to a Cassandra cluster (or a standalone cqlnode): waits until the
# node answers CQL, then runs every statement. All statements are IF NOT EXISTS, so running it
# again is harmless. Workers only verify the schema on a cluster; this script creates it.
#
# usage: scripts/init_schema.sh [options] [HOST [PORT]]
#   --cluster                 cluster variant: NetworkTopologyStrategy, RF 3 in datacenter1
#   --replication MODE        embedded (default: SimpleStrategy, RF 1) or cluster
#   --keyspace NAME           keyspace to create (default scheduler, or SCHEDULER_KEYSPACE)
#   --timeout SECONDS         how long to wait for CQL readiness (default 180)
#   --username U --password P PasswordAuthenticator credentials (or CASSANDRA_USERNAME/_PASSWORD)
#   --print                   print the CQL that would be applied and exit
#   -h, --help                this help
# HOST/PORT default to CASSANDRA_HOST/CASSANDRA_PORT, then 127.0.0.1 9042.
# cqlprobe: CQLPROBE if set, else `cqlprobe` on PATH, else built with `swift build`
#           (INIT_SCHEMA_BUILD_ARGS adds swift build arguments, e.g. --scratch-path DIR).
# exit status: 0 when the schema is applied, 1 on errors (named on stderr), 2 on bad usage.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { printf 'init_schema: %s\n' "$*" >&2; exit 1; }
bad_usage() { printf 'init_schema: %s\n' "$*" >&2; usage >&2; exit 2; }
log() { printf '== %s\n' "$*" >&2; }

replication=embedded
keyspace="${SCHEDULER_KEYSPACE:-scheduler}"
timeout=180
username="${CASSANDRA_USERNAME:-}"
password="${CASSANDRA_PASSWORD:-}"
print_only=false
positional=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --cluster) replication=cluster ;;
        --replication) [[ $# -ge 2 ]] || bad_usage "--replication needs a value"; replication="$2"; shift ;;
        --keyspace) [[ $# -ge 2 ]] || bad_usage "--keyspace needs a value"; keyspace="$2"; shift ;;
        --timeout) [[ $# -ge 2 ]] || bad_usage "--timeout needs a value"; timeout="$2"; shift ;;
        --username) [[ $# -ge 2 ]] || bad_usage "--username needs a value"; username="$2"; shift ;;
        --password) [[ $# -ge 2 ]] || bad_usage "--password needs a value"; password="$2"; shift ;;
        --print) print_only=true ;;
        -h|--help) usage; exit 0 ;;
        -*) bad_usage "unknown option $1" ;;
        *) positional+=("$1") ;;
    esac
    shift
done
[[ ${#positional[@]} -le 2 ]] || bad_usage "too many arguments: ${positional[*]}"
host="${positional[0]:-${CASSANDRA_HOST:-127.0.0.1}}"
port="${positional[1]:-${CASSANDRA_PORT:-9042}}"
[[ "$port" =~ ^[0-9]+$ ]] || bad_usage "port must be a number, got '$port'"
[[ "$timeout" =~ ^[0-9]+$ ]] || bad_usage "--timeout must be whole seconds, got '$timeout'"
# The name lands unquoted in CQL, so only plain identifiers are accepted.
[[ "$keyspace" =~ ^[A-Za-z][A-Za-z0-9_]{0,47}$ ]] || bad_usage "keyspace must be a CQL identifier, got '$keyspace'"

schema="$root/infra/schema.cql"
[[ -r "$schema" ]] || fail "cannot read $schema"
case "$replication" in
    # The file's header documents these two line edits as the way to pick a variant.
    embedded) variant=(-e '/^-- replication:cluster /d') ;;
    cluster) variant=(-e '/-- replication:embedded$/d' -e 's/^-- replication:cluster //') ;;
    *) bad_usage "--replication must be embedded or cluster, got '$replication'" ;;
esac
cql="$(sed "${variant[@]}" \
    -e "s/KEYSPACE IF NOT EXISTS scheduler /KEYSPACE IF NOT EXISTS $keyspace /" \
    -e "s/scheduler\./$keyspace./g" "$schema")"
if $print_only; then printf '%s\n' "$cql"; exit 0; fi

probe="${CQLPROBE:-}"
if [[ -z "$probe" ]]; then
    if command -v cqlprobe >/dev/null; then
        probe="$(command -v cqlprobe)"
    else
        command -v swift >/dev/null || fail "cqlprobe is not on PATH, CQLPROBE is unset, and swift is missing to build it"
        log "building cqlprobe"
        read -r -a build_args <<<"${INIT_SCHEMA_BUILD_ARGS:-}"
        (cd "$root" && swift build "${build_args[@]}" --product cqlprobe >&2) || fail "swift build --product cqlprobe failed"
        probe="$(cd "$root" && swift build "${build_args[@]}" --show-bin-path)/cqlprobe"
    fi
fi
[[ -x "$probe" ]] || fail "cqlprobe at '$probe' is not executable"
auth=()
[[ -n "$username" ]] && auth+=(--username "$username")
[[ -n "$password" ]] && auth+=(--password "$password")

log "waiting for CQL on $host:$port (up to ${timeout}s)"
deadline=$((SECONDS + timeout))
until "$probe" "$host" "$port" "${auth[@]}" --connect-timeout 3 -e "SELECT release_version FROM system.local;" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || fail "no CQL answer from $host:$port within ${timeout}s (is the node up? try: $probe $host $port -e 'SELECT now() FROM system.local;')"
    sleep 2
done

tmp="$(mktemp)"
trap 'rm -f "$tmp"' EXIT
printf '%s\n' "$cql" >"$tmp"
log "applying $replication schema to keyspace $keyspace on $host:$port"
# Schema changes need agreement among the replicas, hence the long request timeout.
"$probe" "$host" "$port" "${auth[@]}" --request-timeout 60 -f "$tmp" >/dev/null || fail "applying the schema failed (see the error above)"
"$probe" "$host" "$port" "${auth[@]}" -e "SELECT version FROM $keyspace.schema_version WHERE scope = 'scheduler';" >/dev/null \
    || fail "the schema was applied but $keyspace.schema_version cannot be read"
echo "schema applied to keyspace $keyspace ($replication replication) on $host:$port"
