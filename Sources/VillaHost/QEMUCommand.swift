// QEMU's command line for one run.
//
// The machine has no default devices (-nodefaults): only what the kernel
// and villa agree on in `MachineContract`. Three 16550 UARTs carry the
// program's stdout, its stderr and the kernel channel, each into a file
// QEMU opens for writing (villa passes pipe ends as /dev/fd/N), so the
// streams never mix. The isa-debug-exit device lets the kernel end QEMU
// with a status. The kernel polls the UARTs for output, so their IRQ lines
// only need to be free ones: 4 and 3 as on a PC, and 6 (the floppy's,
// unused here) for the kernel channel, whose receive interrupt the kernel
// does take: villa runs it over a socket pair, both ways, and writes
// requests into it.
//
// `-nographic` is deliberately absent: on q35 it makes SeaBIOS mirror its
// console onto the first serial port, which would put firmware text into
// the program's stdout. `-display none` with -nodefaults is enough.

import HostLink

/// The three serial channels and where each sits on the ISA bus.
public enum SerialChannel: CaseIterable, Sendable {
  case programStdout
  case programStderr
  case kernel

  /// The UART's I/O base port.
  public var ioBase: UInt16 {
    switch self {
    case .programStdout: return MachineContract.stdoutPort
    case .programStderr: return MachineContract.stderrPort
    case .kernel: return MachineContract.kernelPort
    }
  }

  /// The ISA interrupt line the UART is wired to.
  public var irq: Int {
    switch self {
    case .programStdout: return 4
    case .programStderr: return 3
    case .kernel: return MachineContract.kernelChannelIRQ
    }
  }

  /// The QEMU chardev id.
  public var chardevID: String {
    switch self {
    case .programStdout: return "villa-stdout"
    case .programStderr: return "villa-stderr"
    case .kernel: return "villa-kernel"
    }
  }
}

/// Everything needed to write QEMU's command line.
public struct QEMULaunch: Equatable, Sendable {
  public var qemuPath: String
  public var machine: MachineType
  public var accelerator: Accelerator
  public var memoryMiB: Int
  public var kernelPath: String
  /// The boot bundle, loaded as the PVH module (-initrd).
  public var bundlePath: String
  /// For each channel, the file QEMU writes the UART's output to.
  public var stdoutPath: String
  public var stderrPath: String
  public var kernelChannelPath: String
  /// When set, the kernel channel is this connected socket instead (QEMU's
  /// descriptor number), so that villa can also write to the kernel.
  public var kernelChannelSocket: Int32? = nil
  /// Host ports forwarded into the guest through the user network.
  public var portForwards: [PortForward]
  /// A raw disk image attached as the guest's virtio-blk disk.
  public var diskImagePath: String?
  /// Attach the disk through a copy-on-write overlay that QEMU deletes
  /// when it exits (`snapshot=on`), leaving the image file unchanged.
  public var diskSnapshot = false
  /// Appended last, verbatim.
  public var extraArguments: [String]

  public init(
    qemuPath: String, machine: MachineType, accelerator: Accelerator,
    memoryMiB: Int, kernelPath: String, bundlePath: String,
    stdoutPath: String, stderrPath: String, kernelChannelPath: String,
    portForwards: [PortForward] = [], diskImagePath: String? = nil,
    extraArguments: [String] = []
  ) {
    self.qemuPath = qemuPath
    self.machine = machine
    self.accelerator = accelerator
    self.memoryMiB = memoryMiB
    self.kernelPath = kernelPath
    self.bundlePath = bundlePath
    self.stdoutPath = stdoutPath
    self.stderrPath = stderrPath
    self.kernelChannelPath = kernelChannelPath
    self.portForwards = portForwards
    self.diskImagePath = diskImagePath
    self.extraArguments = extraArguments
  }

  /// The -M value.
  public var machineOption: String {
    switch machine {
    // No option ROMs: microvm then loads the PVH kernel itself, which is
    // what makes it boot in tens of milliseconds. Without ACPI it has one
    // IOAPIC and wires virtio-mmio slot N to interrupt 5 + N, which is
    // what the kernel's virtio-mmio probe expects.
    case .microvm: return "microvm,x-option-roms=off,rtc=on,acpi=off"
    case .q35: return "q35"
    }
  }

