# Berth's tasks. `./dev <recipe>` runs them on a fresh machine (it makes the venv that
# provides `just` first); `.venv/bin/just <recipe>` does the same once it exists.
# Each recipe that needs a working checkout runs `setup` first: it is quick when
# nothing is missing.

set dotenv-load := false
set positional-arguments
set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
_default:
    @"{{ just_executable() }}" --list --unsorted

# Install what is missing: apt packages, the venv, the data directory, Podman's settings.
setup:
    @bash scripts/setup.sh

# Start the embedded single-node stack (nats-server, manager, relay, projections).
up *ARGS: setup
    @bash scripts/up.sh "$@"

# Run the tests: unit, integration and end-to-end (pytest arguments pass through).
test *ARGS: setup
    @bash scripts/test.sh "$@"

# Run a benchmark, e.g. `./dev bench backbone`; prints figures, never fails on time.
bench *ARGS: setup
    @bash scripts/bench.sh "$@"

# Build the missing session images (all, or those named: small, base, python); --force rebuilds.
images *ARGS: setup
    @bash scripts/images.sh "$@"

# Check style and types: ruff check, ruff format --check, mypy (strict).
lint: setup
    @bash scripts/lint.sh

# Remove the data directory (event store, read models, JetStream); stop the stack first.
clean:
    rm -rf .berth
