// Tests of the host side without booting anything: the command line, sizes
// and choices, the QEMU command line, the boot bundle villa writes, the
// reading of the kernel channel, and how each ending maps to villa's exit
// status. Booting QEMU is left to the end-to-end runs.

import ELFFormat
import Foundation
import Glibc
import HostLink
import VillaHost
import XCTest

final class VillaHostTests: XCTestCase {

  // MARK: - Command line

  private func parseRun(_ arguments: [String]) throws -> RunOptions {
    let command = try parseCommandLine(["run"] + arguments)
    guard case .run(let options) = command else {
      XCTFail("expected a run command, got \(command)")
      throw VillaError.usage("not a run command")
    }
    return options
  }

  /// The usage message a command line is refused with, or nil.
  private func usageError(_ arguments: [String]) -> String? {
    do {
      _ = try parseCommandLine(arguments)
      return nil
    } catch {
      guard case .usage(let message) = error else {
        XCTFail("expected a usage error, got \(error)")
        return nil
      }
      XCTAssertEqual(error.exitStatus, .usage)
      return message
    }
  }

  func testProgramAndItsArguments() throws {
    let options = try parseRun(["/bin/prog", "a", "-b", "--c", "--env"])
    XCTAssertEqual(options.program, "/bin/prog")
    // Everything after the program is the program's, options included.
    XCTAssertEqual(options.arguments, ["a", "-b", "--c", "--env"])
    XCTAssertEqual(options.environment, [])
    XCTAssertEqual(options.memoryMiB, 256)
    XCTAssertEqual(options.hostname, "villa")
    XCTAssertEqual(options.accelerator, .auto)
    XCTAssertEqual(options.machine, .microvm)
    XCTAssertNil(options.timeout)
  }

  func testEveryOption() throws {
    let options = try parseRun([
      "--env", "A=1", "--env=B=x=y", "--env", "EMPTY=",
      "--memory", "1G", "--accel", "tcg", "--machine=q35",
      "--kernel", "/k/villa-kernel", "--kernel-log", "--log-level", "trace",
      "--hostname", "box", "--timeout", "2.5",
      "--qemu-arg", "-s", "--qemu-arg=-S",
      "prog", "x",
    ])
    XCTAssertEqual(options.environment, ["A=1", "B=x=y", "EMPTY="])
    XCTAssertEqual(options.memoryMiB, 1024)
    XCTAssertEqual(options.accelerator, .tcg)
    XCTAssertEqual(options.machine, .q35)
    XCTAssertEqual(options.kernelPath, "/k/villa-kernel")
    XCTAssertTrue(options.showKernelLog)
    XCTAssertEqual(options.logLevel, .trace)
    XCTAssertEqual(options.hostname, "box")
    XCTAssertEqual(options.timeout, .milliseconds(2500))
    XCTAssertEqual(options.extraQEMUArguments, ["-s", "-S"])
    XCTAssertEqual(options.program, "prog")
    XCTAssertEqual(options.arguments, ["x"])
  }

  func testDoubleDash() throws {
    // Right after the program, "--" is dropped...
    var options = try parseRun(["prog", "--", "-a", "--", "b"])
    XCTAssertEqual(options.program, "prog")
    XCTAssertEqual(options.arguments, ["-a", "--", "b"])
    // ...and only there.
    options = try parseRun(["prog", "a", "--"])
    XCTAssertEqual(options.arguments, ["a", "--"])
    options = try parseRun(["prog", "--", "--"])
    XCTAssertEqual(options.arguments, ["--"])
    // Before the program it ends villa's options.
    options = try parseRun(["--memory", "64", "--", "-odd", "--help"])
    XCTAssertEqual(options.memoryMiB, 64)
    XCTAssertEqual(options.program, "-odd")
    XCTAssertEqual(options.arguments, ["--help"])
  }

  func testNoProgramMeansTheDemo() throws {
    XCTAssertNil(try parseRun([]).program)
    let options = try parseRun(["--kernel-log", "--"])
    XCTAssertNil(options.program)
    XCTAssertTrue(options.showKernelLog)
  }

  func testHelpAndVersion() throws {
    XCTAssertEqual(try parseCommandLine(["--help"]), .help(.general))
    XCTAssertEqual(try parseCommandLine(["-h"]), .help(.general))
    XCTAssertEqual(try parseCommandLine(["help"]), .help(.general))
    XCTAssertEqual(try parseCommandLine(["help", "run"]), .help(.run))
    XCTAssertEqual(try parseCommandLine(["run", "--help"]), .help(.run))
    XCTAssertEqual(try parseCommandLine(["run", "-h", "prog"]), .help(.run))
    XCTAssertEqual(try parseCommandLine(["--version"]), .version)
    // After the program, --help is the program's.
    XCTAssertEqual(try parseRun(["prog", "--help"]).arguments, ["--help"])
  }

