#!/usr/bin/env bash
# Stops the stack of infra/docker-compose.yml.
#
# usage: scripts/stop.sh [--volumes]
#   --volumes   also delete the named volumes (Cassandra data, Prometheus and Grafana state)
#   -h, --help  this help
# exit status: 0 when the stack is down, 1 with a message otherwise, 2 on bad usage.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() { sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { printf 'stop: %s\n' "$*" >&2; exit 1; }

down_args=(down)
while [[ $# -gt 0 ]]; do
    case "$1" in
        -v|--volumes) down_args+=(--volumes) ;;
        -h|--help) usage; exit 0 ;;
        *) printf 'stop: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

command -v docker >/dev/null || fail "docker is not installed"
docker info >/dev/null 2>&1 || fail "no Docker engine is reachable ('docker info' shows the cause)"
cd "$root/infra"
docker compose "${down_args[@]}"
