#!/usr/bin/env bash
# `./dev up`: the embedded stack in the foreground; Ctrl-C stops it, state stays in the data directory.
set -euo pipefail
# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/env.sh"
cd "$BERTH_ROOT"
exec .venv/bin/berth up "$@"
