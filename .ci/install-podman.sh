#!/usr/bin/env bash
# Install podman (with runc) and debootstrap, check that podman works with the
# repository's containers.conf, then build (or reuse) the Molecule test image.
# Safe to run again: installed packages are skipped, build.sh reuses the image
# when its inputs have not changed.
#
#   .ci/install-podman.sh            # install, check, build
#   .ci/install-podman.sh --no-boot  # skip the systemd boot check of the image
set -euo pipefail
cd "$(dirname "$0")/.."

BOOT_CHECK=1
[ "${1:-}" = "--no-boot" ] && BOOT_CHECK=0

log() { printf '[install-podman] %s\n' "$*" >&2; }

SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

# 1. Packages (only when something is missing).
missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        podman runc debootstrap
else
    log "podman, runc and debootstrap already installed"
fi

# 2. Podman works with our engine settings (runtime runc, lowered ulimits).
# shellcheck source=scripts/podman-env.sh
. scripts/podman-env.sh
runtime="$(podman info --format '{{.Host.OCIRuntime.Name}}')" \
    || { log "podman info failed with CONTAINERS_CONF=$CONTAINERS_CONF"; podman info >&2 || true; exit 1; }
[ "$runtime" = runc ] || { log "podman uses runtime '$runtime', expected runc (CONTAINERS_CONF=$CONTAINERS_CONF)"; exit 1; }
log "podman $(podman version --format '{{.Client.Version}}') ok, runtime $runtime, cgroups $(podman info --format '{{.Host.CgroupsVersion}}')"

# 3. The Molecule test image (skipped when up to date).
image="$(molecule/image/build.sh)"
log "image: $image"

# 4. The image boots: systemd, PostgreSQL and the worker come up.
if [ "$BOOT_CHECK" = 1 ]; then
    name="tsh-zoho-bootcheck-$$"
    trap 'podman rm -f "$name" >/dev/null 2>&1 || true' EXIT
    podman run -d --name "$name" --systemd=always "$image" >/dev/null
    # Right after start systemd has no bus yet ("Failed to connect to bus"): retry.
    state=""
    for _ in $(seq 1 120); do
        state="$(podman exec "$name" systemctl is-system-running --wait 2>/dev/null || true)"
        case "$state" in running|degraded|maintenance|stopping) break ;; esac
        sleep 0.5
    done
    if [ "$state" != running ] \
        || ! podman exec "$name" systemctl is-active --quiet postgresql tsh-erp; then
        log "boot check failed (systemd: ${state:-unknown})"
        podman exec "$name" systemctl --failed --no-pager >&2 || true
        podman exec "$name" journalctl -u tsh-erp --no-pager -n 30 >&2 || true
        exit 1
    fi
    log "boot check ok: systemd running, postgresql and tsh-erp active"
fi
