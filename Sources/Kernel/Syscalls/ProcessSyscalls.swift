// Process and thread identity, exit, thread-local storage and resource
// limits: exit(2), exit_group(2), getpid(2) and friends, arch_prctl(2),
// set_tid_address(2), set_robust_list(2), sched_yield(2),
// sched_getaffinity(2), prlimit64(2) and getrlimit(2).
//
// Villa runs one process, pid 1, as root (uid and gid 0), like a container's
// init; the program is its own parent's child, with ppid 0.

import Arch
import LinuxABI

private let log = Logger("process")

enum ProcessSyscalls {
  static func register() {
    let d = SyscallDispatcher.self
    d.register(.exitGroup, .implemented) { args throws(Errno) in
      Process.current.exit(status: args.int(args.a0))
    }
    d.register(.getpid, .implemented) { _ throws(Errno) in
      Int(Process.current.pid)
    }
    d.register(.gettid, .implemented) { _ throws(Errno) in
      Int(Scheduler.current?.tid ?? 0)
    }
    d.register(.getppid, .implemented) { _ throws(Errno) in 0 }
    d.register(.getuid, .implemented) { _ throws(Errno) in 0 }
    d.register(.geteuid, .implemented) { _ throws(Errno) in 0 }
    d.register(.getgid, .implemented) { _ throws(Errno) in 0 }
    d.register(.getegid, .implemented) { _ throws(Errno) in 0 }
    d.register(.setTidAddress, .implemented) { args throws(Errno) in
      guard let thread = Scheduler.current else { throw .ESRCH }
      thread.clearChildTID = args.address(args.a0)
      return Int(thread.tid)
    }
    d.register(.setRobustList, .implemented) {
      args throws(Errno) in
      // The head is struct robust_list_head: three words.
      guard args.a1 == 24 else { throw .EINVAL }
      guard let thread = Scheduler.current else { throw .ESRCH }
      thread.robustList = args.address(args.a0)
      thread.robustListLength = args.a1
      return 0
    }
    d.register(.getRobustList, .implemented) { args throws(Errno) in
      let tid = args.int(args.a0)
      guard let current = Scheduler.current else { throw .ESRCH }
      let thread = tid == 0 ? current : try SignalSyscalls.findThread(tid)
      try UserMemory.write(thread.robustList.raw, to: args.address(args.a1))
      try UserMemory.write(thread.robustListLength, to: args.address(args.a2))
      return 0
    }
    d.register(.archPrctl, .partial("no CPUID faulting")) { args throws(Errno) in
      try archPrctl(code: args.int(args.a0), address: args.a1)
    }
    d.register(.prctl, .partial("PR_SET_NAME and PR_GET_NAME only")) {
      args throws(Errno) in
      try prctl(option: args.int(args.a0), argument: args.address(args.a1))
    }
    d.register(.wait4, .implemented) { _ throws(Errno) in
      // The program can start no child (no fork), so it has none to wait
      // for: exactly what Linux answers a childless process.
      throw .ECHILD
    }
    d.register(.waitid, .implemented) { _ throws(Errno) in throw .ECHILD }
    d.register(.getcpu, .implemented) { args throws(Errno) in
      if !args.address(args.a0).isNull {
        try UserMemory.write(UInt32(0), to: args.address(args.a0))
      }
      if !args.address(args.a1).isNull {
        try UserMemory.write(UInt32(0), to: args.address(args.a1))
      }
      return 0
    }
    d.register(.schedSetaffinity, .implemented) { args throws(Errno) in
      _ = try target(args.int(args.a0))
      guard args.a1 > 0 else { throw .EINVAL }
      let mask = try UserMemory.readBytes(at: args.address(args.a2),
                                          count: Int(min(args.a1, 1024)))
      // There is one CPU; a mask without it is invalid.
      guard mask[0] & 1 != 0 else { throw .EINVAL }
      return 0
    }
    d.register(.schedGetscheduler, .implemented) { args throws(Errno) in
      guard args.int(args.a0) >= 0 else { throw .EINVAL }
      _ = try target(args.int(args.a0))
      return Int(Process.current.schedulingPolicy)
    }
    d.register(.schedSetscheduler, .partial("policies recorded; all threads "
      + "share the round-robin scheduler")) { args throws(Errno) in
      let policy = args.int(args.a1)
      guard args.int(args.a0) >= 0 else { throw .EINVAL }
      _ = try target(args.int(args.a0))
      let priority = try UserMemory.read(Int32.self, at: args.address(args.a2))
      switch policy & ~0x4000_0000 {  // SCHED_RESET_ON_FORK
      case 0, 3, 5: guard priority == 0 else { throw .EINVAL }
      case 1, 2: guard priority >= 1 && priority <= 99 else { throw .EINVAL }
      default: throw .EINVAL
      }
      Process.current.schedulingPolicy = policy & ~0x4000_0000
      Process.current.schedulingPriority = priority
      return 0
    }
    d.register(.schedGetparam, .implemented) { args throws(Errno) in
      guard args.int(args.a0) >= 0 else { throw .EINVAL }
      _ = try target(args.int(args.a0))
      try UserMemory.write(Process.current.schedulingPriority,
                           to: args.address(args.a1))
      return 0
    }
    d.register(.schedSetparam, .implemented) { args throws(Errno) in
      guard args.int(args.a0) >= 0 else { throw .EINVAL }
      _ = try target(args.int(args.a0))
      let priority = try UserMemory.read(Int32.self, at: args.address(args.a1))
      let realtime = [1, 2].contains(Process.current.schedulingPolicy)
      guard realtime ? (1...99).contains(priority) : priority == 0 else {
        throw .EINVAL
      }
      Process.current.schedulingPriority = priority
      return 0
    }
    d.register(.schedGetPriorityMax, .implemented) { args throws(Errno) in
      switch args.int(args.a0) {
      case 1, 2: return 99
      case 0, 3, 5, 6: return 0
      default: throw .EINVAL
      }
    }
    d.register(.schedGetPriorityMin, .implemented) { args throws(Errno) in
      switch args.int(args.a0) {
      case 1, 2: return 1
      case 0, 3, 5, 6: return 0
      default: throw .EINVAL
      }
    }
    d.register(.getpriority, .implemented) { args throws(Errno) in
      try checkPriorityTarget(which: args.int(args.a0), who: args.int(args.a1))
      // The raw syscall returns 20 - nice, so the result is never negative.
      return Int(20 - Process.current.nice)
    }
    d.register(.setpriority, .partial("recorded; does not change scheduling"))
    { args throws(Errno) in
      try checkPriorityTarget(which: args.int(args.a0), who: args.int(args.a1))
      Process.current.nice = min(19, max(-20, args.int(args.a2)))
      return 0
    }
    d.register(.sysinfo, .implemented) { args throws(Errno) in
      try sysinfo(to: args.address(args.a0))
      return 0
    }
    d.register(.getrusage, .partial("times and peak memory; the other "
      + "counters are zero")) { args throws(Errno) in
      let who = args.int(args.a0)
      guard who == 0 || who == -1 || who == 1 else { throw .EINVAL }
      guard let thread = Scheduler.current else { throw .EINVAL }
      // struct rusage: utime, stime (timevals), then 14 longs. Children
      // (RUSAGE_CHILDREN, -1) there are none, so theirs is all zero.
      var bytes = [UInt8](repeating: 0, count: 144)
      if who != -1 {
        let usage = who == 1 ? CPUTime.usage(of: thread)
          : CPUTime.usage(of: thread.process)
        for (offset, nanoseconds) in [(0, usage.user), (16, usage.system)] {
          bytes.store(Int64(nanoseconds / 1_000_000_000), at: offset)
          bytes.store(Int64(nanoseconds % 1_000_000_000 / 1000),
                      at: offset + 8)
        }
        bytes.store(Int64(FrameAllocator.peakUsedFrames * 4), at: 32)
      }
      try UserMemory.writeBytes(bytes, to: args.address(args.a1))
      return 0
    }
    d.register(.times, .implemented) { args throws(Errno) in
      guard let thread = Scheduler.current else { throw .EINVAL }
      // Clock ticks of 10 ms (AT_CLKTCK is 100); no children.
      let usage = CPUTime.usage(of: thread.process)
      let user = Int64(usage.user / 10_000_000)
      let system = Int64(usage.system / 10_000_000)
      if !args.address(args.a0).isNull {
        try UserMemory.write((user, system, Int64(0), Int64(0)),
                             to: args.address(args.a0))
      }
      return Int(Clock.monotonicNanoseconds() / 10_000_000)
    }
    d.register(.schedYield, .implemented) { _ throws(Errno) in
      Scheduler.yield()
      return 0
    }
    d.register(.schedGetaffinity, .implemented) { args throws(Errno) in
      _ = try target(args.int(args.a0))
      return try schedGetaffinity(size: args.a1, mask: args.address(args.a2))
    }
    d.register(.prlimit64, .partial("only the calling process (pid 0 or 1)")) {
      args throws(Errno) in
      try prlimit(pid: args.int(args.a0), resource: args.a1,
                  new: args.address(args.a2), old: args.address(args.a3))
    }
    d.register(.getrlimit, .implemented) { args throws(Errno) in
      try prlimit(pid: 0, resource: args.a0, new: UserAddress(0),
                  old: args.address(args.a1))
    }
    d.register(.setrlimit, .implemented) { args throws(Errno) in
      try prlimit(pid: 0, resource: args.a0, new: args.address(args.a1),
                  old: UserAddress(0))
    }
  }

