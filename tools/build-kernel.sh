#!/usr/bin/env bash
# Builds the Villa kernel ELF with SwiftPM for the bare-metal triple and
# prints its path. Incremental: a second run without changes takes seconds.
#
# The kernel links the toolchain's Unicode data tables (String comparison
# and grapheme breaking need them). The toolchain ships them built for
# x86_64 under its embedded library folder; they are plain data and code
# with no OS dependency, so the Linux-triple copy serves bare metal too.
set -euo pipefail
cd "$(dirname "$0")/.."
swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
tables="$swift_bin/../lib/swift/embedded/x86_64-unknown-linux-gnu"
[ -f "$tables/libswiftUnicodeDataTables.a" ] || {
  echo "build-kernel: no libswiftUnicodeDataTables.a under $tables" >&2
  exit 1
}
# A scratch folder of its own: the host build's .build stays locked while
# `swift test` runs, and the tests build the kernel. VILLA_KERNEL_SCRATCH
# names another, for a variant built with extra flags (bench/counters.sh
# passes -Xswiftc -DVILLA_NO_COUNTERS) that must not replace this one.
scratch=${VILLA_KERNEL_SCRATCH:-.build-kernel}
VILLA_KERNEL_BUILD=1 swift build --scratch-path "$scratch" \
  --triple x86_64-unknown-none-elf --traits Kernel \
  --product villa-kernel -c release -Xlinker "-L$tables" "$@" >&2
echo "$PWD/$scratch/x86_64-unknown-none-elf/release/villa-kernel"