  func testRefusedCommandLines() throws {
    let cases: [([String], String)] = [
      ([], "missing command"),
      (["frobnicate"], "unknown command 'frobnicate'"),
      (["--frob"], "unknown option '--frob'"),
      (["help", "nothing"], "no help for 'nothing'"),
      (["--version", "x"], "unexpected argument 'x'"),
      (["run", "--frob", "prog"], "unknown option '--frob' for 'villa run'"),
      (["run", "-x", "prog"], "unknown option '-x'"),
      (["run", "--env", "NOEQUALS", "prog"], "no '='"),
      (["run", "--env", "=value", "prog"], "empty KEY"),
      (["run", "--env"], "option --env needs a value"),
      (["run", "--memory", "lots", "prog"], "bad memory size 'lots'"),
      (["run", "--memory", "8M", "prog"], "below the minimum of 16M"),
      (["run", "--accel", "fast", "prog"], "one of: auto, tcg, kvm"),
      (["run", "--machine", "pc", "prog"], "one of: microvm, q35"),
      (["run", "--log-level", "loud"], "one of: error, warn, info"),
      (["run", "--kernel-log=yes", "prog"], "takes no value"),
      (["run", "--kernel=", "prog"], "needs a path"),
      (["run", "--timeout", "0", "prog"], "bad timeout '0'"),
      (["run", "--timeout", "soon", "prog"], "bad timeout 'soon'"),
      (["run", "--hostname", "", "prog"], "bad host name"),
      (["run", "--hostname", String(repeating: "h", count: 65)],
       "1 to 64 bytes"),
      (["run", "-p"], "option -p needs a value"),
      (["run", "-p", "0", "prog"], "ports are 1 to 65535"),
      (["run", "-p", "70000", "prog"], "ports are 1 to 65535"),
      (["run", "-p", "80:", "prog"], "ports are 1 to 65535"),
      (["run", "-p", "80/sctp", "prog"], "bad port forward '80/sctp'"),
      (["run", "-p", "1:2:3:4", "prog"], "bad port forward"),
      (["run", "-p", "host:80:80", "prog"], "not an IPv4 address"),
      (["run", "-p", "8080", "-p", "8080:80", "prog"], "published twice"),
    ]
    for (arguments, expected) in cases {
      let message = usageError(arguments)
      XCTAssertNotNil(message, "accepted: \(arguments)")
      XCTAssertTrue(message?.contains(expected) ?? false,
                    "\(arguments): '\(message ?? "")' lacks '\(expected)'")
    }
  }

  // MARK: - Sizes and choices

  func testMemorySizes() throws {
    let good: [(String, Int)] = [
      ("128M", 128), ("512m", 512), ("1G", 1024), ("2g", 2048),
      ("300", 300), ("16", 16), ("1GiB", 1024), ("64MiB", 64),
      ("1024G", 1_048_576),
    ]
    for (text, mebibytes) in good {
      XCTAssertEqual(try parseMemorySize(text), mebibytes, text)
    }
    let bad = ["", "M", "15M", "15", "0", "1.5G", "-5", "12K", "1T",
               "1025G", "99999999999999999999", " 64", "64 M", "1GB"]
    for text in bad {
      XCTAssertThrowsError(try parseMemorySize(text), "accepted '\(text)'")
    }
  }

  func testTimeoutParsing() throws {
    XCTAssertEqual(try parseTimeout("3"), .seconds(3))
    XCTAssertEqual(try parseTimeout("0.25"), .milliseconds(250))
    for text in ["", "-1", "0", "nan", "inf", "1e10", "3s"] {
      XCTAssertThrowsError(try parseTimeout(text), "accepted '\(text)'")
    }
  }

  private let intelCPU = """
    processor\t: 0
    vendor_id\t: GenuineIntel
    flags\t\t: fpu vme de pse tsc msr pae vmx sse sse2 ssse3
    vmx flags\t: vnmi preemption_timer
    bugs\t\t: spectre_v1

    """
  private let amdCPU = "flags\t\t: fpu sse2 svm lm\n"
  private let plainCPU = """
    flags\t\t: fpu vme sse sse2 hypervisor lm vmxish
    vmx flags\t: vnmi
    model name\t: Virtual CPU with vmx in its name

    """

  func testAcceleratorDecision() throws {
    XCTAssertTrue(cpuinfoHasHardwareVirtualization(intelCPU))
    XCTAssertTrue(cpuinfoHasHardwareVirtualization(amdCPU))
    // Only whole words of the "flags" line count.
    XCTAssertFalse(cpuinfoHasHardwareVirtualization(plainCPU))
    XCTAssertFalse(cpuinfoHasHardwareVirtualization(""))

    XCTAssertEqual(
      try chooseAccelerator(.auto, kvmUsable: true, cpuinfo: intelCPU), .kvm)
    XCTAssertEqual(
      try chooseAccelerator(.auto, kvmUsable: true, cpuinfo: amdCPU), .kvm)
    // /dev/kvm without VT-x/AMD-V (a nested, paravirtual KVM): TCG.
    XCTAssertEqual(
      try chooseAccelerator(.auto, kvmUsable: true, cpuinfo: plainCPU), .tcg)
    XCTAssertEqual(
      try chooseAccelerator(.auto, kvmUsable: false, cpuinfo: intelCPU), .tcg)
    XCTAssertEqual(
      try chooseAccelerator(.tcg, kvmUsable: true, cpuinfo: intelCPU), .tcg)
    // An explicit request is obeyed when /dev/kvm opens...
    XCTAssertEqual(
      try chooseAccelerator(.kvm, kvmUsable: true, cpuinfo: plainCPU), .kvm)
    // ...and refused clearly when it does not.
    XCTAssertThrowsError(
      try chooseAccelerator(.kvm, kvmUsable: false, cpuinfo: intelCPU)
    ) { error in
      guard case VillaError.acceleratorUnavailable(let text) = error else {
        return XCTFail("unexpected \(error)")
      }
      XCTAssertTrue(text.contains("/dev/kvm"))
      XCTAssertEqual((error as? VillaError)?.exitStatus, .failed)
    }
  }