  /// The arguments after the QEMU binary.
  public var arguments: [String] {
    var result = [
      "-M", machineOption,
      "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
      "-m", "\(memoryMiB)M",
      // Modern (version 2) virtio-mmio, which the kernel drives.
      "-global", "virtio-mmio.force-legacy=false",
    ]
    switch accelerator {
    case .tcg: result += ["-accel", "tcg", "-cpu", "max"]
    case .kvm: result += ["-accel", "kvm", "-cpu", "host"]
    }
    result += [
      "-kernel", kernelPath,
      "-initrd", bundlePath,
      "-device",
      "isa-debug-exit,iobase=\(hex(MachineContract.debugExitPort)),iosize=0x04",
    ]
    result += networkArguments
    result += diskArguments
    for channel in SerialChannel.allCases {
      var chardev =
        "file,id=\(channel.chardevID),path=\(escaped(path(for: channel)))"
      if channel == .kernel, let socket = kernelChannelSocket {
        chardev = "socket,id=\(channel.chardevID),fd=\(socket)"
      }
      result += [
        "-chardev", chardev,
        "-device",
        "isa-serial,chardev=\(channel.chardevID)"
          + ",iobase=\(hex(channel.ioBase)),irq=\(channel.irq)",
      ]
    }
    return result + extraArguments
  }

  /// The network: QEMU's user-mode stack (slirp) behind one virtio-net
  /// device, always present so that DNS and outbound connections work.
  /// The guest is 10.0.2.15 by DHCP, the host's gateway 10.0.2.2 and its
  /// DNS relay 10.0.2.3; `-p` adds a hostfwd rule per forward. On q35
  /// the device is PCI and its option ROM (iPXE) is left out, which
  /// would only slow the firmware down.
  public var networkArguments: [String] {
    var netdev = "user,id=\(QEMULaunch.networkID)"
    for forward in portForwards { netdev += ",hostfwd=" + forward.hostfwd }
    let device: String
    switch machine {
    case .microvm:
      device = "virtio-net-device,netdev=\(QEMULaunch.networkID)"
    case .q35:
      device = "virtio-net-pci,netdev=\(QEMULaunch.networkID),romfile="
        + QEMULaunch.modernPCI
    }
    return ["-netdev", netdev, "-device", device]
  }

  /// The disk, when there is one: virtio-blk on the machine's virtio
  /// bus (virtio-mmio on microvm, PCI on q35).
  public var diskArguments: [String] {
    guard let diskImagePath else { return [] }
    let device: String
    switch machine {
    case .microvm: device = "virtio-blk-device,drive=\(QEMULaunch.diskID)"
    case .q35:
      device = "virtio-blk-pci,drive=\(QEMULaunch.diskID)"
        + QEMULaunch.modernPCI
    }
    return [
      "-drive",
      "file=\(escaped(diskImagePath)),if=none,id=\(QEMULaunch.diskID)"
        + ",format=raw" + (diskSnapshot ? ",snapshot=on" : ""),
      "-device", device,
    ]
  }

  /// virtio-pci devices are transitional by default (a legacy I/O BAR
  /// beside the modern structures); the kernel drives only the modern
  /// interface, so the legacy one is left out.
  static let modernPCI = ",disable-legacy=on"

  public static let diskID = "villa-disk"

  public static let networkID = "villa-net"

  /// The whole command line, the QEMU binary first.
  public var commandLine: [String] { [qemuPath] + arguments }

  func path(for channel: SerialChannel) -> String {
    switch channel {
    case .programStdout: return stdoutPath
    case .programStderr: return stderrPath
    case .kernel: return kernelChannelPath
    }
  }
}

/// QEMU splits option values at commas; a literal comma is written twice.
private func escaped(_ value: String) -> String {
  value.split(separator: ",", omittingEmptySubsequences: false)
    .joined(separator: ",,")
}

private func hex(_ value: UInt16) -> String {
  "0x" + String(value, radix: 16)
}
