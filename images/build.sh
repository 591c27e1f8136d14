#!/bin/sh
# Build the curated images with docker, else podman (make images): base -> ocean -> ml, and hub.
#   images/build.sh [TAG]      TAG defaults to today's date (YYYY.MM.DD); REGISTRY defaults to ghcr.io/odatis
# The build context is a staged copy of what the Dockerfiles use (images/, odatis_vre/, hub/,
# catalog/odatis.yaml, pyproject.toml, README.md) — never the .venv or the sample data.
set -eu
REPO=$(cd "$(dirname "$0")/.." && pwd)
TAG=${1:-$(date +%Y.%m.%d)}
REGISTRY=${REGISTRY:-ghcr.io/odatis}
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then ENGINE=docker
elif command -v podman >/dev/null 2>&1; then ENGINE=podman
else
  echo "make images: neither docker (with a running daemon) nor podman is installed. Install one" >&2
  echo "(apt-get install podman) and run it again; images/README.md says how the images are built." >&2
  exit 1
fi
CTX=$(mktemp -d)
trap 'rm -rf "$CTX"' EXIT
mkdir -p "$CTX/catalog"
cp -r "$REPO/images" "$REPO/odatis_vre" "$REPO/hub" "$REPO/pyproject.toml" "$REPO/README.md" "$CTX/"
cp "$REPO/catalog/odatis.yaml" "$CTX/catalog/"
find "$CTX" -name __pycache__ -prune -exec rm -rf {} +
build() {  # name, extra build args...
  name=$1; shift
  echo "== $ENGINE build $REGISTRY/vre-$name:$TAG"
  "$ENGINE" build -f "$CTX/images/$name/Dockerfile" -t "$REGISTRY/vre-$name:$TAG" "$@" "$CTX"
}
build base
build ocean --build-arg "BASE=$REGISTRY/vre-base:$TAG"
build ml --build-arg "OCEAN=$REGISTRY/vre-ocean:$TAG"
build hub
echo "Built $REGISTRY/vre-{base,ocean,ml,hub}:$TAG. Set this tag in vre.yaml (profiles[].image) and in the"
echo "chart's values (jupyterhub.hub.image, dask-gateway.gateway.image and .backend.image), then push."
