#!/usr/bin/env bash
# The Linux baseline for Villa's benchmarks: Debian's cloud kernel booted
# in the very QEMU machine Villa uses, with a one-program initramfs, so
# that the same static binary can be timed under both kernels.
#
# Everything comes from Debian packages through apt-get and lands in
# .build/linux-guest/, never in git:
#   kernel     apt-get download of linux-image-cloud-amd64 (a metapackage)
#              and of the image package it depends on; dpkg -x; vmlinuz.
#              The cloud flavour boots on -M microvm under TCG, the
#              generic one hangs there.
#   init       bench/linux-init.c, built static: pid 1 mounts /dev, /proc
#              and /tmp, loads the modules packed with it, configures
#              the network card if there is one, runs /prog, and ends
#              the VM through isa-debug-exit with the program's status.
#   modules    the cloud kernel builds its virtio drivers as modules;
#              LINUX_GUEST_MODULES="virtio_mmio virtio_net" packs those
#              named, with what they depend on, into the initramfs.
#
# Usage:
#   tools/linux-guest.sh kernel                  print vmlinuz's path
#   tools/linux-guest.sh init                    build init; print its path
#   tools/linux-guest.sh initramfs PROGRAM OUT   pack /init and PROGRAM
#                                                as /prog into OUT (newc)
#   tools/linux-guest.sh mkfs IMAGE SIZE         a sparse ext4 image of
#                                                SIZE (e.g. 256M)
#   tools/linux-guest.sh boot [OPTIONS] INITRAMFS [ARGS...]
#   tools/linux-guest.sh run [OPTIONS] PROGRAM [ARGS...]
#   tools/linux-guest.sh command [OPTIONS] INITRAMFS [ARGS...]
#                                                print QEMU's command line
# OPTIONS: --memory SIZE (256M; MiB, or NM / NG), --timeout SECONDS (120),
#          --accel tcg|kvm (tcg), --qemu-arg ARG (appended to QEMU's
#          line, repeatable), --console FILE (keep the kernel console),
#          --forward HOSTPORT:GUESTPORT (repeatable: a virtio-net card on
#          QEMU's user network, as Villa's, with that TCP port forwarded
#          from 127.0.0.1; the initramfs then needs the network modules),
#          --machine microvm|q35 (microvm). The cloud kernel's virtio_mmio
#          module cannot take microvm's device list from the command line
#          (it is built without that option), so a Linux guest reaches a
#          virtio card only on q35, through virtio_pci.
#          --disk IMAGE (a raw image as a virtio-blk disk on microvm,
#          attached with the options `villa run --image` uses; the
#          initramfs needs the modules virtio_mmio and virtio_blk, and
#          init mounts the disk, ext4, on /data). For the disk the guest's
#          microvm has ACPI on, the one way this kernel finds virtio-mmio
#          devices. --tsc-khz KHZ gives Linux the TSC rate
#          (tsc_early_khz): with ACPI on, its TSC calibration against the
#          PIT fails on a loaded host and the boot then hangs.
#
# boot and run behave like `villa run`: the program's stdout and stderr
# come out separately, and the exit status is the program's, 124 on a
# timeout, 125 when the VM ended without a status.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/.build/linux-guest"
metapackage=linux-image-cloud-amd64

die() { echo "linux-guest: $*" >&2; exit 125; }

# Downloads and unpacks the kernel once; prints vmlinuz's path.
kernel() {
  local vmlinuz="$out/vmlinuz"
  if [ ! -f "$vmlinuz" ]; then
    mkdir -p "$out/debs"
    # apt-get download writes into the current folder. As root it warns
    # that the _apt user cannot write there; the download still works.
    (cd "$out/debs" && apt-get download -q "$metapackage") >&2 ||
      die "apt-get download $metapackage failed"
    local meta image
    meta=$(ls "$out"/debs/"$metapackage"_*.deb | tail -n 1)
    # The metapackage only depends on the versioned image package.
    image=$(dpkg-deb -f "$meta" Depends | tr ',|' '\n\n' |
      sed 's/ *(.*//; s/^ *//' | grep '^linux-image-' | head -n 1)
    [ -n "$image" ] || die "no linux-image dependency in $meta"
    (cd "$out/debs" && apt-get download -q "$image") >&2 ||
      die "apt-get download $image failed"
    rm -rf "$out/package"
    dpkg -x "$out"/debs/"$image"_*.deb "$out/package"
    cp "$out"/package/boot/vmlinuz-* "$vmlinuz.tmp"
    mv "$vmlinuz.tmp" "$vmlinuz"
    echo "$image" >"$out/kernel-package"
  fi
  echo "$vmlinuz"
}

