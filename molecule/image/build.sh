#!/usr/bin/env bash
# Build (or reuse) the Molecule test image localhost/tsh-zoho-molecule.
#
#   molecule/image/build.sh            # build if inputs changed, else reuse
#   molecule/image/build.sh --force    # rebuild even if the tag exists
#
# No registry is needed: the base is a debootstrap rootfs of Debian $SUITE,
# cached as a tarball under $TSH_ZOHO_CACHE_DIR (keyed by suite+arch), imported
# with `podman import`; the Containerfile then installs packages from the
# Debian mirror. The image is tagged :<hash of the inputs> and :latest, where
# the inputs are the staged build context (Containerfile, files/, the schema,
# the worker) plus suite, arch and mirrors. An existing tag is reused.
#
# Environment knobs (all optional):
#   TSH_DEBIAN_SUITE (bookworm)  TSH_DEBIAN_ARCH (host's dpkg arch)
#   TSH_DEBIAN_MIRROR / TSH_DEBIAN_SECURITY_MIRROR (default: read off the
#       host's /etc/apt/sources.list*, else deb.debian.org)
#   TSH_ZOHO_CACHE_DIR (${XDG_CACHE_HOME:-$HOME/.cache}/tsh-zoho)
#   TSH_MOLECULE_IMAGE_NAME (localhost/tsh-zoho-molecule)
#   TSH_WORKER_PY (testbed/worker.py)  the worker simulator to install
#   TSH_KEEP_OLD_IMAGES=1  keep the images of earlier inputs (default: removed
#       after a successful build)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
# shellcheck source=scripts/podman-env.sh
. "$ROOT/scripts/podman-env.sh"

FORCE=0
case "${1:-}" in
    --force) FORCE=1 ;;
    "") ;;
    *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

log() { printf '[build.sh] %s (%ss)\n' "$*" "$SECONDS" >&2; }
die() { printf '[build.sh] ERROR: %s\n' "$*" >&2; exit 1; }

# Debian archive URIs the host uses (deb822 .sources or one-line .list).
host_mirror() {  # $1: archive path suffix, "debian" or "debian-security"
    local suffix="$1" f
    for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -r "$f" ] || continue
        awk -v sfx="$suffix" '
            /^[[:space:]]*#/ { next }
            /^URIs:/ { for (i = 2; i <= NF; i++) print $i; next }
            /^deb[[:space:]]/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }
        ' "$f"
    done | sed 's:/*$::' | grep -E "/${suffix}\$" | head -n1 || true
}

SUITE="${TSH_DEBIAN_SUITE:-bookworm}"
ARCH="${TSH_DEBIAN_ARCH:-$(dpkg --print-architecture 2>/dev/null || echo amd64)}"
MIRROR="${TSH_DEBIAN_MIRROR:-$(host_mirror debian)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${TSH_DEBIAN_SECURITY_MIRROR:-$(host_mirror debian-security)}"
SECURITY_MIRROR="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
CACHE_DIR="${TSH_ZOHO_CACHE_DIR}"
IMAGE_NAME="${TSH_MOLECULE_IMAGE_NAME:-localhost/tsh-zoho-molecule}"
WORKER_PY="${TSH_WORKER_PY:-$ROOT/testbed/worker.py}"
SCHEMA_SQL="$ROOT/testbed/sql/tsh_schema.sql"

command -v podman >/dev/null || die "podman is not installed (run .ci/install-podman.sh)"
[ -f "$SCHEMA_SQL" ] || die "schema not found: $SCHEMA_SQL"
[ -f "$WORKER_PY" ] || die "worker simulator not found: $WORKER_PY (set TSH_WORKER_PY to use another file)"

# --- stage the build context and hash it ------------------------------------
CTX="$(mktemp -d "${TMPDIR:-/tmp}/tsh-molecule-ctx.XXXXXX")"
ROOTFS_TMP=""
cleanup() {
    rm -rf "$CTX"
    if [ -n "$ROOTFS_TMP" ]; then rm -rf "$ROOTFS_TMP"; fi
}
trap cleanup EXIT

cp "$HERE/Containerfile" "$CTX/Containerfile"
cp -R "$HERE/files" "$CTX/files"
cp "$SCHEMA_SQL" "$CTX/tsh_schema.sql"
cp "$WORKER_PY" "$CTX/worker.py"

