#!/bin/sh
# Install and configure what `make images` builds with: podman (root, runtime runc, cgroupfs) and
# debootstrap. Safe to run again; it changes nothing of the host's own container settings but adds
# one drop-in file, /etc/containers/containers.conf.d/odatis-vre.conf.
#   images/podman-setup.sh          install (apt) when missing, then write the drop-in
# Why these settings (../shared/probes.md, checked on this kind of machine): crun fails here and runc
# works; there is no systemd to manage cgroups (cgroupfs); the default ulimits are too low for
# JupyterLab and Dask (nofile) and for a pip install (nproc).
set -eu
if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
missing=
for tool in podman:podman runc:runc debootstrap:debootstrap; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing="$missing ${tool#*:}"
done
if [ -n "$missing" ]; then
  echo "images: installing$missing (apt)"
  $SUDO apt-get update -q
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends$missing \
    uidmap fuse-overlayfs slirp4netns netavark aardvark-dns conmon golang-github-containers-common
fi
conf=/etc/containers/containers.conf.d/odatis-vre.conf
want='# Written by odatis-vre images/podman-setup.sh: podman as root on a machine without systemd.
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
'
if [ "$(cat "$conf" 2>/dev/null)" != "$(printf '%s' "$want")" ]; then
  $SUDO mkdir -p "$(dirname "$conf")"
  printf '%s' "$want" | $SUDO tee "$conf" >/dev/null
  echo "images: wrote $conf"
fi
# a one-line check that podman starts with these settings (fails with podman's own message)
podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Store.GraphDriverName}}' >/dev/null
