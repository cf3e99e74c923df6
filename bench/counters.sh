#!/usr/bin/env bash
# What the kernel's counters cost: bench/syscalls.c (getpid and 64-byte
# writes to /dev/null, the calls where per-call counting weighs most) on
# the normal kernel and on one built with the counters compiled out
# (-DVILLA_NO_COUNTERS: no TSC reads or table updates around each system
# call, and every other counter a no-op), printed side by side with the
# ratio. Nothing passes or fails: it measures and reports.
#
# Two ways, as bench/run.sh does: "icount" boots each kernel
# COUNTERS_ICOUNT_RUNS times (2) under QEMU's -icount shift=0, where one
# guest instruction is one tick, so the figures do not depend on the
# host's load and repeat exactly; "timed" boots each
# COUNTERS_RUNS times (5), alternating, and takes the median of the
# ticks the program reports (under TCG the guest TSC is the host's).
#
# Output: the table on stdout; with COUNTERS_REPORT=FILE (bench/run.sh
# passes docs/benchmarks.md) the section between the "counters-overhead"
# markers of FILE is replaced by it, or appended when FILE has none.
# Environment: VILLA, VILLA_KERNEL as for bench/run.sh; the compiled-out
# kernel is built into .build-kernel-nocounters.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

runs=${COUNTERS_RUNS:-5}
icount_runs=${COUNTERS_ICOUNT_RUNS:-2}
report=${COUNTERS_REPORT:-}
calls=20000
work=.build/bench-counters
say() { echo "counters: $*" >&2; }

mkdir -p "$work/out"
villa=${VILLA:-}
if [ -z "$villa" ]; then
  swift build --product villa -c release >&2
  villa=$root/.build/release/villa
fi
say "building the kernel, and the kernel without counters"
cp "${VILLA_KERNEL:-$(tools/build-kernel.sh)}" "$work/kernel-counters"
cp "$(VILLA_KERNEL_SCRATCH=.build-kernel-nocounters tools/build-kernel.sh \
        -Xswiftc -DVILLA_NO_COUNTERS)" "$work/kernel-nocounters"
gcc -static -O2 -Wall -Werror -std=gnu11 -D_GNU_SOURCE -Ibench \
  -o "$work/syscalls" bench/syscalls.c
tsc_hz=$(gcc -O2 -o "$work/host-tsc-rate" bench/host-tsc-rate.c &&
         "$work/host-tsc-rate")

icount_qemu=(-icount shift=0,sleep=off
             -rtc base=2026-01-01T00:00:00,clock=vm
             -cpu max,rdrand=off,rdseed=off)

# One boot: KERNEL (counters or nocounters), MODE (timed or icount), RUN.
# Appends "kernel mode figure value" lines to results.
: >"$work/results"
boot() {
  local kernel=$1 mode=$2 run=$3 extra=()
  local out=$work/out/$kernel-$mode-$run
  if [ "$mode" = icount ]; then
    for argument in "${icount_qemu[@]}"; do
      extra+=(--qemu-arg "$argument")
    done
  fi
  "$villa" run --accel tcg --kernel "$work/kernel-$kernel" --timeout 300 \
    "${extra[@]}" "$work/syscalls" "$calls" >"$out" 2>"$out.err" || {
    say "$kernel ($mode, run $run) failed; see $out.err"
    return
  }
  awk -v prefix="$kernel $mode" '$1 == "result" { print prefix, $2, $3 }' \
    "$out" >>"$work/results"
}

for ((run = 1; run <= icount_runs; run++)); do
  say "icount: run $run of $icount_runs"
  boot counters icount "$run"
  boot nocounters icount "$run"
done
for ((run = 1; run <= runs; run++)); do
  say "timed: run $run of $runs"
  boot counters timed "$run"
  boot nocounters timed "$run"
done

# The table: per figure and mode, the median over boots of each kernel,
# in ticks (icount: instructions) and ns per call, and the ratio.
table=$(sort -k1,1 -k2,2 -k3,3 -k4,4n "$work/results" | awk -v hz="$tsc_hz" '
  { key = $2 " " $3; values[$1, key, ++count[$1, key]] = $4; keys[key] = 1 }
  function median(kernel, key,   n) {
    n = count[kernel, key]
    if (n == 0) return -1
    return n % 2 ? values[kernel, key, (n + 1) / 2] \
      : (values[kernel, key, n / 2] + values[kernel, key, n / 2 + 1]) / 2
  }
  END {
    print "| figure | mode | with counters | compiled out | ratio |"
    print "|---|---|---|---|---|"
    for (key in keys) order[++n] = key
    for (i = 1; i <= n; i++)
      for (j = i + 1; j <= n; j++)
        if (order[j] < order[i]) {
          t = order[i]; order[i] = order[j]; order[j] = t
        }
    for (i = 1; i <= n; i++) {
      split(order[i], part, " ")
      with = median("counters", order[i])
      without = median("nocounters", order[i])
      if (with < 0 || without < 0) continue
      if (part[1] == "icount")
        unit = sprintf("%.0f instr", with) "|" sprintf("%.0f instr", without)
      else
        unit = sprintf("%.0f ns", with * 1e9 / hz) "|" \
          sprintf("%.0f ns", without * 1e9 / hz)
      split(unit, shown, "|")
      printf "| %s | %s | %s | %s | %.3f |\n", part[2], part[1], shown[1], \
        shown[2], with / without
    }
  }')

commit=$(git rev-parse --short HEAD 2>/dev/null || echo '?')
section=$(cat <<EOF
<!-- counters-overhead begin: bench/counters.sh writes this section -->
## What the counters cost

\`bench/syscalls.c\` (${calls} calls per round) on the normal kernel and
on one built with \`-DVILLA_NO_COUNTERS\`, which leaves out the two TSC
reads and the table updates around every system call and makes every
other counter a no-op. Medians per call over ${icount_runs} boots under
\`-icount shift=0\` (one tick per guest instruction: exact and
repeatable) and ${runs} timed boots under TCG (noisy: other work shares
the host). The ratio is with ÷ without.

${table}

Measured $(date -u '+%Y-%m-%d %H:%M UTC') at ${commit}.
<!-- counters-overhead end -->
EOF
)
echo "$section"

if [ -n "$report" ]; then
  if [ -f "$report" ] && grep -q '^<!-- counters-overhead begin' "$report"
  then
    awk -v section="$section" '
      /^<!-- counters-overhead begin/ { print section; skip = 1; next }
      /^<!-- counters-overhead end/ { skip = 0; next }
      !skip { print }' "$report" >"$report.tmp"
    mv "$report.tmp" "$report"
  else
    printf '\n%s\n' "$section" >>"$report"
  fi
  say "wrote the section to $report"
fi
