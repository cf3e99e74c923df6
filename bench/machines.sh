#!/usr/bin/env bash
# Boot time on each QEMU machine villa offers: the static hello booted
# BENCH_BOOT_RUNS times (11) on microvm, on q35 (SeaBIOS, what villa
# uses) and on q35 with qboot as its firmware (QEMU's minimal one, which
# leaves PCI to the kernel), alternating, so that load from other work on
# the host falls on all. Prints, per configuration,
# the median and the spread of three figures: the wall time of `villa
# run` from start to exit (QEMU start-up, firmware, kernel, program);
# the time from the VM's start to the program's first instruction
# (firmware and kernel: under TCG the guest TSC counts from the VM's
# start, and the hello reads it first thing); and the kernel's own
# "boot done" time (its clock starts with the kernel, so firmware time
# is not in it). It measures; nothing passes or fails.
#
# Environment: VILLA (the villa binary; swift build when unset),
# VILLA_KERNEL (tools/build-kernel.sh when unset), BENCH_ACCEL (tcg),
# BENCH_BOOT_RUNS.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
runs=${BENCH_BOOT_RUNS:-11}
accel=${BENCH_ACCEL:-tcg}
work=.build/bench-machines
mkdir -p "$work"

if [ -z "${VILLA:-}" ]; then
  swift build --product villa >&2
  VILLA=$root/.build/debug/villa
fi
export VILLA_KERNEL=${VILLA_KERNEL:-$(tools/build-kernel.sh)}
gcc -static -O2 -o "$work/hello" bench/hello.c

: >"$work/results.tsv"
configurations=(microvm q35 q35-qboot)
declare -A options=(
  [microvm]="--machine microvm" [q35]="--machine q35"
  [q35-qboot]="--machine q35 --qemu-arg=-bios --qemu-arg=qboot.rom"
)
for ((run = 1; run <= runs; run++)); do
  for machine in "${configurations[@]}"; do
    start=$(date +%s%N)
    # shellcheck disable=SC2086  # the options are words on purpose
    "$VILLA" run ${options[$machine]} --accel "$accel" --kernel-log \
      "$work/hello" >"$work/out" 2>"$work/log"
    end=$(date +%s%N)
    kernel=$(sed -n 's/.*boot done in \([0-9]*\) us.*/\1/p' "$work/log")
    mhz=$(sed -n 's/.*clock: TSC \([0-9]*\) MHz.*/\1/p' "$work/log")
    ticks=$(sed -n 's/^value boot.first_instruction \([0-9]*\).*/\1/p' \
      "$work/out")
    printf '%s\t%s\t%s\t%s\n' "$machine" $(((end - start) / 1000)) \
      $((${ticks:-0} / ${mhz:-1})) "${kernel:-0}" >>"$work/results.tsv"
  done
done

# Median, lowest and highest of column $2 for machine $1, in ms.
summary() {
  awk -F'\t' -v m="$1" -v c="$2" '$1 == m { print $c }' \
    "$work/results.tsv" | sort -n | awk '
    { v[NR] = $1 }
    END { printf "%7.1f ms (%.1f to %.1f)", v[int((NR + 1) / 2)] / 1000,
          v[1] / 1000, v[NR] / 1000 }'
}
echo "boot of the static hello, $runs runs per machine, $accel:"
for machine in "${configurations[@]}"; do
  printf '  %-9s villa run to exit        %s\n' "$machine" \
    "$(summary "$machine" 2)"
  printf '  %-9s VM start to main()        %s\n' "" "$(summary "$machine" 3)"
  printf '  %-9s kernel start to program   %s\n' "" "$(summary "$machine" 4)"
done