# Builds the static init when its source is newer; prints its path.
init() {
  local source="$root/bench/linux-init.c" binary="$out/init"
  mkdir -p "$out"
  if [ ! -f "$binary" ] || [ "$source" -nt "$binary" ]; then
    gcc -static -O2 -Wall -Werror -std=gnu11 -D_GNU_SOURCE \
      -o "$binary.tmp" "$source" && mv -f "$binary.tmp" "$binary"
  fi
  echo "$binary"
}

# Appends module $1 to $2/modules/order after the modules it depends
# on (read from the .ko's modinfo section), copying each .ko once.
add_module() {
  local name=$1 staging=$2 file dependency
  grep -qx "$name.ko" "$staging/modules/order" 2>/dev/null && return
  file=$(find "$out/package/lib/modules" -name "$name.ko" | head -n 1)
  [ -n "$file" ] || die "no module $name.ko in the kernel package"
  for dependency in $(strings -a "$file" | sed -n 's/^depends=//p' |
                        tr ',' ' '); do
    add_module "$dependency" "$staging"
  done
  cp "$file" "$staging/modules/"
  echo "$name.ko" >>"$staging/modules/order"
}

# Packs /init and the program as /prog, with the empty folders init
# mounts on and the modules LINUX_GUEST_MODULES names, into a newc cpio
# archive (the format the kernel unpacks).
initramfs() {
  local program=$1 archive=$2 init_binary staging module
  [ -f "$program" ] || die "no program $program"
  command -v cpio >/dev/null ||
    die "cpio is missing (apt-get install cpio)"
  init_binary=$(init)
  kernel >/dev/null
  staging=$(mktemp -d)
  mkdir "$staging/dev" "$staging/proc" "$staging/tmp"
  cp "$init_binary" "$staging/init"
  cp "$program" "$staging/prog"
  chmod 755 "$staging/init" "$staging/prog"
  if [ -n "${LINUX_GUEST_MODULES:-}" ]; then
    mkdir "$staging/modules"
    for module in $LINUX_GUEST_MODULES; do
      add_module "$module" "$staging"
    done
  fi
  (cd "$staging" && find . | LC_ALL=C sort |
    cpio -o -H newc --quiet -R 0:0) >"$archive.tmp"
  rm -rf "$staging"
  mv "$archive.tmp" "$archive"
}

memory_mib() {
  case $1 in
    *[Gg]) echo $(( ${1%[Gg]} * 1024 )) ;;
    *[Mm]) echo "${1%[Mm]}" ;;
    *) echo "$1" ;;
  esac
}

