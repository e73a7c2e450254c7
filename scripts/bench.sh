#!/usr/bin/env bash
# `./dev bench NAME…`: the benchmarks in tests/bench, printing their figures.
set -euo pipefail
# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/env.sh"
cd "$BERTH_ROOT"
exec .venv/bin/python -m tests.bench "$@"
