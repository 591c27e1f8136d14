#!/bin/sh
# helm lint --strict and helm template of the odatis-vre chart (make helm-check).
#   helm/check.sh            offline: the pinned upstream charts from ../shared/charts/*.tgz (CHARTS=DIR to
#                            take them elsewhere), copied into charts/ as `helm dependency build` would
#   helm/check.sh --upstream the same charts fetched by `helm dependency build` (needs
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
  CHARTS=${CHARTS:-$(dirname "$REPO")/shared/charts}
  rm -rf "$WORK/odatis-vre/charts"; mkdir -p "$WORK/odatis-vre/charts"
  # the pins of Chart.yaml's dependencies, as NAME-VERSION
  for dep in $(awk '/- name:/ {n=$3} /version:/ {if (n) {gsub(/"/, "", $2); print n "-" $2; n=""}}' "$HERE/odatis-vre/Chart.yaml"); do
    [ -f "$CHARTS/$dep.tgz" ] || { echo "$CHARTS/$dep.tgz is missing: put the pinned charts there, or use --upstream" >&2; exit 1; }
    cp "$CHARTS/$dep.tgz" "$WORK/odatis-vre/charts/"
  done
fi
ARGS="-n odatis --set-file vreConfig=$HERE/odatis-vre/examples/vre.yaml --set secrets.existingSecret=odatis-vre-secrets"
# shellcheck disable=SC2086
"$HELM" lint --strict "$WORK/odatis-vre" $ARGS
OUT=${OUT:-$WORK/manifests.yaml}
# shellcheck disable=SC2086
"$HELM" template odatis-vre "$WORK/odatis-vre" $ARGS > "$OUT"
echo "helm template: $(grep -c '^kind:' "$OUT") manifests"
grep '^kind:' "$OUT" | sort | uniq -c
