#!/bin/sh
# helm lint --strict and helm template of the odatis-vre chart (make helm-check).
#   helm/check.sh            offline: the stand-in subcharts of tests/charts/ (no chart registry needed)
#   helm/check.sh --upstream the real jupyterhub and dask-gateway charts (`helm dependency build`, needs
#                            https://hub.jupyter.org/helm-chart/ and https://helm.dask.org/)
# Both render with helm/odatis-vre/examples/vre.yaml and secrets.existingSecret=odatis-vre-secrets;
# the manifests go to $OUT (default: a temporary file) and their kinds are counted.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
HELM=${HELM:-$REPO/.tools/bin/helm}
[ -x "$HELM" ] || HELM=$(command -v helm) || { echo "helm not found: run make tools" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r "$HERE/odatis-vre" "$WORK/odatis-vre"
if [ "${1:-}" = "--upstream" ]; then
  "$HELM" dependency build "$WORK/odatis-vre"
else
  rm -rf "$WORK/odatis-vre/charts"; mkdir -p "$WORK/odatis-vre/charts"
  cp -r "$REPO/tests/charts/jupyterhub" "$REPO/tests/charts/dask-gateway" "$WORK/odatis-vre/charts/"
fi
ARGS="-n odatis --set-file vreConfig=$HERE/odatis-vre/examples/vre.yaml --set secrets.existingSecret=odatis-vre-secrets"
# shellcheck disable=SC2086
"$HELM" lint --strict "$WORK/odatis-vre" $ARGS
OUT=${OUT:-$WORK/manifests.yaml}
# shellcheck disable=SC2086
"$HELM" template odatis-vre "$WORK/odatis-vre" $ARGS > "$OUT"
echo "helm template: $(grep -c '^kind:' "$OUT") manifests"
grep '^kind:' "$OUT" | sort | uniq -c
