# shellcheck shell=bash
# Source this file (do not execute it) before using podman or molecule here:
#
#   . scripts/podman-env.sh
#
# On this machine (and CI) podman only runs containers with runc and with
# lowered default ulimits; molecule/image/containers.conf says so, and podman
# reads it through CONTAINERS_CONF. Works from any directory and in a fresh
# clone anywhere: paths are derived from this file's location.

if [ -n "${BASH_SOURCE[0]:-}" ]; then
    _tsh_env_src="${BASH_SOURCE[0]}"
elif [ -n "${ZSH_VERSION:-}" ]; then
    # shellcheck disable=SC2296
    _tsh_env_src="${(%):-%x}"
else
    _tsh_env_src="${0}"
fi
TSH_REPO_ROOT="$(cd "$(dirname "${_tsh_env_src}")/.." && pwd)"
unset _tsh_env_src
export TSH_REPO_ROOT

# Podman engine settings (runtime runc, ulimits).
export CONTAINERS_CONF="${TSH_REPO_ROOT}/molecule/image/containers.conf"

# The test image Molecule scenarios run (built by molecule/image/build.sh).
export TSH_MOLECULE_IMAGE="${TSH_MOLECULE_IMAGE:-localhost/tsh-zoho-molecule:latest}"

# Where build.sh caches the debootstrap rootfs tarballs.
export TSH_ZOHO_CACHE_DIR="${TSH_ZOHO_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tsh-zoho}"