  // MARK: - QEMU command line

  private func launch(_ machine: MachineType, _ accelerator: Accelerator)
    -> QEMULaunch
  {
    QEMULaunch(
      qemuPath: "qemu-system-x86_64", machine: machine,
      accelerator: accelerator, memoryMiB: 512,
      kernelPath: "/k/villa-kernel", bundlePath: "/t/bundle",
      stdoutPath: "/dev/fd/3", stderrPath: "/dev/fd/4",
      kernelChannelPath: "/dev/fd/5", extraArguments: ["-s", "-S"])
  }

  /// The values that follow `flag` in `arguments`, in order.
  private func values(of flag: String, in arguments: [String]) -> [String] {
    zip(arguments, arguments.dropFirst()).filter { $0.0 == flag }.map(\.1)
  }

  func testMicrovmCommandLine() {
    let arguments = launch(.microvm, .tcg).arguments
    XCTAssertEqual(values(of: "-M", in: arguments),
                   ["microvm,x-option-roms=off,rtc=on,acpi=off"])
    XCTAssertEqual(values(of: "-m", in: arguments), ["512M"])
    XCTAssertEqual(values(of: "-accel", in: arguments), ["tcg"])
    XCTAssertEqual(values(of: "-cpu", in: arguments), ["max"])
    XCTAssertEqual(values(of: "-kernel", in: arguments), ["/k/villa-kernel"])
    XCTAssertEqual(values(of: "-initrd", in: arguments), ["/t/bundle"])
    for flag in ["-nodefaults", "-no-user-config", "-no-reboot"] {
      XCTAssertTrue(arguments.contains(flag), flag)
    }
    XCTAssertEqual(values(of: "-display", in: arguments), ["none"])
    // -nographic would make q35's SeaBIOS write into the program's stdout.
    XCTAssertFalse(arguments.contains("-nographic"))

    XCTAssertEqual(values(of: "-device", in: arguments), [
      "isa-debug-exit,iobase=0xf4,iosize=0x04",
      "virtio-net-device,netdev=villa-net",
      "isa-serial,chardev=villa-stdout,iobase=0x3f8,irq=4",
      "isa-serial,chardev=villa-stderr,iobase=0x2f8,irq=3",
      "isa-serial,chardev=villa-kernel,iobase=0x3e8,irq=6",
    ])
    XCTAssertEqual(values(of: "-chardev", in: arguments), [
      "file,id=villa-stdout,path=/dev/fd/3",
      "file,id=villa-stderr,path=/dev/fd/4",
      "file,id=villa-kernel,path=/dev/fd/5",
    ])
    // The escape hatch comes last, so it can override.
    XCTAssertEqual(Array(arguments.suffix(2)), ["-s", "-S"])
    XCTAssertEqual(launch(.microvm, .tcg).commandLine.first,
                   "qemu-system-x86_64")
  }

  func testQ35AndKVMCommandLine() {
    let arguments = launch(.q35, .kvm).arguments
    XCTAssertEqual(values(of: "-M", in: arguments), ["q35"])
    XCTAssertEqual(values(of: "-accel", in: arguments), ["kvm"])
    XCTAssertEqual(values(of: "-cpu", in: arguments), ["host"])
    // The same devices on both machines, but the network card is PCI
    // (modern only, without its boot ROM) on q35.
    let microvmDevices = values(of: "-device",
                                in: launch(.microvm, .tcg).arguments)
    XCTAssertEqual(values(of: "-device", in: arguments),
                   microvmDevices.map {
                     $0.hasPrefix("virtio-net-device")
                       ? "virtio-net-pci,netdev=villa-net,romfile="
                         + ",disable-legacy=on"
                       : $0
                   })
  }

  func testDiskOnEitherMachine() {
    XCTAssertEqual(values(of: "-drive", in: launch(.microvm, .tcg).arguments),
                   [])
    for (machine, device) in [
      (MachineType.microvm, "virtio-blk-device,drive=villa-disk"),
      (.q35, "virtio-blk-pci,drive=villa-disk,disable-legacy=on"),
    ] {
      var configured = launch(machine, .tcg)
      configured.diskImagePath = "/i/a,b.img"
      let arguments = configured.arguments
      // A comma in the path is doubled, or QEMU would split there.
      XCTAssertEqual(values(of: "-drive", in: arguments),
                     ["file=/i/a,,b.img,if=none,id=villa-disk,format=raw"])
      XCTAssertTrue(values(of: "-device", in: arguments).contains(device),
                    "\(machine)")
    }
  }

  func testUserNetworkAndPortForwards() {
    var configured = launch(.microvm, .tcg)
    XCTAssertEqual(values(of: "-netdev", in: configured.arguments),
                   ["user,id=villa-net"])
    configured.portForwards = [
      PortForward(hostPort: 8080, guestPort: 80),
      PortForward(transport: .udp, hostAddress: "127.0.0.1", hostPort: 5353,
                  guestPort: 53),
    ]
    XCTAssertEqual(values(of: "-netdev", in: configured.arguments), [
      "user,id=villa-net,hostfwd=tcp::8080-:80"
        + ",hostfwd=udp:127.0.0.1:5353-:53"
    ])
  }

