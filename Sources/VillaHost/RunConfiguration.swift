// What one run of a program in Villa needs to know.
//
// `RunConfiguration` is the engine's whole input: the CLI fills it from
// its options, and a test harness can fill it directly. Paths are taken
// as given; `runInVilla` resolves the program (searching PATH for a bare
// name, as a shell would) and checks it before anything boots.

import Glibc

/// The QEMU machine model to boot.
public enum MachineType: String, CaseIterable, Sendable {
  /// QEMU's minimal machine: no PCI, no firmware; boots fastest.
  case microvm
  /// A PC with PCI Express (boots through SeaBIOS; slower).
  case q35
}

/// The accelerator the user asked for.
public enum AcceleratorRequest: String, CaseIterable, Sendable {
  /// KVM when this host has real hardware virtualization, else TCG.
  case auto
  /// QEMU's instruction translator: slower, works everywhere.
  case tcg
  /// The Linux kernel's hypervisor.
  case kvm
}

/// The accelerator a VM actually runs with.
public enum Accelerator: String, Sendable {
  case tcg
  case kvm
}

/// How much the kernel logs (sent as the boot option "log=LEVEL").
public enum KernelLogLevel: String, CaseIterable, Sendable {
  case error, warn, info, debug, trace
}

/// One `-p` port forward: connections (or datagrams) to a host port are
/// carried into the guest by QEMU's user network (its `hostfwd` rule).
public struct PortForward: Equatable, Hashable, Sendable {
  public enum Transport: String, Sendable {
    case tcp
    case udp
  }

  public var transport: Transport
  /// The host address to listen on; nil listens on every address, as
  /// QEMU and Docker do by default.
  public var hostAddress: String?
  public var hostPort: UInt16
  public var guestPort: UInt16

  public init(transport: Transport = .tcp, hostAddress: String? = nil,
              hostPort: UInt16, guestPort: UInt16)
  {
    self.transport = transport
    self.hostAddress = hostAddress
    self.hostPort = hostPort
    self.guestPort = guestPort
  }

  /// QEMU's `hostfwd` value: "tcp:ADDR:HOSTPORT-:GUESTPORT" (an empty
  /// guest address is the first DHCP lease, 10.0.2.15).
  public var hostfwd: String {
    "\(transport.rawValue):\(hostAddress ?? ""):\(hostPort)-:\(guestPort)"
  }
}

/// Everything one run needs.
public struct RunConfiguration: Equatable, Sendable {
  /// The program as the user named it; it becomes argv[0]. A name
  /// without '/' is searched for in the host's PATH.
  public var programPath: String
  /// The program's arguments after argv[0].
  public var arguments: [String]
  /// The program's whole environment, "KEY=VALUE" each. Nothing is
  /// added: a program that needs PATH gets it only when given.
  public var environment: [String]
  /// Guest memory in MiB.
  public var memoryMiB: Int
  public var accelerator: AcceleratorRequest
  public var machine: MachineType
  /// The kernel ELF to boot.
  public var kernelPath: String
  /// What uname(2) reports as the node name.
  public var hostname: String
  /// The kernel's log level; nil leaves the kernel's default.
  public var logLevel: KernelLogLevel?
  /// How long the VM may run before villa kills it; nil: no limit.
  public var timeout: Duration?
  /// The program's standard input, read up to EOF in advance; nil: the
  /// program's standard input is empty and no record is sent.
  public var standardInput: [UInt8]?
  /// Appended verbatim to QEMU's command line.
  public var extraQEMUArguments: [String]
  /// System calls to trace (`--trace`): nil for none, empty for all,
  /// else their names.
  public var traceSyscalls: [String]? = nil
  /// Further kernel options, passed as they are (e.g. "list-syscalls").
  public var kernelOptions: [String] = []
  /// A Villa disk image to boot (`villa run --image`): its filesystem is
  /// the root. With an empty `programPath` the image's own program runs
  /// with its stored arguments (unless others are given); otherwise
  /// `programPath` is run, sent in the boot bundle, and the image must
  /// hold the same program at its absolute path (a cached image does).
  public var diskImage: String? = nil
  /// Boot `diskImage` through a copy-on-write overlay that QEMU throws
  /// away when the VM stops (its `snapshot=on`): the run sees the image
  /// and writes to it freely, but the file never changes.
  public var diskSnapshot = false
  /// The QEMU binary (a path, or a name searched in PATH).
  public var qemuPath: String
  /// Host ports forwarded into the guest (`-p`).
  public var portForwards: [PortForward] = []

  public static let defaultMemoryMiB = 256
  public static let minimumMemoryMiB = 16
  /// 1 TiB: far beyond any host here, but keeps sizes from overflowing.
  public static let maximumMemoryMiB = 1 << 20
  public static let defaultHostname = "villa"

  /// The QEMU binary: $VILLA_QEMU if set, else qemu-system-x86_64.
  public static var defaultQEMUPath: String {
    if let value = getenv("VILLA_QEMU"), value.pointee != 0 {
      return String(cString: value)
    }
    return "qemu-system-x86_64"
  }

  public init(
    programPath: String,
    arguments: [String] = [],
    environment: [String] = [],
    kernelPath: String,
    memoryMiB: Int = RunConfiguration.defaultMemoryMiB,
    accelerator: AcceleratorRequest = .auto,
    machine: MachineType = .microvm,
    hostname: String = RunConfiguration.defaultHostname,
    logLevel: KernelLogLevel? = nil,
    timeout: Duration? = nil,
    standardInput: [UInt8]? = nil,
    extraQEMUArguments: [String] = [],
    qemuPath: String = RunConfiguration.defaultQEMUPath
  ) {
    self.programPath = programPath
    self.arguments = arguments
    self.environment = environment
    self.kernelPath = kernelPath
    self.memoryMiB = memoryMiB
    self.accelerator = accelerator
    self.machine = machine
    self.hostname = hostname
    self.logLevel = logLevel
    self.timeout = timeout
    self.standardInput = standardInput
    self.extraQEMUArguments = extraQEMUArguments
    self.qemuPath = qemuPath
  }
}
