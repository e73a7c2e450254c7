# shellcheck shell=bash
# Environment for every command the project runs (the justfile's scripts and CI source it).
# Sourced, not executed: it only exports variables and never changes the shell's options.

BERTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export BERTH_ROOT

# Podman reads the project's settings (runc, cgroupfs, ulimits) instead of the machine's.
export CONTAINERS_CONF="$BERTH_ROOT/deploy/podman/containers.conf"

# pip: no nagging about its own version in the middle of a setup.
export PIP_DISABLE_PIP_VERSION_CHECK=1