HASH="$(
    cd "$CTX"
    {
        printf 'suite=%s\narch=%s\nmirror=%s\nsecurity=%s\n' "$SUITE" "$ARCH" "$MIRROR" "$SECURITY_MIRROR"
        # Contents only: the Containerfile sets every mode itself, so a clone
        # with other file modes gets the same hash.
        find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    } | sha256sum | cut -c1-16
)"
TAG="$IMAGE_NAME:$HASH"

if [ "$FORCE" = 0 ] && podman image exists "$TAG"; then
    podman tag "$TAG" "$IMAGE_NAME:latest"
    log "up to date: $TAG (inputs unchanged, build skipped)"
    echo "$TAG"
    exit 0
fi

# --- base image: cached debootstrap rootfs -> podman import -----------------
mkdir -p "$CACHE_DIR"
TARBALL="$CACHE_DIR/rootfs-$SUITE-$ARCH-minbase.tar.gz"
if [ ! -s "$TARBALL" ]; then
    command -v debootstrap >/dev/null || die "debootstrap is not installed (run .ci/install-podman.sh)"
    [ "$(id -u)" = 0 ] || die "debootstrap needs root"
    log "debootstrap $SUITE/$ARCH from $MIRROR (cached as $TARBALL)"
    ROOTFS_TMP="$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")"
    debootstrap --variant=minbase --arch="$ARCH" "$SUITE" "$ROOTFS_TMP/rootfs" "$MIRROR" \
        >"$ROOTFS_TMP/debootstrap.log" 2>&1 \
        || { tail -n 30 "$ROOTFS_TMP/debootstrap.log" >&2; die "debootstrap failed"; }
    rm -rf "$ROOTFS_TMP/rootfs/var/cache/apt/archives/"*.deb "$ROOTFS_TMP/rootfs/var/lib/apt/lists/"*
    tar --numeric-owner --xattrs -C "$ROOTFS_TMP/rootfs" -czf "$ROOTFS_TMP/rootfs.tar.gz" .
    mv -f "$ROOTFS_TMP/rootfs.tar.gz" "$TARBALL"   # atomic: never a half-written cache entry
    rm -rf "$ROOTFS_TMP"; ROOTFS_TMP=""
else
    log "reusing cached rootfs $TARBALL"
fi

ROOTFS_SUM="$(sha256sum "$TARBALL" | cut -c1-12)"
BASE_IMAGE="localhost/tsh-zoho-rootfs:$SUITE-$ARCH-$ROOTFS_SUM"
if ! podman image exists "$BASE_IMAGE"; then
    log "importing $TARBALL as $BASE_IMAGE"
    podman import --quiet "$TARBALL" "$BASE_IMAGE" >/dev/null
fi

# --- the test image ---------------------------------------------------------
log "building $TAG"
podman build \
    --file "$CTX/Containerfile" \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    --build-arg "DEBIAN_SUITE=$SUITE" \
    --build-arg "DEBIAN_MIRROR=$MIRROR" \
    --build-arg "DEBIAN_SECURITY_MIRROR=$SECURITY_MIRROR" \
    --label "org.tsh.zoho-sync.inputs-hash=$HASH" \
    --tag "$TAG" \
    --tag "$IMAGE_NAME:latest" \
    "$CTX" >&2
log "built $TAG"

# Drop images of earlier inputs (podman refuses those a container still uses).
# The list is read first and may be empty (a fresh machine has no old images):
# grep finding nothing is not an error here, so it must not end the script under pipefail.
old_images() {
    podman images --format '{{.Repository}}:{{.Tag}}' \
        | { grep -E "^($IMAGE_NAME|localhost/tsh-zoho-rootfs):" || true; } \
        | { grep -v -x -e "$TAG" -e "$IMAGE_NAME:latest" -e "$BASE_IMAGE" || true; }
}
if [ "${TSH_KEEP_OLD_IMAGES:-0}" != 1 ]; then
    for old in $(old_images); do
        if podman rmi "$old" >/dev/null 2>&1; then log "removed old image $old"; fi
    done
fi
echo "$TAG"
