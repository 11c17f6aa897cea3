# shellcheck shell=bash
# Source this file (do not execute it) before using podman or molecule here:
#
#   . scripts/podman-env.sh
#
# On this machine (and CI) podman only runs containers with runc and with
# lowered default ulimits; molecule/image/containers.conf says so, and podman
# reads it through CONTAINERS_CONF. Works from any directory and in a fresh
# clone anywhere: paths are derived from this file's location.

_tsh_env_src=""
if [ -n "${BASH_VERSION:-}" ]; then
    eval '_tsh_env_src="${BASH_SOURCE[0]}"'
elif [ -n "${ZSH_VERSION:-}" ]; then
    eval '_tsh_env_src="${(%):-%x}"'
fi
if [ -n "$_tsh_env_src" ]; then
    TSH_REPO_ROOT="$(cd "$(dirname "$_tsh_env_src")/.." && pwd)"
else
    # POSIX sh cannot tell which file it sources: use the checkout we are in.
    TSH_REPO_ROOT="$(git rev-parse --show-toplevel 2>/dev/null || pwd)"
fi
unset _tsh_env_src
if [ ! -f "$TSH_REPO_ROOT/molecule/image/containers.conf" ]; then
    echo "podman-env.sh: cannot find the repository root (source it from the repository)" >&2
    return 1
fi
export TSH_REPO_ROOT

# Podman engine settings (runtime runc, ulimits).
export CONTAINERS_CONF="${TSH_REPO_ROOT}/molecule/image/containers.conf"

# The test image Molecule scenarios run (built by molecule/image/build.sh).
export TSH_MOLECULE_IMAGE="${TSH_MOLECULE_IMAGE:-localhost/tsh-zoho-molecule:latest}"

# Where build.sh caches the debootstrap rootfs tarballs.
export TSH_ZOHO_CACHE_DIR="${TSH_ZOHO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tsh-zoho}"