# Parses OPTIONS INITRAMFS [ARGS...] into globals, then fills qemu_line
# with QEMU's command line: the machine, devices and accelerator of
# Sources/VillaHost/QEMUCommand.swift, the Linux kernel and initramfs in
# place of Villa's kernel and boot bundle.
parse_and_build() {
  memory=256M timeout_seconds=120 console_file="" extra=() accel=tcg
  forwards=() machine=microvm tsc_khz=""
  while [ $# -gt 0 ]; do
    case $1 in
      --forward) forwards+=("$2"); shift 2 ;;
      --machine) machine=$2; shift 2 ;;
      --memory) memory=$2; shift 2 ;;
      --timeout) timeout_seconds=$2; shift 2 ;;
      --accel) accel=$2; shift 2 ;;
      --qemu-arg) extra+=("$2"); shift 2 ;;
      --console) console_file=$2; shift 2 ;;
      --tsc-khz) tsc_khz=$2; shift 2 ;;
      --disk)
        # QEMU merges this -M into the first one.
        extra+=(-M acpi=on
                -drive "file=$2,if=none,id=villa-disk,format=raw"
                -device virtio-blk-device,drive=villa-disk)
        shift 2 ;;
      --) shift; break ;;
      -*) die "unknown option $1" ;;
      *) break ;;
    esac
  done
  [ $# -ge 1 ] || die "no initramfs or program given"
  payload=$1; shift
  program_args=("$@")
  local mib
  mib=$(memory_mib "$memory")
  [[ $mib =~ ^[0-9]+$ ]] || die "bad memory size $memory"
  # As Villa: TCG emulates the "max" CPU, KVM passes the host's through.
  local accel_args
  case $accel in
    tcg) accel_args=(-accel tcg -cpu max) ;;
    kvm) accel_args=(-accel kvm -cpu host) ;;
    *) die "unknown accelerator $accel (tcg or kvm)" ;;
  esac

  workdir=$(mktemp -d)
  # Kernel messages go to the third UART; "--" hands the rest to init.
  local append="console=ttyS2 quiet panic=-1 rdinit=/init"
  [ -z "$tsc_khz" ] || append+=" tsc_early_khz=$tsc_khz"
  [ ${#program_args[@]} -eq 0 ] || append+=" -- ${program_args[*]}"
  # As Villa's QEMUCommand.swift: microvm without option ROMs or ACPI,
  # or a q35 PC (whose virtio devices are PCI).
  local machine_option card
  case $machine in
    microvm) machine_option=microvm,x-option-roms=off,rtc=on,acpi=off
             card=virtio-net-device ;;
    q35) machine_option=q35 card=virtio-net-pci,romfile= ;;
    *) die "unknown machine $machine (microvm or q35)" ;;
  esac
  qemu_line=(
    "${VILLA_QEMU:-qemu-system-x86_64}"
    -M "$machine_option"
    -nodefaults -no-user-config -display none -no-reboot
    -m "${mib}M"
    -global virtio-mmio.force-legacy=false
    "${accel_args[@]}"
    -kernel "$(kernel)" -initrd "$payload" -append "$append"
    -device isa-debug-exit,iobase=0xf4,iosize=0x04
    -chardev "file,id=villa-stdout,path=$workdir/stdout"
    -device isa-serial,chardev=villa-stdout,iobase=0x3f8,irq=4
    -chardev "file,id=villa-stderr,path=$workdir/stderr"
    -device isa-serial,chardev=villa-stderr,iobase=0x2f8,irq=3
    -chardev "file,id=villa-kernel,path=$workdir/console"
    -device isa-serial,chardev=villa-kernel,iobase=0x3e8,irq=6
  )
  if [ ${#forwards[@]} -gt 0 ]; then
    # Villa's network: QEMU's user stack behind one virtio-net card.
    local netdev="user,id=villa-net" forward
    for forward in "${forwards[@]}"; do
      [[ $forward =~ ^[0-9]+:[0-9]+$ ]] || die "bad --forward $forward"
      netdev+=",hostfwd=tcp:127.0.0.1:${forward%%:*}-:${forward##*:}"
    done
    qemu_line+=(-netdev "$netdev" -device "$card,netdev=villa-net")
  fi
  qemu_line+=("${extra[@]}")
}

# Runs the VM built by parse_and_build and exits like `villa run`.
# The status comes from init's last line on the console: QEMU's own exit
# status, (value << 1) | 1 after isa-debug-exit, keeps only 7 bits of
# it and cannot be told apart from QEMU failing with status 1.
boot_vm() {
  local qemu_status=0 status
  timeout "$timeout_seconds" "${qemu_line[@]}" </dev/null ||
    qemu_status=$?
  cat "$workdir/stdout" 2>/dev/null || true
  cat "$workdir/stderr" >&2 2>/dev/null || true
  # QEMU may have failed before creating the console file.
  touch "$workdir/console"
  [ -z "$console_file" ] || cp "$workdir/console" "$console_file"
  status=$(tr -d '\r' <"$workdir/console" |
    sed -n 's/.*linux-init: program exited with status \([0-9]*\)$/\1/p' |
    tail -n 1)
  rm -rf "$workdir"
  if [ "$qemu_status" -eq 124 ]; then
    echo "linux-guest: timed out after $timeout_seconds s" >&2
    exit 124
  fi
  if [ -n "$status" ] && [ $((qemu_status % 2)) -eq 1 ]; then
    exit "$status"
  fi
  echo "linux-guest: the VM ended without a status (QEMU status" \
    "$qemu_status)" >&2
  exit 125
}

command=${1:-}
[ $# -eq 0 ] || shift
case $command in
  kernel) kernel ;;
  init) init ;;
  initramfs)
    [ $# -eq 2 ] || die "usage: initramfs PROGRAM OUT"
    initramfs "$1" "$2" ;;
  mkfs)
    [ $# -eq 2 ] || die "usage: mkfs IMAGE SIZE"
    command -v mkfs.ext4 >/dev/null ||
      die "mkfs.ext4 is missing (apt-get install e2fsprogs)"
    rm -f "$1"
    truncate -s "$2" "$1"
    # Inode tables and the journal initialised now, not by a kernel
    # thread in the background of the measurements.
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$1" ;;
  command)
    parse_and_build "$@"
    rm -rf "$workdir"
    printf '%s\n' "${qemu_line[@]}" ;;
  boot)
    parse_and_build "$@"
    boot_vm ;;
  run)
    # The program comes after the options: find it, pack it, and boot
    # the archive in its place.
    args=("$@") i=0
    while [ $i -lt ${#args[@]} ]; do
      case ${args[$i]} in
        --memory|--timeout|--accel|--qemu-arg|--console|--forward|--machine|--disk|--tsc-khz)
          i=$((i + 2)) ;;
        --) i=$((i + 1)); break ;;
        *) break ;;
      esac
    done
    [ $i -lt ${#args[@]} ] || die "no program given"
    archive=$(mktemp --suffix=.cpio)
    trap 'rm -f "$archive"' EXIT
    initramfs "${args[$i]}" "$archive"
    args[$i]=$archive
    parse_and_build "${args[@]}"
    # boot_vm exits; the trap removes the archive.
    boot_vm ;;
  *)
    sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2 ;;
esac
