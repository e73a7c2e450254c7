#!/usr/bin/env bash
# `./dev images [NAME…] [--force]`: builds Berth's session images locally (no registry),
# each only if it is missing; see images/README.md.
set -euo pipefail
# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/env.sh"
cd "$BERTH_ROOT"
exec .venv/bin/python -m images build "$@"
