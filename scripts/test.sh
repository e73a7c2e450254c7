#!/usr/bin/env bash
# `./dev test`: the whole suite against real servers. Needs no terminal.
#
# The tests start their own nats-server processes. PostgreSQL is the machine's, on
# 127.0.0.1:5432: if it is installed but stopped, start it; if there is none, the
# PostgreSQL tests skip and say why.
set -euo pipefail
# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/env.sh"
cd "$BERTH_ROOT"

postgres_listening() {
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
}

start_local_postgres() {
    local cluster version
    postgres_listening && return
    command -v pg_ctlcluster >/dev/null || return 0
    for cluster in /etc/postgresql/*/main; do
        [ -d "$cluster" ] || continue
        version=$(basename "$(dirname "$cluster")")
        echo "test: starting PostgreSQL $version" >&2
        pg_ctlcluster --skip-systemctl-redirect "$version" main start ||
            echo "test: could not start PostgreSQL $version; its tests will skip" >&2
    done
}

if [ -z "${BERTH_TEST_PG_DSN:-}" ]; then
    start_local_postgres
fi

# -ra lists every skip with its reason; the timeout ends a test that hangs instead of the run.
exec .venv/bin/pytest -ra --timeout=600 "$@"
