#!/usr/bin/env bash
# Applies infra/schema.cql to a Cassandra cluster (or a standalone cqlnode) with `worker schema
# apply`, the code the embedded node uses too: waits until a node answers CQL, creates the
# keyspace, applies the migrations not yet recorded in schema_version (an ALTER TABLE ... ADD
# whose column exists is skipped, so it runs on Cassandra 3.11 to 5.0) and waits for schema
# agreement after each change. Running it again is harmless.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
    cat <<'EOF'
usage: scripts/init_schema.sh [options] [HOST [PORT]]
  --cluster                 NetworkTopologyStrategy: RF 3 in datacenter1, or the --dc list
  --dc NAME:RF              a data centre and its replication factor (repeatable; implies --cluster)
  --replication MODE        embedded (default: SimpleStrategy, RF 1) or cluster
  --keyspace NAME           keyspace to create (default scheduler, or SCHEDULER_KEYSPACE)
  --timeout SECONDS         how long to wait for CQL readiness (default 180)
  --username U --password P PasswordAuthenticator credentials (or CASSANDRA_USERNAME/_PASSWORD)
  --tls-ca FILE --tls-cert FILE --tls-key FILE --tls-server-name NAME --tls
                            TLS to Cassandra, passed to the worker binary as they are (it also
                            reads SCHEDULER_TLS_CA, SCHEDULER_TLS_CERT, ... from the environment)
  --print                   print the statements a fresh keyspace gets and exit (no connection)
  --dry-run                 connect and print the statements that would be sent; change nothing
  -h, --help                this help
HOST/PORT default to CASSANDRA_HOST/CASSANDRA_PORT, then 127.0.0.1 9042.
worker binary: WORKER if set, else `worker` on PATH, else built with `swift build`
               (INIT_SCHEMA_BUILD_ARGS adds swift build arguments, e.g. --scratch-path DIR).
exit status: 0 when the schema is applied, 1 on errors (named on stderr), 2 on bad usage.
EOF
}
fail() { printf 'init_schema: %s\n' "$*" >&2; exit 1; }
bad_usage() { printf 'init_schema: %s\n' "$*" >&2; usage >&2; exit 2; }
log() { printf '== %s\n' "$*" >&2; }

replication=embedded
keyspace="${SCHEDULER_KEYSPACE:-scheduler}"
timeout=180
username="${CASSANDRA_USERNAME:-}"
password="${CASSANDRA_PASSWORD:-}"
mode=apply
dcs=()
tls=()
positional=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --cluster) replication=cluster ;;
        --dc) [[ $# -ge 2 ]] || bad_usage "--dc needs NAME:RF"
            [[ "$2" =~ ^[A-Za-z0-9_.-]+:[0-9]+$ ]] || bad_usage "--dc must be NAME:RF such as dc1:3, got '$2'"
            dcs+=(--dc "$2"); replication=cluster; shift ;;
        --replication) [[ $# -ge 2 ]] || bad_usage "--replication needs a value"; replication="$2"; shift ;;
        --keyspace) [[ $# -ge 2 ]] || bad_usage "--keyspace needs a value"; keyspace="$2"; shift ;;
        --timeout) [[ $# -ge 2 ]] || bad_usage "--timeout needs a value"; timeout="$2"; shift ;;
        --username) [[ $# -ge 2 ]] || bad_usage "--username needs a value"; username="$2"; shift ;;
        --password) [[ $# -ge 2 ]] || bad_usage "--password needs a value"; password="$2"; shift ;;
        --tls-ca|--tls-cert|--tls-key|--tls-server-name)
            [[ $# -ge 2 ]] || bad_usage "$1 needs a value"; tls+=("$1" "$2"); shift ;;
        --tls) tls+=(--tls) ;;
        --print) mode=print ;;
        --dry-run) mode=dry-run ;;
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
case "$replication" in
    embedded) variant=() ;;
    cluster) variant=(--cluster "${dcs[@]}") ;;
    *) bad_usage "--replication must be embedded or cluster, got '$replication'" ;;
esac

worker="${WORKER:-}"
if [[ -z "$worker" ]]; then
    if command -v worker >/dev/null; then
        worker="$(command -v worker)"
    else
        command -v swift >/dev/null || fail "worker is not on PATH, WORKER is unset, and swift is missing to build it"
        log "building worker"
        read -r -a build_args <<<"${INIT_SCHEMA_BUILD_ARGS:-}"
        (cd "$root" && swift build "${build_args[@]}" --product worker >&2) || fail "swift build --product worker failed"
        worker="$(cd "$root" && swift build "${build_args[@]}" --show-bin-path)/worker"
    fi
fi
[[ -x "$worker" ]] || fail "worker at '$worker' is not executable"

if [[ "$mode" == print ]]; then
    exec "$worker" schema print "${variant[@]}" --keyspace "$keyspace"
fi

connection=(--cassandra "$host:$port" --keyspace "$keyspace" "${tls[@]}")
[[ -n "$username" ]] && connection+=(--username "$username")
# The password goes through the environment, not the command line other users can read.
[[ -n "$password" ]] && export SCHEDULER_PASSWORD="$password"
if [[ "$mode" == dry-run ]]; then
    exec "$worker" schema apply --dry-run "${variant[@]}" "${connection[@]}" --wait "$timeout"
fi
log "applying the $replication schema to keyspace $keyspace on $host:$port (waiting up to ${timeout}s for CQL)"
"$worker" schema apply "${variant[@]}" "${connection[@]}" --wait "$timeout" \
    || fail "applying infra/schema.cql to $host:$port failed (see the error above; is the node up? try: $worker schema apply --dry-run --cassandra $host:$port)"
