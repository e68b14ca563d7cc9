#!/usr/bin/env bash
# Makes a minimal root filesystem from Debian's busybox-static in DIR (an empty or new directory):
# /bin/busybox with a symlink per applet, and the /etc files a base image is expected to have.
set -euo pipefail
dir=${1:?usage: make-busybox-rootfs.sh DIR}
bb=/bin/busybox
[ -x "$bb" ] || { echo "busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$dir"/{bin,etc,root,tmp,var,home,proc,sys,dev,usr/bin,usr/sbin,sbin}
chmod 1777 "$dir/tmp"
cp "$bb" "$dir/bin/busybox"
for applet in $("$bb" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$dir/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/home:/bin/false\nkiln:x:1000:1000:kiln:/home/kiln:/bin/sh\n' >"$dir/etc/passwd"
printf 'root:x:0:\ndaemon:x:1:\nusers:x:100:kiln\nkiln:x:1000:\nnogroup:x:65534:\n' >"$dir/etc/group"
# Fixed mtimes so the same busybox gives the same image.
find "$dir" -exec touch -h -d @0 {} +
