#!/usr/bin/env bash
# Brings this checkout to a working state on Debian 12: Podman and runc from apt, the
# virtual environment with Berth and its pinned dependencies, the data directory, and
# Podman pointed at the project's settings. It does only what is missing and prints a
# line for each thing it does, so running it again is quick and quiet.
#
# As root it installs what is missing; as another user it works when everything is
# already installed and says what to install otherwise.
set -euo pipefail

# shellcheck source=deploy/env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../deploy/env.sh"
cd "$BERTH_ROOT"

say() { printf 'setup: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

VENV=.venv
STAMP="$VENV/.berth-installed"

# The distribution's own interpreter comes first: Debian's is linked statically and built with
# profile-guided optimisation, and Berth's Python runs about a quarter faster on it than on one
# built from source as a shared library without that optimisation (docs/benchmarks.md).
# BERTH_PYTHON names another one.
find_python() {
    local candidate
    for candidate in "${BERTH_PYTHON:-}" /usr/bin/python3.11 /usr/bin/python3 python3.11 python3; do
        [ -n "$candidate" ] || continue
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return
        fi
    done
    die "no Python 3.11 or newer found (set BERTH_PYTHON to one)"
}

# Which installation an interpreter (or a venv's) belongs to, and its version.
python_identity() {
    "$1" -c 'import sys; print(sys.base_prefix, *sys.version_info[:3])' 2>/dev/null
}

deb_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Debian's own Python ships venv's pip bootstrap in a separate package.
python_venv_package() {
    local python=$1
    if "$python" -c 'import ensurepip, sys; sys.exit(not ensurepip.version())' 2>/dev/null; then
        return
    fi
    "$python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}-venv")'
}

install_system_packages() {
    local python=$1 wanted=(podman runc debootstrap busybox-static) missing=() package
    if ! command -v dpkg-query >/dev/null; then
        # Not a Debian system: accept what is on the PATH, install nothing.
        for package in podman runc; do
            command -v "$package" >/dev/null || die "$package is not installed"
        done
        return
    fi
    package=$(python_venv_package "$python")
    [ -z "$package" ] || wanted+=("$package")
    for package in "${wanted[@]}"; do
        deb_installed "$package" || missing+=("$package")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    [ "$(id -u)" -eq 0 ] || die "missing packages: ${missing[*]} (as root: apt-get install ${missing[*]})"
    say "installing ${missing[*]} from apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${missing[@]}" >/dev/null
}

ensure_venv() {
    local python=$1
    if [ -e "$VENV" ] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
        say "$VENV is broken (its Python is gone); making it again"
        rm -rf "$VENV"
    elif [ -e "$VENV/bin/python" ] &&
        [ "$(python_identity "$VENV/bin/python")" != "$(python_identity "$python")" ]; then
        say "$VENV was made with another Python than $python; making it again"
        rm -rf "$VENV"
    fi
    if [ ! -e "$VENV/bin/python" ]; then
        say "creating $VENV with $python"
        "$python" -m venv "$VENV"
    fi
}

# Reinstall only when the declared dependencies changed since the last install. The Python
# SDK (sdk/python) is a distribution of its own that the CLI uses: installed beside Berth.
ensure_packages() {
    local wanted
    wanted="$(cat pyproject.toml sdk/python/pyproject.toml | sha256sum | cut -d' ' -f1)"
    if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
        return
    fi
    say "installing berth, its SDK and their dependencies into $VENV"
    # Errors only: pip's warnings about the machine's own index settings would bury them.
    "$VENV/bin/python" -m pip install --quiet --quiet --editable '.[dev]' --editable sdk/python
    echo "$wanted" >"$STAMP"
}

ensure_data_dir() {
    local dir=${BERTH_DATA_DIR:-.berth}
    [ -d "$dir" ] || { say "creating data directory $dir"; mkdir -p "$dir"; }
}

check_podman() {
    local seen
    # Warnings on stderr are podman's business; only a failure or wrong settings stop us.
    seen=$(podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}' 2>/dev/null) ||
        die "podman info failed with CONTAINERS_CONF=$CONTAINERS_CONF: $(podman info 2>&1 | tail -n 3)"
    [ "$seen" = "runc cgroupfs" ] ||
        die "podman uses '$seen' as runtime and cgroup manager, expected 'runc cgroupfs' (CONTAINERS_CONF=$CONTAINERS_CONF)"
}

python=$(find_python)
install_system_packages "$python"
ensure_venv "$python"
ensure_packages
ensure_data_dir
check_podman
