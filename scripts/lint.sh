#!/usr/bin/env bash
# `./dev lint`: style and types. mypy's packages and strictness are set in pyproject.toml.
set -euo pipefail
# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/env.sh"
cd "$BERTH_ROOT"
status=0
.venv/bin/ruff check . || status=1
.venv/bin/ruff format --check . || status=1
.venv/bin/mypy || status=1
exit "$status"
