// The kernel's entry from the boot assembly, and the order in which Villa
// brings itself up: output channels first (so everything after can report
// trouble), then the CPU tables, memory, time, and finally the program.

import Arch
import HostLink
import LinuxABI

private let log = Logger("boot")

@_cdecl("kernel_main")
func kernelMain(_ startInfoPhysical: UInt64) -> Never {
  SerialPort.programStdout.initialize()
  SerialPort.programStderr.initialize()
  SerialPort.kernelChannel.initialize()

  guard let startInfo = StartInfo(physical: startInfoPhysical) else {
    panic("no PVH start info: boot this kernel with qemu -kernel")
  }
  bringUpFrameAllocator(startInfo)
  log.debug("command line: \(String(decoding: startInfo.commandLine, as: UTF8.self))")
  // The final GDT must be live before the kernel page tables drop the
  // boot identity map, where the boot GDT lives.
  Descriptors.initialize()
  PerCPU.initialize()
  bringUpPageTables(startInfo)
  Clock.initialize()
  VDSO.initialize()
  Entropy.initialize()
  LocalAPIC.initialize()
  SyscallDispatcher.initialize()

  guard let module = startInfo.module else {
    panic("no boot bundle: start Villa programs with `villa run`")
  }
  let bundleBytes = UnsafeRawBufferPointer(
    start: DirectMap.pointer(module.start), count: Int(module.length))
  let bundle: BootBundleReader
  do {
    bundle = try BootBundleReader(bytes: bundleBytes)
  } catch {
    panic("unreadable boot bundle: \(error)")
  }
  let launch = ProgramLoader.readLaunch(bundle)
  applyOptions(launch.options)
  Devices.probe()
  if launch.options.contains(Array("list-syscalls".utf8)) {
    listSyscalls()
  }
  // Before the root filesystem: /etc/resolv.conf comes from DHCP.
  NetworkService.start(device: Devices.networks.first,
                       hostName: launch.hostname)

  var imageProgram: UnsafeRawBufferPointer? = nil
  do throws(Errno) {
    imageProgram = try RootFileSystem.build(launch: launch, bundle: bundle)
  } catch {
    // A disk that cannot be mounted, or an image without its program:
    // the program cannot start (status 126, as for a bad ELF).
    log.error("cannot set up the root filesystem: \(error.name)")
    KernelChannel.writeLine(KernelChannelRecord.exit(126).line)
    MachineExit.programEnded()
  }

  let process: Process
  do {
    process = try ProgramLoader.load(bundle: bundle, launch: launch,
                                     imageProgram: imageProgram)
  } catch {
    // The host checks programs before boot, so this is rare: report it
    // as the program's failure to start (status 126, like a shell).
    log.error(error.message)
    KernelChannel.writeLine(KernelChannelRecord.exit(126).line)
    MachineExit.programEnded()
  }
  // The segments are copies now; the program's bytes read from the
  // image are not needed any more.
  if let imageProgram, let start = imageProgram.baseAddress {
    UnsafeMutableRawPointer(mutating: start).deallocate()
  }
  let files = process.files
  // stdin, stdout and stderr.
  _ = try? files.install(BundledInput(bytes: launch.standardInput))
  _ = try? files.install(SerialStream(port: .programStdout, inode: 4))
  _ = try? files.install(SerialStream(port: .programStderr, inode: 5))
  Process.install(process)
  for thread in process.threads { Scheduler.add(thread) }
  log.info("boot done in \(Clock.monotonicNanoseconds() / 1000) us; "
    + "starting the program")
  Profiler.start()
  HostRequests.start()
  Scheduler.run()
}

private func bringUpFrameAllocator(_ startInfo: StartInfo) {
  let kernelStart: UInt64 = 0x10_0000
  let kernelEnd = DirectMap.physical(virtual: arch_kernel_end())
  var reserved = startInfo.reservedMemory
  reserved.append(MemoryRegion(start: kernelStart,
                               length: kernelEnd - kernelStart))
  reserved.append(startInfo.ownRange)
  if let module = startInfo.module { reserved.append(module) }
  FrameAllocator.initialize(usable: startInfo.usableMemory,
                            reserved: reserved)
  Heap.frameAllocatorReady = true
}

private func bringUpPageTables(_ startInfo: StartInfo) {
  var top: UInt64 = 0
  for region in startInfo.usableMemory { top = max(top, region.end) }
  _ = PageTable.initializeKernel(physicalTop: top)
  FrameAllocator.addMemoryAboveBootMap()
}

/// Sends the syscall table to the host, one "@syscall NUMBER NAME STATUS"
/// line per number, then ends the VM; docs/syscalls.md is generated from
/// this, so the document cannot drift from the table the kernel runs.
private func listSyscalls() -> Never {
  for number in 0...SyscallTable.highest {
    guard let name = SyscallTable.name(of: number) else { continue }
    let status: String
    switch SyscallDispatcher.support(of: number) {
    case .implemented: status = "implemented"
    case .partial(let missing): status = "partial: " + missing
    case nil: status = "absent"
    }
    KernelChannel.writeLine("@syscall \(number) \(name) \(status)")
  }
  KernelChannel.writeLine(KernelChannelRecord.exit(0).line)
  MachineExit.programEnded()
}

private func applyOptions(_ options: [[UInt8]]) {
  for option in options {
    let text = String(decoding: option, as: UTF8.self)
    if text.hasPrefix("log="),
      let level = LogLevel(name: String(text.dropFirst(4)))
    {
      Logger.threshold = level
    } else if text == "trace" || text.hasPrefix("trace=") {
      SyscallTrace.configure(text)
    } else if text.hasPrefix("tmp-size=") || text == "ro" {
      // Read when the root filesystem is built.
    } else if text == "stats" {
      Counters.enabled = true
    } else if text.hasPrefix("profile=") {
      if !Profiler.configure(text) {
        log.warn("profile: '\(text)' is not a rate of 1 to"
          + " \(Profiler.maximumFrequency) samples per second")
      }
    } else if text == "list-syscalls" {
      // Handled once the options are applied.
    } else if text == "test-panic" {
      // Lets the test suite prove that a kernel fault gives a report and
      // a backtrace: touch an address no kernel page maps.
      log.warn("test-panic: faulting on purpose")
      UnsafeMutablePointer<UInt64>(bitPattern: 0x10)!.pointee = 1
    } else {
      log.warn("unknown kernel option '\(text)'")
    }
  }
}

/// SwiftPM links an executable through its `main`; the kernel's real entry
/// is kernel_main, which boot.S calls, so this is never reached.
@main
struct KernelImage {
  static func main() {
    panic("KernelImage.main is not an entry point")
  }
}
