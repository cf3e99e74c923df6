#!/usr/bin/env bash
# Builds every conformance program in testprogs/ three ways, each into its
# own folder:
#   .build/testprogs/glibc/NAME       gcc -static
#   .build/testprogs/musl/NAME        musl-gcc -static
#   .build/testprogs/static-pie/NAME  gcc -static-pie
# A program is rebuilt only when its source, testprogs/check.h or this
# script (its flags) is newer than the binary. Adding a program is adding
# testprogs/NAME.c; nothing here names programs. Prints the output folder
# on success. VILLA_BUILD_JOBS sets how many compilers run at once (2).
#
# Usage: tools/build-testprogs.sh [NAME...]   (default: every program)
set -euo pipefail
cd "$(dirname "$0")/.."

out=.build/testprogs
cflags=(-O2 -Wall -Werror -std=gnu11 -D_GNU_SOURCE -pthread -Itestprogs)
header=testprogs/check.h
self=tools/build-testprogs.sh
jobs=${VILLA_BUILD_JOBS:-2}

for tool in gcc musl-gcc; do
  command -v "$tool" >/dev/null || {
    echo "build-testprogs: $tool is missing; run tools/setup.sh" >&2
    exit 1
  }
done

if [ $# -gt 0 ]; then
  sources=()
  for name in "$@"; do sources+=("testprogs/$name.c"); done
else
  sources=(testprogs/*.c)
fi

# One line per binary that is out of date: "FLAVOUR SOURCE OUTPUT".
stale=()
for source in "${sources[@]}"; do
  [ -f "$source" ] || { echo "build-testprogs: no $source" >&2; exit 1; }
  name=$(basename "$source" .c)
  for flavour in glibc musl static-pie; do
    binary="$out/$flavour/$name"
    if [ ! -f "$binary" ] || [ "$source" -nt "$binary" ] ||
       [ "$header" -nt "$binary" ] || [ "$self" -nt "$binary" ]; then
      stale+=("$flavour $source $binary")
    fi
  done
done

mkdir -p "$out/glibc" "$out/musl" "$out/static-pie"

# Compiles one binary to a temporary name first, so that a failed or
# interrupted build never leaves a binary that looks up to date.
build_one() {
  local flavour=$1 source=$2 binary=$3
  local -a compiler
  case $flavour in
    glibc) compiler=(gcc -static) ;;
    musl) compiler=(musl-gcc -static) ;;
    static-pie) compiler=(gcc -static-pie -fPIE) ;;
  esac
  "${compiler[@]}" "${cflags[@]}" -o "$binary.tmp" "$source" -lm &&
    mv -f "$binary.tmp" "$binary"
}
export -f build_one
export cflags_string="${cflags[*]}"

if [ ${#stale[@]} -gt 0 ]; then
  echo "build-testprogs: building ${#stale[@]} binaries" >&2
  # Word splitting of cflags_string is intended: the flags have no spaces.
  printf '%s\n' "${stale[@]}" |
    xargs -P "$jobs" -L 1 bash -c \
      'cflags=($cflags_string); build_one "$@"' build_one
fi

echo "$PWD/$out"
