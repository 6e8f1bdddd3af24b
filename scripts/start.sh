#!/usr/bin/env bash
# Starts the production-like stack of infra/docker-compose.yml: three Cassandra nodes, the
# schema-init one-shot, two workers, the Cassandra exporter, Prometheus and Grafana.
#
# usage: scripts/start.sh [--build] [--wait]
#   --build     rebuild the worker image (infra/Dockerfile) before starting
#   --wait      block until every service with a health check is healthy (docker compose --wait)
#   -h, --help  this help
# Once up: worker1 http://localhost:8080, worker2 http://localhost:8081,
#          Prometheus http://localhost:9090, Grafana http://localhost:3000 (admin/admin).
# exit status: 0 when the stack was started, 1 with a message otherwise, 2 on bad usage.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { printf 'start: %s\n' "$*" >&2; exit 1; }

up_args=(up -d)
while [[ $# -gt 0 ]]; do
    case "$1" in
        --build) up_args+=(--build) ;;
        --wait) up_args+=(--wait) ;;
        -h|--help) usage; exit 0 ;;
        *) printf 'start: unknown option %s\n' "$1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

command -v docker >/dev/null || fail "docker is not installed; install Docker Engine (or Docker Desktop) with the compose plugin"
docker compose version >/dev/null 2>&1 || fail "the docker compose plugin is missing ('docker compose version' failed)"
docker info >/dev/null 2>&1 || fail "no Docker engine is reachable (is the daemon running? is DOCKER_HOST right? 'docker info' shows the cause). Without Docker, run one worker on the embedded node: swift run worker"

# Compose resolves ./prometheus and ./grafana relative to infra/, so run from there.
cd "$root/infra"
docker compose "${up_args[@]}"
echo "stack started; schema-init applies the schema once the cluster is healthy (docker compose -f infra/docker-compose.yml logs schema-init)"
