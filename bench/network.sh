# network.sh: the network part of bench/run.sh, sourced by it (it uses
# run.sh's villa, villa_kernel, accel, work, bin, record, say and
# failures). Each boot runs bench/net-server.c in a guest behind a port
# forward and bench/net-client.c on the host against it; the client's
# "value NAME VALUE UNIT" lines become results.
#
# Linux runs on q35 (see tools/linux-guest.sh: on microvm it has no
# network card), with its virtio_pci and virtio_net modules packed into
# the initramfs; Villa runs on q35 and on microvm. Environment:
# BENCH_NET_RUNS (3), BENCH_NET_BYTES (32 MiB), BENCH_NET_CONNECTIONS
# (4), BENCH_NET_SECONDS (5).

net_runs=${BENCH_NET_RUNS:-3}
net_bytes=${BENCH_NET_BYTES:-33554432}
net_connections=${BENCH_NET_CONNECTIONS:-4}
net_seconds=${BENCH_NET_SECONDS:-5}

gcc "${cflags[@]}" -o "$bin/net-server" bench/net-server.c
gcc -O2 -Wall -Werror -pthread -o "$work/net-client" bench/net-client.c
LINUX_GUEST_MODULES="virtio_pci virtio_net" \
  tools/linux-guest.sh initramfs "$bin/net-server" "$work/net-server.cpio"

# A TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    # bash's /dev/tcp connects: failing means no listener.
    (: <"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
  done
  echo "$port"
}

# net_boot SYSTEM MACHINE OUT PORT ARGS... starts the server's guest in
# the background; its PID is in net_pid.
net_boot() {
  local system=$1 machine=$2 out=$3 port=$4
  shift 4
  if [ "$system" = villa ]; then
    "$villa" run --accel "$accel" --kernel "$villa_kernel" \
      --machine "$machine" --timeout 300 -p "127.0.0.1:$port:8000" \
      "$bin/net-server" "$@" >"$out" 2>"$out.err" &
  else
    tools/linux-guest.sh boot --accel "$accel" --timeout 300 \
      --machine "$machine" --forward "$port:8000" \
      "$work/net-server.cpio" "$@" >"$out" 2>"$out.err" &
  fi
  net_pid=$!
}

# One boot per workload: records the client's figures under MODE, or
# writes the failure down. Returns non-zero when the run failed.
net_measure() {
  local system=$1 machine=$2 mode=$3 run=$4 workload=$5 port status=0
  local out=$work/out/$system-$machine-net-$workload-$run
  port=$(free_port)
  case $workload in
    stream)
      net_boot "$system" "$machine" "$out" "$port" stream 8000 "$net_bytes"
      "$work/net-client" stream "$port" "$net_bytes" >"$out.client" \
        2>"$out.client.err" || status=$? ;;
    http)
      net_boot "$system" "$machine" "$out" "$port" http 8000
      "$work/net-client" http "$port" "$net_connections" "$net_seconds" \
        >"$out.client" 2>"$out.client.err" || status=$? ;;
  esac
  [ "$status" -eq 0 ] || kill "$net_pid" 2>/dev/null || true
  wait "$net_pid" || [ "$status" -ne 0 ] || status=$?
  if [ "$status" -ne 0 ]; then
    {
      echo "$system on $machine, network $workload, run $run:" \
        "status $status"
      tail -n 6 "$out.client.err" "$out.err" 2>/dev/null | sed 's/^/    /'
    } >>"$failures"
    say "$system $workload on $machine failed with status $status"
    return 1
  fi
  awk -v prefix="$system	$mode" -v run="$run" '
    $1 == "value" { print prefix "\t" $2 "\t" run "\t" $3 "\t" $4 }
  ' "$out.client" >>"$results"
}

# A machine whose first boot fails (Villa on q35 before it drives PCI
# cards) is not tried again.
declare -A net_broken=()
for ((run = 1; run <= net_runs; run++)); do
  for workload in stream http; do
    say "network $workload: run $run of $net_runs"
    for target in villa:q35:network villa:microvm:network-microvm \
                  linux:q35:network; do
      IFS=: read -r system machine mode <<<"$target"
      [ -z "${net_broken[$system-$machine]:-}" ] || continue
      net_measure "$system" "$machine" "$mode" "$run" "$workload" ||
        [ "$run" -gt 1 ] || net_broken[$system-$machine]=1
    done
  done
done