  func testPortForwardParsing() throws {
    XCTAssertEqual(try parsePortForward("8080"),
                   PortForward(hostPort: 8080, guestPort: 8080))
    XCTAssertEqual(try parsePortForward("8080:80/tcp"),
                   PortForward(hostPort: 8080, guestPort: 80))
    XCTAssertEqual(try parsePortForward("53/udp"),
                   PortForward(transport: .udp, hostPort: 53, guestPort: 53))
    XCTAssertEqual(try parsePortForward("127.0.0.1:8443:443"),
                   PortForward(hostAddress: "127.0.0.1", hostPort: 8443,
                               guestPort: 443))
    let options = try parseRun(["-p", "80", "--publish=81:8081/udp", "prog"])
    XCTAssertEqual(options.portForwards, [
      PortForward(hostPort: 80, guestPort: 80),
      PortForward(transport: .udp, hostPort: 81, guestPort: 8081),
    ])
    XCTAssertEqual(options.program, "prog")
    // The same host port may carry TCP and UDP at once.
    XCTAssertEqual(try parseRun(["-p", "53", "-p", "53/udp", "p"])
      .portForwards.count, 2)
  }

  func testSerialPortsFollowTheContract() {
    XCTAssertEqual(SerialChannel.programStdout.ioBase,
                   MachineContract.stdoutPort)
    XCTAssertEqual(SerialChannel.programStderr.ioBase,
                   MachineContract.stderrPort)
    XCTAssertEqual(SerialChannel.kernel.ioBase, MachineContract.kernelPort)
    let irqs = SerialChannel.allCases.map(\.irq)
    XCTAssertEqual(Set(irqs).count, irqs.count, "IRQ lines must differ")
  }

  func testCommasInPathsAreEscaped() {
    var odd = launch(.microvm, .tcg)
    odd.stdoutPath = "/tmp/a,b"
    XCTAssertTrue(values(of: "-chardev", in: odd.arguments)
      .contains("file,id=villa-stdout,path=/tmp/a,,b"))
  }

  // MARK: - Boot bundle

  func testBootBundleRecords() throws {
    let program = ProgramImage(
      pathAsGiven: "./prog", absolutePath: "/home/u/prog",
      bytes: [0x7F, 0x45, 0x4C, 0x46, 9])
    var configuration = RunConfiguration(
      programPath: "./prog", arguments: ["one", ""],
      environment: ["B=2", "A=1"], kernelPath: "/k", hostname: "box",
      logLevel: .debug, standardInput: Array("in\n".utf8))
    let bundle = makeBootBundle(program: program, configuration: configuration)

    try bundle.withUnsafeBytes { raw in
      let reader = try BootBundleReader(bytes: raw)
      XCTAssertEqual(reader.records.map(\.kind), [
        .program, .programPath, .argument, .argument, .argument,
        .environment, .environment, .standardInput, .hostname, .option,
      ])
      func texts(_ kind: BootRecordKind) -> [String] {
        reader.payloads(of: kind).map {
          String(decoding: reader.copy($0), as: UTF8.self)
        }
      }
      XCTAssertEqual(reader.copy(reader.firstPayload(of: .program)!),
                     program.bytes)
      XCTAssertEqual(texts(.programPath), ["/home/u/prog"])
      XCTAssertEqual(texts(.argument), ["./prog", "one", ""])
      XCTAssertEqual(texts(.environment), ["B=2", "A=1"])
      XCTAssertEqual(texts(.standardInput), ["in\n"])
      XCTAssertEqual(texts(.hostname), ["box"])
      XCTAssertEqual(texts(.option), ["log=debug"])
    }

    // No input and no log level: no such records; empty input: a record.
    configuration.standardInput = nil
    configuration.logLevel = nil
    var kinds = try recordKinds(
      makeBootBundle(program: program, configuration: configuration))
    XCTAssertFalse(kinds.contains(.standardInput))
    XCTAssertFalse(kinds.contains(.option))
    configuration.standardInput = []
    kinds = try recordKinds(
      makeBootBundle(program: program, configuration: configuration))
    XCTAssertEqual(kinds.filter { $0 == .standardInput }.count, 1)
  }

  private func recordKinds(_ bundle: [UInt8]) throws -> [BootRecordKind] {
    try bundle.withUnsafeBytes { raw in
      try BootBundleReader(bytes: raw).records.map(\.kind)
    }
  }

  // MARK: - Program checks