  /// arch_prctl(2): the FS and GS bases that TLS uses.
  static func archPrctl(code: Int32, address: UInt64) throws(Errno) -> Int {
    guard let thread = Scheduler.current else { throw .ESRCH }
    switch code {
    case 0x1002:  // ARCH_SET_FS
      guard address < AddressSpace.userLimit else { throw .EPERM }
      thread.fsBase = address
      arch_wrmsr(MSR.fsBase, address)
      return 0
    case 0x1001:  // ARCH_SET_GS
      guard address < AddressSpace.userLimit else { throw .EPERM }
      thread.gsBase = address
      // In the kernel the user's GS base waits in KERNEL_GS_BASE until
      // swapgs on the way out.
      arch_wrmsr(MSR.kernelGSBase, address)
      return 0
    case 0x1003:  // ARCH_GET_FS
      try UserMemory.write(arch_rdmsr(MSR.fsBase), to: UserAddress(address))
      return 0
    case 0x1004:  // ARCH_GET_GS
      try UserMemory.write(arch_rdmsr(MSR.kernelGSBase),
                           to: UserAddress(address))
      return 0
    default:
      throw .EINVAL
    }
  }

  /// prctl(2). The thread name is kept (16 bytes with its NUL, as
  /// Linux keeps it); other options are refused rather than ignored.
  static func prctl(option: Int32, argument: UserAddress)
    throws(Errno) -> Int
  {
    guard let thread = Scheduler.current else { throw .ESRCH }
    switch option {
    case 15:  // PR_SET_NAME
      let name = try UserMemory.readString(at: argument, limit: 4096)
      thread.name = Array(name.prefix(15))
      return 0
    case 16:  // PR_GET_NAME
      var bytes = thread.name
      bytes += [UInt8](repeating: 0, count: 16 - bytes.count)
      try UserMemory.writeBytes(bytes, to: argument)
      return 0
    default:
      log.warn("prctl option \(option) is not supported")
      throw .EINVAL
    }
  }

