#!/usr/bin/env bash
# Makes a minimal Debian 12 (bookworm) root filesystem in DIR with debootstrap, from the Debian
# mirror this machine's apt uses (deb.debian.org unless APT is configured otherwise).
set -euo pipefail
dir=${1:?usage: make-debian-rootfs.sh DIR}
command -v debootstrap >/dev/null 2>&1 || bash "$(dirname "$0")/ensure-packages.sh" debootstrap
mirror=$(grep -hoE '^URIs: *http[^ ]*/debian$' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | sed 's/^URIs: *//')
mirror=${mirror:-http://deb.debian.org/debian}
debootstrap --variant=minbase bookworm "$dir" "$mirror" >/dev/null
# A base image does not carry apt's downloaded lists and packages.
rm -rf "$dir"/var/lib/apt/lists/* "$dir"/var/cache/apt/archives/*.deb
