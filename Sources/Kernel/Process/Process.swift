// The process: the one program a Villa VM runs. It owns the address space,
// the file descriptor table, its threads and its identity. When it ends,
// the kernel reports how (an @exit or @signal record on the kernel channel)
// and the VM stops, since nothing else is left to run.

import HostLink
import LinuxABI

private let log = Logger("process")

final class Process {
  private static var theProcess: Process? = nil

  static var current: Process {
    guard let process = theProcess else { panic("no process") }
    return process
  }

  static var currentOrNil: Process? { theProcess }

  let pid: Int32 = 1
  let addressSpace: AddressSpace
  let files = FileTable()
  /// Every thread the process created; exited ones stay until the
  /// process ends, since their kernel stacks may still be in use.
  var threads: [Thread] = []
  private(set) var exitedThreads = 0
  var liveThreads: Int { threads.count - exitedThreads }

  func threadExited() { exitedThreads += 1 }
  /// The path the program was started as (AT_EXECFN, /proc/self/exe).
  var executablePath: [UInt8] = []
  var hostname: [UInt8] = Array("villa".utf8)
  var umask: UInt32 = 0o022
  /// sched_setscheduler and setpriority values, recorded and reported.
  var schedulingPolicy: Int32 = 0
  var schedulingPriority: Int32 = 0
  var nice: Int32 = 0
  var workingDirectory: Inode
  /// argv and envp as the program was started, for /proc/self.
  var arguments: [[UInt8]] = []
  var environment: [[UInt8]] = []
  /// rt_sigaction dispositions, indexed by signal number - 1.
  var signalActions = [SignalAction](repeating: SignalAction(), count: 64)
  /// Resource limits by RLIMIT_* number: (soft, hard).
  var limits: [(UInt64, UInt64)] = Process.defaultLimits
  private var nextTID: Int32 = 1

  init(addressSpace: AddressSpace, workingDirectory: Inode) {
    self.addressSpace = addressSpace
    self.workingDirectory = workingDirectory
  }

  static func install(_ process: Process) {
    theProcess = process
  }

  func newThreadID() -> Int32 {
    defer { nextTID += 1 }
    return nextTID
  }

  /// exit_group(2), or the last thread's exit(2).
  func exit(status: Int32) -> Never {
    NetworkService.finishBeforeExit()
    flushFileSystems()
    Counters.report()
    KernelChannel.writeLine(KernelChannelRecord.exit(status & 0xFF).line)
    MachineExit.programEnded()
  }

  /// The end of the program by a signal's default action.
  func terminate(bySignal signal: Int32) -> Never {
    NetworkService.finishBeforeExit()
    flushFileSystems()
    Counters.report()
    KernelChannel.writeLine(KernelChannelRecord.signal(signal).line)
    MachineExit.programEnded()
  }

  /// The VM stops when the program ends, so what it wrote must reach the
  /// disk now: Linux would write it back later, and nothing is later here.
  private func flushFileSystems() {
    guard let root = Mounts.root else { return }
    do throws(Errno) {
      try addressSpace.writeBackSharedMappings()
      try root.fileSystem.sync()
    } catch {
      log.error("writing the filesystem back failed: \(error.name)")
    }
  }

  static let infinity = UInt64.max

  /// Linux's defaults for a process started by init, except the stack,
  /// which is what Villa reserves for it.
  static let defaultLimits: [(UInt64, UInt64)] = [
    (infinity, infinity),                      // CPU
    (infinity, infinity),                      // FSIZE
    (infinity, infinity),                      // DATA
    (AddressSpace.stackSize, infinity),        // STACK
    (0, infinity),                             // CORE
    (infinity, infinity),                      // RSS
    (63_432, 63_432),                          // NPROC
    (1024, 4096),                              // NOFILE
    (8 << 20, 8 << 20),                        // MEMLOCK
    (infinity, infinity),                      // AS
    (infinity, infinity),                      // LOCKS
    (63_432, 63_432),                          // SIGPENDING
    (819_200, 819_200),                        // MSGQUEUE
    (0, 0),                                    // NICE
    (0, 0),                                    // RTPRIO
    (infinity, infinity),                      // RTTIME
  ]
}