  /// The process a pid argument names: 0 or our own pid (or a thread id).
  static func target(_ pid: Int32) throws(Errno) -> Process {
    let process = Process.current
    guard pid == 0 || pid == process.pid ||
      process.threads.contains(where: { $0.tid == pid && $0.state != .exited })
    else { throw .ESRCH }
    return process
  }

  /// getpriority/setpriority: PRIO_PROCESS 0, PRIO_PGRP 1, PRIO_USER 2.
  static func checkPriorityTarget(which: Int32, who: Int32) throws(Errno) {
    switch which {
    case 0: _ = try target(who)
    case 1: guard who == 0 || who == Process.current.pid else { throw .ESRCH }
    case 2: guard who == 0 else { throw .ESRCH }
    default: throw .EINVAL
    }
  }

  /// struct sysinfo: uptime, loads[3], totalram, freeram, sharedram,
  /// bufferram, totalswap, freeswap (longs), procs (u16, padded),
  /// totalhigh, freehigh (longs), mem_unit (u32): 112 bytes.
  static func sysinfo(to address: UserAddress) throws(Errno) {
    var bytes = [UInt8](repeating: 0, count: 112)
    bytes.store(Int64(Clock.monotonicNanoseconds() / 1_000_000_000), at: 0)
    bytes.store(FrameAllocator.totalFrames * 4096, at: 32)
    bytes.store((FrameAllocator.totalFrames - FrameAllocator.usedFrames)
      * 4096, at: 40)
    bytes.store(UInt16(Process.current.liveThreads), at: 80)
    bytes.store(UInt32(1), at: 104)
    try UserMemory.writeBytes(bytes, to: address)
  }

  /// One CPU: the mask has bit 0 set. The result is the size of the
  /// kernel's mask in bytes (8), as Linux returns.
  static func schedGetaffinity(size: UInt64, mask: UserAddress)
    throws(Errno) -> Int
  {
    guard size >= 8, size % 8 == 0 else { throw .EINVAL }
    try UserMemory.zero(at: mask, count: Int(min(size, 1024)))
    try UserMemory.write(UInt64(1), to: mask)
    return 8
  }

  static func prlimit(pid: Int32, resource: UInt64, new: UserAddress,
                      old: UserAddress) throws(Errno) -> Int
  {
    guard pid == 0 || pid == Process.current.pid else { throw .ESRCH }
    let process = Process.current
    guard resource < UInt64(process.limits.count) else { throw .EINVAL }
    let index = Int(resource)
    var replacement: (UInt64, UInt64)? = nil
    if !new.isNull {
      let limit = try UserMemory.read((UInt64, UInt64).self, at: new)
      guard limit.0 <= limit.1 else { throw .EINVAL }
      // Raising a hard limit needs CAP_SYS_RESOURCE, which root has.
      replacement = limit
    }
    if !old.isNull {
      try UserMemory.write(process.limits[index], to: old)
    }
    if let replacement { process.limits[index] = replacement }
    return 0
  }
}
