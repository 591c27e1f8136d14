#!/bin/sh
# Build the curated images with podman (make images): a Debian base made by debootstrap, then
# base -> ocean -> ml, and base -> hub. No registry is pulled from.
#   images/build.sh [TAG]    TAG defaults to today's date (YYYY.MM.DD); REGISTRY defaults to ghcr.io/odatis
#   IMAGES="base ocean hub" images/build.sh     only these (default: base ocean hub ml)
# Caches, kept between runs on the same machine and never in the checkout (ODATIS_VRE_CACHE,
# default /var/cache/odatis-vre): the debootstrap base (a tar, keyed by suite and mirror) and pip's
# wheel cache, mounted into every build. podman's own layer cache makes an unchanged rebuild quick.
# pip inside the build uses the host's pip configuration (index, certificates, constraints): the
# effective settings of `pip config list` are written to one pip.conf mounted at /etc/pip.conf, and
# every local path they name is mounted read-only under /host-pip/ (images/pipconf.py).
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
TAG=${1:-$(date +%Y.%m.%d)}
REGISTRY=${REGISTRY:-ghcr.io/odatis}
IMAGES=${IMAGES:-base ocean hub ml}
CACHE=${ODATIS_VRE_CACHE:-/var/cache/odatis-vre}
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

if ! command -v podman >/dev/null 2>&1; then
  echo "images/build.sh: podman is not installed. Run \`make images\` (it installs and configures podman" >&2
  echo "and debootstrap with apt), or images/podman-setup.sh, then run this again." >&2
  exit 1
fi
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)
mkdir -p "$CACHE/pip"

# ---- the Debian base: debootstrap once per suite and mirror, imported into podman once
# BASE_SALT (benchmarks/bench_images.py) makes a base of its own: a cold build beside the cached one
key=$(printf '%s %s%s' "$SUITE" "$MIRROR" "${BASE_SALT:+ $BASE_SALT}" | sha256sum | cut -c1-12)
DEBIAN="localhost/odatis-vre-debian:$SUITE-$key"
if ! podman image exists "$DEBIAN"; then
  tarball="$CACHE/debian-$SUITE-$key.tar"
  if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null 2>&1 || { echo "images/build.sh: debootstrap is missing: run images/podman-setup.sh" >&2; exit 1; }
    root=$(mktemp -d "$CACHE/debootstrap.XXXXXX")
    echo "== debootstrap --variant=minbase $SUITE (cached in $tarball)"
    debootstrap --variant=minbase "$SUITE" "$root" "$MIRROR" >"$root.log" 2>&1 || {
      tail -20 "$root.log" >&2; rm -rf "$root" "$root.log"
      echo "images/build.sh: debootstrap failed (above); check that $MIRROR is reachable." >&2; exit 1; }
    rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
    tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$root" "$root.log"
  fi
  podman import --quiet "$tarball" "$DEBIAN" >/dev/null
fi

# ---- the host's pip configuration, for pip inside the builds
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$PYTHON" "$REPO/images/pipconf.py" "$WORK/pip.conf" > "$WORK/mounts"
MOUNTS="-v $WORK/pip.conf:/etc/pip.conf:ro -v $CACHE/pip:/root/.cache/pip"
while read -r spec; do MOUNTS="$MOUNTS -v $spec:ro"; done < "$WORK/mounts"

# ---- the build context: what the Dockerfiles copy, never .venv or the sample data
CTX="$WORK/context"
mkdir -p "$CTX/catalog"
cp -r "$REPO/images" "$REPO/odatis_vre" "$REPO/hub" "$REPO/notebooks" "$REPO/pyproject.toml" "$REPO/README.md" "$CTX/"
cp "$REPO/catalog/odatis.yaml" "$CTX/catalog/"
find "$CTX" -name __pycache__ -prune -exec rm -rf {} +
# a stable modification time: podman's layer cache keys COPY on content and metadata
find "$CTX" -exec touch -h -d 2026-01-01T00:00:00Z {} +

build() {  # name, build args...
  name=$1; shift
  case " $IMAGES " in *" $name "*) ;; *) return 0 ;; esac
  echo "== podman build $REGISTRY/vre-$name:$TAG"
  start=$(date +%s)
  # shellcheck disable=SC2086
  podman build --layers --network=host $MOUNTS -f "$CTX/images/$name/Dockerfile" \
    -t "$REGISTRY/vre-$name:$TAG" "$@" "$CTX"
  echo "== built $REGISTRY/vre-$name:$TAG in $(( $(date +%s) - start )) s"
}
build base --build-arg "DEBIAN=$DEBIAN"
build ocean --build-arg "BASE=$REGISTRY/vre-base:$TAG"
build hub --build-arg "BASE=$REGISTRY/vre-base:$TAG"
build ml --build-arg "OCEAN=$REGISTRY/vre-ocean:$TAG"
echo "Built ($IMAGES) as $REGISTRY/vre-<name>:$TAG. Set this tag in vre.yaml (profiles[].image) and in the"
echo "chart's values (jupyterhub.hub.image, dask-gateway.gateway.image and .backend.image), then push."
