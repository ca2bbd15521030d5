#!/bin/bash
# Makes the CPU image's base where no image registry is reachable: a Debian bookworm image from the Debian package
# mirror, with what debian:bookworm-slim holds (minbase: apt, no man pages, docs or translations) plus ca-certificates.
#
#   sudo manifests/images/debian-base.sh [tag]          # default tag: localhost/debian:bookworm
#
# Needs mmdebstrap and podman (as root). The merged-/usr hook lays out /usr itself, so the usrmerge package (and the
# 47 MB of perl it depends on) stays out.
set -euo pipefail

tag=${1:-localhost/debian:bookworm}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mmdebstrap --variant=minbase --include=ca-certificates \
    --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    bookworm "$work/rootfs.tar"
podman import --change 'CMD ["bash"]' "$work/rootfs.tar" "$tag"
