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
# The vDSO first: a tiny user-mode shared object without libc, embedded
# in the kernel by arch/x86_64/vdso-image.S (which Package.swift points
# at the output path). SwiftPM does not see that dependency, so the
# embedding file is touched when the object's bytes change.
vdso_dir=.build-kernel/vdso
mkdir -p "$vdso_dir"
"$swift_bin/clang" --target=x86_64-unknown-linux-gnu -O2 -fPIC \
  -ffreestanding -fno-builtin -fno-stack-protector \
  -fno-asynchronous-unwind-tables -mgeneral-regs-only -Wall -Werror \
  -c arch/x86_64/vdso/vdso.c -o "$vdso_dir/vdso.o"
"$swift_bin/ld.lld" -shared -soname linux-vdso.so.1 --hash-style=both \
  --build-id=none -z max-page-size=4096 -z noexecstack \
  -T arch/x86_64/vdso/vdso.lds "$vdso_dir/vdso.o" -o "$vdso_dir/vdso.so.new"
if ! cmp -s "$vdso_dir/vdso.so.new" "$vdso_dir/vdso.so"; then
  mv "$vdso_dir/vdso.so.new" "$vdso_dir/vdso.so"
  touch arch/x86_64/vdso-image.S
else
  rm "$vdso_dir/vdso.so.new"
fi

# A scratch folder of its own: the host build's .build stays locked while
# `swift test` runs, and the tests build the kernel. VILLA_KERNEL_SCRATCH
# names another, for a variant built with extra flags (bench/counters.sh
# passes -Xswiftc -DVILLA_NO_COUNTERS) that must not replace this one.
scratch=${VILLA_KERNEL_SCRATCH:-.build-kernel}
VILLA_KERNEL_BUILD=1 swift build --scratch-path "$scratch" \
  --triple x86_64-unknown-none-elf --traits Kernel \
  --product villa-kernel -c release -Xlinker "-L$tables" "$@" >&2
echo "$PWD/$scratch/x86_64-unknown-none-elf/release/villa-kernel"
