#!/usr/bin/env bash
# Installs what Villa needs on a Debian machine that already has the Swift
# toolchain: QEMU to boot the kernel, and the C compilers and libraries that
# build the test programs three ways (glibc static, musl static, static-pie).
# Safe to run again: it installs only what is missing.
set -euo pipefail

# cpio packs the Linux guest's initramfs for the benchmarks and
# e2fsprogs makes its ext4 disk; curl is the host's HTTP client in the
# network tests and benchmarks.
packages=(qemu-system-x86 gcc gcc-multilib musl-tools busybox-static
          golang-go strace cpio e2fsprogs curl)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
    missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

command -v swift >/dev/null ||
  { echo "setup: the Swift toolchain is not on PATH" >&2; exit 1; }