  /// A minimal ELF64 x86_64 file: one R+X PT_LOAD of a page holding the
  /// entry, optionally a PT_INTERP, and optionally a symbol table with a
  /// function "kmain" (0x20 bytes at the entry) and a label "base" a page
  /// below the segment.
  private func makeELF(type: UInt16 = 2, machine: UInt16 = 62,
                       interpreter: String? = nil,
                       symbols: Bool = false) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: 4096)
    func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
      for i in 0..<(T.bitWidth / 8) {
        bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (i * 8))
      }
    }
    bytes.replaceSubrange(0..<4, with: [0x7F, 0x45, 0x4C, 0x46])
    bytes[4] = 2  // ELFCLASS64
    bytes[5] = 1  // little-endian
    bytes[6] = 1  // EV_CURRENT
    let base: UInt64 = type == 2 ? 0x40_0000 : 0
    put(type, at: 16)
    put(machine, at: 18)
    put(UInt32(1), at: 20)
    put(base + 0x100, at: 24)  // e_entry
    put(UInt64(64), at: 32)  // e_phoff
    put(UInt16(64), at: 52)  // e_ehsize
    put(UInt16(56), at: 54)  // e_phentsize
    let headers = interpreter == nil ? 1 : 2
    put(UInt16(headers), at: 56)

    var at = 64
    if let interpreter {
      let path = Array(interpreter.utf8) + [0]
      bytes.replaceSubrange(0x200..<(0x200 + path.count), with: path)
      put(UInt32(3), at: at)  // PT_INTERP
      put(UInt32(4), at: at + 4)
      put(UInt64(0x200), at: at + 8)
      put(base + 0x200, at: at + 16)
      put(UInt64(path.count), at: at + 32)
      put(UInt64(path.count), at: at + 40)
      put(UInt64(1), at: at + 48)
      at += 56
    }
    put(UInt32(1), at: at)  // PT_LOAD
    put(UInt32(5), at: at + 4)  // R+X
    put(UInt64(0), at: at + 8)
    put(base, at: at + 16)
    put(UInt64(4096), at: at + 32)
    put(UInt64(4096), at: at + 40)
    put(UInt64(4096), at: at + 48)

    if symbols {
      let names = Array("\0kmain\0base\0".utf8)
      bytes.replaceSubrange(0x300..<(0x300 + names.count), with: names)
      // Symbol 1: kmain, global FUNC; symbol 2: base, global NOTYPE.
      let table = 0x340
      put(UInt32(1), at: table + 24)
      bytes[table + 24 + 4] = 0x12
      put(UInt16(1), at: table + 24 + 6)
      put(base + 0x100, at: table + 24 + 8)
      put(UInt64(0x20), at: table + 24 + 16)
      put(UInt32(7), at: table + 48)
      bytes[table + 48 + 4] = 0x10
      put(UInt16(1), at: table + 48 + 6)
      put(base - 0x1000, at: table + 48 + 8)
      // Sections: null, .symtab (linked to 2), .strtab.
      let sections = 0x400
      put(UInt64(sections), at: 40)  // e_shoff
      put(UInt16(64), at: 58)  // e_shentsize
      put(UInt16(3), at: 60)  // e_shnum
      put(UInt32(2), at: sections + 64 + 4)
      put(UInt64(table), at: sections + 64 + 24)
      put(UInt64(72), at: sections + 64 + 32)
      put(UInt32(2), at: sections + 64 + 40)
      put(UInt64(24), at: sections + 64 + 56)
      put(UInt32(3), at: sections + 128 + 4)
      put(UInt64(0x300), at: sections + 128 + 24)
      put(UInt64(names.count), at: sections + 128 + 32)
    }
    return bytes
  }

  func testProgramRefusals() {
    XCTAssertNil(programRefusal(makeELF()))
    XCTAssertNil(programRefusal(makeELF(type: 3)), "static-pie")
    let dynamic = programRefusal(
      makeELF(interpreter: "/lib64/ld-linux-x86-64.so.2"))
    XCTAssertTrue(dynamic?.contains("dynamically linked") ?? false)
    XCTAssertTrue(programRefusal(makeELF(machine: 183))?
      .contains("AArch64") ?? false)
    XCTAssertTrue(programRefusal(Array("#!/bin/sh\necho\n".utf8))?
      .contains("script") ?? false)
    XCTAssertNotNil(programRefusal(Array("hello".utf8)))
    XCTAssertNotNil(programRefusal([]))
  }

  func testProgramPaths() throws {
    XCTAssertEqual(absolutePath("./a/./b", from: "/x"), "/x/a/b")
    XCTAssertEqual(absolutePath("/a//b/", from: "/x"), "/a/b")
    XCTAssertEqual(absolutePath("../b", from: "/x/y"), "/x/y/../b")

    let directory = try temporaryDirectory()
    let tool = directory + "/tool"
    try write(makeELF(), to: tool, mode: 0o755)
    let data = directory + "/data"
    try write([1, 2, 3], to: data, mode: 0o644)

    // A bare name is searched for in PATH, executables only.
    let path = "/nonexistent:" + directory
    XCTAssertEqual(
      try resolveProgramPath("tool", searchPath: path,
                             currentDirectory: "/"), tool)
    XCTAssertThrowsError(
      try resolveProgramPath("data", searchPath: path, currentDirectory: "/"))
    // A path with '/' is taken relative to the current directory.
    XCTAssertEqual(
      try resolveProgramPath("./data", searchPath: nil,
                             currentDirectory: directory), data)

    let image = try loadProgram("tool", searchPath: path,
                                currentDirectory: "/")
    XCTAssertEqual(image.pathAsGiven, "tool")
    XCTAssertEqual(image.absolutePath, tool)
    XCTAssertEqual(image.bytes, makeELF())

    XCTAssertThrowsError(
      try loadProgram(directory + "/missing", searchPath: nil,
                      currentDirectory: "/")
    ) { error in
      XCTAssertEqual((error as? VillaError)?.exitStatus, .notFound)
      XCTAssertTrue(
        (error as? VillaError)?.message.contains("No such file") ?? false)
    }
  }

  /// The engine's checks that come before QEMU: none of these boots.
  func testRunInVillaRefusesBeforeBooting() throws {
    let directory = try temporaryDirectory()
    let kernel = directory + "/kernel"
    try write(makeELF(), to: kernel, mode: 0o644)
    let dynamic = directory + "/dynamic"
    try write(makeELF(interpreter: "/lib/ld.so"), to: dynamic, mode: 0o755)
    let good = directory + "/good"
    try write(makeELF(), to: good, mode: 0o755)

    func failure(_ program: String, kernel: String) -> VillaError? {
      let configuration = RunConfiguration(
        programPath: program, kernelPath: kernel,
        qemuPath: "/nonexistent/qemu")
      do {
        _ = try runInVilla(configuration)
        return nil
      } catch {
        return error
      }
    }
    XCTAssertEqual(failure(directory + "/absent", kernel: kernel)?.exitStatus,
                   .notFound)
    XCTAssertEqual(failure(dynamic, kernel: kernel)?.exitStatus,
                   .cannotExecute)
    XCTAssertEqual(failure(dynamic, kernel: kernel)?.message,
                   "cannot run \(dynamic): dynamically linked (needs"
                     + " /lib/ld.so); Villa runs static binaries: rebuild"
                     + " with -static")
    XCTAssertEqual(failure(good, kernel: directory + "/no-kernel"),
                   .kernelMissing(path: directory + "/no-kernel"))
    // A configuration built in code is checked like the command line.
    var tiny = RunConfiguration(programPath: good, kernelPath: kernel,
                                memoryMiB: 8)
    XCTAssertThrowsError(try runInVilla(tiny)) { error in
      XCTAssertEqual((error as? VillaError)?.exitStatus, .usage)
    }
    tiny.memoryMiB = 64
    tiny.environment = ["NOVALUE"]
    XCTAssertThrowsError(try runInVilla(tiny)) { error in
      XCTAssertEqual((error as? VillaError)?.exitStatus, .usage)
    }
    // With all in place, the missing QEMU is what stops the run.
    guard case .qemuUnavailable(let qemu, _)? = failure(good, kernel: kernel)
    else { return XCTFail("expected QEMU to be missing") }
    XCTAssertEqual(qemu, "/nonexistent/qemu")
  }

  // MARK: - Package layout

  func testPackageRootAndKernelLocation() throws {
    let root = try temporaryDirectory()
    XCTAssertEqual(mkdir(root + "/arch", 0o755), 0)
    XCTAssertEqual(mkdir(root + "/arch/x86_64", 0o755), 0)
    let binaries = root + "/.build/x86_64-unknown-linux-gnu/debug"
    for path in [root + "/.build", root + "/.build/x86_64-unknown-linux-gnu",
                 binaries] {
      XCTAssertEqual(mkdir(path, 0o755), 0, path)
    }
    // Without Package.swift it is not a root.
    XCTAssertNil(PackageLayout.findRoot(from: [binaries]))
    try write(Array("// package".utf8), to: root + "/Package.swift",
              mode: 0o644)
    XCTAssertEqual(PackageLayout.findRoot(from: ["/", binaries]), root)
    XCTAssertEqual(PackageLayout.findRoot(from: [binaries]), root)
    XCTAssertEqual(PackageLayout.findRoot(from: ["/nonexistent", root]), root)

    // The build output, once it exists; --kernel and $VILLA_KERNEL first.
    let built = root + "/" + PackageLayout.kernelRelativePath
    XCTAssertThrowsError(try PackageLayout.locateKernel(
      explicit: nil, environment: nil, packageRoot: root)) { error in
      XCTAssertEqual(error as? VillaError, .kernelMissing(path: built))
      XCTAssertEqual((error as? VillaError)?.exitStatus, .kernelMissing)
      XCTAssertTrue((error as? VillaError)?.message
        .hasPrefix("kernel not built; run tools/build-kernel.sh") ?? false)
    }
    XCTAssertThrowsError(try PackageLayout.locateKernel(
      explicit: nil, environment: nil, packageRoot: nil)) { error in
      XCTAssertEqual(error as? VillaError, .kernelNotLocated)
    }
    let other = root + "/other-kernel"
    try write([0], to: other, mode: 0o644)
    XCTAssertEqual(try PackageLayout.locateKernel(
      explicit: other, environment: root + "/absent", packageRoot: root),
      other)
    XCTAssertEqual(try PackageLayout.locateKernel(
      explicit: nil, environment: other, packageRoot: root), other)
    XCTAssertThrowsError(try PackageLayout.locateKernel(
      explicit: root + "/absent", environment: other, packageRoot: root))
  }

  // MARK: - Kernel channel

  func testLineSplitting() {
    var splitter = KernelChannelLineSplitter()
    XCTAssertEqual(splitter.lines(from: Array("boot".utf8)), [])
    XCTAssertEqual(splitter.lines(from: Array("ing\r\n@exit 3\n\nlast".utf8)),
                   ["booting", "@exit 3", ""])
    XCTAssertEqual(splitter.finish(), "last")
    XCTAssertNil(splitter.finish())
    // Invalid UTF-8 is replaced, not dropped.
    XCTAssertEqual(splitter.lines(from: [0x41, 0xFF, 0x42, 0x0A]),
                   ["A\u{FFFD}B"])
    // A runaway line is cut into pieces.
    let limit = KernelChannelLineSplitter.maximumLineLength
    let long = splitter.lines(
      from: [UInt8](repeating: 0x78, count: limit + 5) + [0x0A])
    XCTAssertEqual(long.map(\.count), [limit, 5])
  }

  func testTranscriptSeparatesLogFromRecords() {
    var transcript = KernelChannelTranscript()
    XCTAssertEqual(transcript.take(line: "mm: 256 MiB"), "mm: 256 MiB")
    XCTAssertNil(transcript.take(line: "@frame ffff800000101234"))
    XCTAssertNil(transcript.take(line: "@exit 42"))
    XCTAssertNil(transcript.take(line: "@signal 9"))
    // Malformed records stay visible as log lines.
    XCTAssertEqual(transcript.take(line: "@exit 300"), "@exit 300")
    XCTAssertEqual(transcript.take(line: "@bogus"), "@bogus")

    XCTAssertEqual(transcript.log, ["mm: 256 MiB", "@exit 300", "@bogus"])
    XCTAssertEqual(transcript.frames, [0xFFFF_8000_0010_1234])
    // The first ending counts.
    XCTAssertEqual(transcript.ending, .exited(42))
    XCTAssertNil(transcript.panicMessage)
  }

  func testTranscriptKeepsThePanicReport() {
    var transcript = KernelChannelTranscript()
    let limit = KernelChannelTranscript.panicReportLimit
    for i in 0..<(limit + 5) { transcript.take(line: "line \(i)") }
    transcript.take(line: "@panic page fault at 0x0")
    transcript.take(line: "after")
    transcript.take(line: "@panic again")

    XCTAssertEqual(transcript.panicMessage, "page fault at 0x0")
    XCTAssertEqual(transcript.panicReport.count, limit + 1)
    XCTAssertEqual(transcript.panicReport.first, "line 5")
    XCTAssertEqual(transcript.panicReport.last, "after")
    XCTAssertEqual(transcript.log.count, limit + 6)

    // The kernel's "PANIC:" line starts the report when it is there.
    var marked = KernelChannelTranscript()
    for line in ["boot", "PANIC: oops", "  rip 0x1", "@frame 10",
                 "@panic oops"] {
      marked.take(line: line)
    }
    XCTAssertEqual(marked.panicReport, ["PANIC: oops", "  rip 0x1"])
  }

  // MARK: - Endings and exit statuses

  func testExitStatuses() {
    XCTAssertEqual(ProgramExit.exited(0).villaStatus, 0)
    XCTAssertEqual(ProgramExit.exited(42).villaStatus, 42)
    XCTAssertEqual(ProgramExit.signaled(9).villaStatus, 137)
    XCTAssertEqual(ProgramExit.signaled(11).villaStatus, 139)
    XCTAssertEqual(ProgramExit.panic("x").villaStatus, 123)
    XCTAssertEqual(ProgramExit.vmFailed("x").villaStatus, 125)
    XCTAssertEqual(ProgramExit.timedOut.villaStatus, 124)
    XCTAssertEqual(ProgramExit.interrupted(2).villaStatus, 130)
    XCTAssertEqual(ProgramExit.outputClosed.villaStatus, 141)

    XCTAssertEqual(VillaError.usage("x").exitStatus.rawValue, 2)
    XCTAssertEqual(VillaError.kernelMissing(path: "k").exitStatus.rawValue,
                   122)
    XCTAssertEqual(VillaError.kernelNotLocated.exitStatus.rawValue, 122)
    XCTAssertEqual(
      VillaError.programRefused(program: "p", reason: "r").exitStatus
        .rawValue, 126)
    XCTAssertEqual(
      VillaError.programNotFound(program: "p", reason: "r").exitStatus
        .rawValue, 127)
    XCTAssertEqual(
      VillaError.qemuUnavailable(qemu: "q", reason: "r").exitStatus
        .rawValue, 125)
    XCTAssertEqual(VillaError.hostFailure("x").exitStatus.rawValue, 125)
  }

  private func ending(
    _ status: QEMUStatus, _ cause: VMTermination.Cause = .finished,
    lines: [String]
  ) -> ProgramExit {
    var transcript = KernelChannelTranscript()
    lines.forEach { transcript.take(line: $0) }
    let termination = VMTermination(
      cause: cause, qemuStatus: status, diagnostics: "")
    return programExit(for: termination, transcript: transcript)
  }

  func testEndingDecision() {
    XCTAssertEqual(ending(.exited(1), lines: ["@exit 0"]), .exited(0))
    XCTAssertEqual(ending(.exited(1), lines: ["hi", "@exit 7"]), .exited(7))
    XCTAssertEqual(ending(.exited(1), lines: ["@signal 6"]), .signaled(6))
    // A panic wins over everything.
    XCTAssertEqual(ending(.exited(3), lines: ["@exit 0", "@panic oops"]),
                   .panic("oops"))
    XCTAssertEqual(ending(.exited(1), .timedOut, lines: ["@panic oops"]),
                   .panic("oops"))
    guard case .panic(let text) = ending(.exited(3), lines: []) else {
      return XCTFail("status 3 is a panic")
    }
    XCTAssertTrue(text.contains("no @panic record"))
    // The record beats villa's own reasons: the program had ended.
    XCTAssertEqual(ending(.signaled(9), .timedOut, lines: ["@exit 4"]),
                   .exited(4))
    XCTAssertEqual(ending(.signaled(9), .timedOut, lines: []), .timedOut)
    XCTAssertEqual(ending(.signaled(9), .interrupted(15), lines: []),
                   .interrupted(15))
    XCTAssertEqual(ending(.signaled(9), .outputClosed, lines: []),
                   .outputClosed)
    // Status 1 without a record is QEMU's own failure status too.
    guard case .vmFailed = ending(.exited(1), lines: ["booting"]),
      case .vmFailed = ending(.exited(0), lines: []),
      case .vmFailed = ending(.signaled(6), lines: [])
    else { return XCTFail("expected VM failures") }
  }

  private func outcome(_ exit: ProgramExit, lines: [String],
                       frames: [BacktraceFrame] = [],
                       diagnostics: String = "") -> RunOutcome {
    var transcript = KernelChannelTranscript()
    lines.forEach { transcript.take(line: $0) }
    return RunOutcome(
      exit: exit, transcript: transcript, backtrace: frames,
      stdout: [], stderr: [],
      termination: VMTermination(cause: .finished, qemuStatus: .exited(1),
                                 diagnostics: diagnostics),
      qemuCommandLine: ["qemu", "-x"], accelerator: .tcg)
  }

  func testReports() {
    let frames = [
      BacktraceFrame(address: 0xFFFF_8000_0010_0040, symbol: "kmain",
                     offset: 0x40),
      BacktraceFrame(address: 0x1234, symbol: nil, offset: 0),
    ]
    let panic = outcome(.panic("oops"), lines: ["ctx", "@panic oops"],
                        frames: frames)
    XCTAssertEqual(panic.report(kernelLogShown: false), [
      "villa: kernel panic: oops",
      "kernel: ctx",
      "kernel backtrace:",
      "  #0 0xffff800000100040 kmain+0x40",
      "  #1 0x1234 ?",
    ])
    // With --kernel-log the report's lines were already shown.
    XCTAssertEqual(panic.report(kernelLogShown: true).count, 4)
    XCTAssertEqual(panic.status, 123)
    XCTAssertEqual(panic.kernelLog, ["ctx"])

    let failed = outcome(.vmFailed("QEMU exited"), lines: ["last words"],
                         diagnostics: "qemu: bad option\n")
    XCTAssertEqual(failed.report(kernelLogShown: false), [
      "villa: QEMU exited",
      "kernel: last words",
      "villa: QEMU said:",
      "  qemu: bad option",
      "villa: QEMU command: qemu -x",
    ])
    XCTAssertEqual(outcome(.exited(3), lines: []).report(kernelLogShown: false),
                   [])
    XCTAssertEqual(outcome(.timedOut, lines: []).report(kernelLogShown: false)
      .count, 1)
  }

  func testSymbolizingKeepsToCode() {
    let kernel = makeELF(symbols: true)
    let frames = symbolizeBacktrace(
      [0x40_0108, 0x40_0100, 0x40_0F00, 0x40_0050, 0x40_3000],
      kernel: kernel)
    XCTAssertEqual(frames.map(\.symbol), ["kmain", "kmain", nil, nil, nil])
    XCTAssertEqual(frames.map(\.offset), [8, 0, 0, 0, 0])
    // Past kmain's 0x20 bytes: unknown, not kmain. Before kmain: not
    // "base+0x1050", since that label lies outside the code. Past the
    // code: unknown whatever the symbols.
    XCTAssertEqual(frames[3].line(index: 3), "  #3 0x400050 ?")
    // Demangling leaves names that are not Swift's alone.
    XCTAssertEqual(demangleSymbols(frames), frames)

    // A return address just past kmain is kmain's call, not the next
    // function; the first frame (maybe a faulting rip) is taken as is.
    let returns = symbolizeBacktrace([0x40_0100, 0x40_0120, 0x40_0100],
                                     kernel: makeELF(symbols: true))
    XCTAssertEqual(returns.map(\.symbol), ["kmain", "kmain", "kmain"])
    XCTAssertEqual(returns.map(\.offset), [0, 0x20, 0])
  }

  func testSymbolizingWithoutSymbols() {
    // Not an ELF file: every frame stays unnamed, nothing traps.
    let frames = symbolizeBacktrace([0x10, 0x20], kernel: [1, 2, 3])
    XCTAssertEqual(frames.map(\.symbol), [nil, nil])
    XCTAssertEqual(frames.map(\.address), [0x10, 0x20])
  }

  // MARK: - Help

  func testHelpDocumentsOptionsAndStatuses() {
    let options = ["--env", "--memory", "--accel", "--machine", "--kernel",
                   "--kernel-log", "--log-level", "--hostname", "--timeout",
                   "--qemu-arg", "--help"]
    for option in options {
      XCTAssertTrue(VillaHelp.run.contains(option), option)
      // Each documented option is one the parser knows.
      XCTAssertFalse(usageError(["run", option, "x", "prog"])?
        .contains("unknown option") ?? false, option)
    }
    for status in VillaExitStatus.allCases {
      XCTAssertTrue(VillaHelp.general.contains("  \(status.rawValue) "),
                    "\(status)")
      XCTAssertTrue(VillaHelp.run.contains("  \(status.rawValue) "),
                    "\(status)")
    }
  }

  // MARK: - Helpers

  private var directories: [String] = []

  override func tearDown() {
    for directory in directories {
      _ = try? FileManager.default.removeItem(atPath: directory)
    }
    directories = []
    super.tearDown()
  }

  private func temporaryDirectory() throws -> String {
    var template = Array("/tmp/villa-test.XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer {
      mkdtemp($0.baseAddress!) != nil
    }
    guard made else { throw VillaError.hostFailure("mkdtemp failed") }
    let path = String(decoding: template.dropLast().map {
      UInt8(bitPattern: $0)
    }, as: UTF8.self)
    directories.append(path)
    return path
  }

  private func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode)
    guard fd >= 0 else { throw VillaError.hostFailure("open \(path)") }
    defer { close(fd) }
    let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress,
                                                      $0.count) }
    guard written == bytes.count else {
      throw VillaError.hostFailure("write \(path)")
    }
  }
}
