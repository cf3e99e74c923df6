// Threads and futexes: clone(2) and clone3(2) for the flags pthreads use,
// exit(2) of one thread, futex(2).
//
// A clone without CLONE_VM, CLONE_THREAD and CLONE_SIGHAND asks for a new
// process (fork, vfork, posix_spawn); Villa runs one process, so those
// fail with ENOSYS and a log line.

import Arch
import LinuxABI

private let log = Logger("thread")

enum ThreadSyscalls {
  // clone(2) flags.
  static let cloneVM: UInt64 = 0x100
  static let cloneFS: UInt64 = 0x200
  static let cloneFiles: UInt64 = 0x400
  static let cloneSighand: UInt64 = 0x800
  static let clonePidfd: UInt64 = 0x1000
  static let cloneVfork: UInt64 = 0x4000
  static let cloneThread: UInt64 = 0x10000
  static let cloneSysvsem: UInt64 = 0x40000
  static let cloneSettls: UInt64 = 0x80000
  static let cloneParentSettid: UInt64 = 0x100000
  static let cloneChildCleartid: UInt64 = 0x200000
  static let cloneDetached: UInt64 = 0x400000
  static let cloneChildSettid: UInt64 = 0x1000000
  static let signalMask: UInt64 = 0xFF

  static let threadFlags = cloneVM | cloneThread | cloneSighand
  static let supportedFlags = threadFlags | cloneFS | cloneFiles
    | cloneSysvsem | cloneSettls | cloneParentSettid | cloneChildCleartid
    | cloneDetached | cloneChildSettid

  static func register() {
    let d = SyscallDispatcher.self
    d.register(.clone, .partial("threads only; no new processes")) {
      args throws(Errno) in
      // x86_64 order: flags, stack, parent_tid, child_tid, tls.
      try clone(flags: args.a0, stack: args.a1, stackSize: 0,
                parentTID: args.address(args.a2),
                childTID: args.address(args.a3), tls: args.a4,
                frame: args.frame)
    }
    d.register(.clone3, .partial("threads only; no new processes")) {
      args throws(Errno) in
      try clone3(arguments: args.address(args.a0), size: args.a1,
                 frame: args.frame)
    }
    d.register(.exit, .implemented) { args throws(Errno) in
      exitThread(status: args.int(args.a0))
    }
    d.register(.futex, .partial("no priority-inheritance operations")) {
      args throws(Errno) in
      try futex(address: args.address(args.a0), operation: args.int(args.a1),
                value: UInt32(truncatingIfNeeded: args.a2), timeout: args.a3,
                address2: args.address(args.a4),
                value3: UInt32(truncatingIfNeeded: args.a5))
    }
  }

  static func clone(flags: UInt64, stack: UInt64, stackSize: UInt64,
                    parentTID: UserAddress, childTID: UserAddress,
                    tls: UInt64, frame: UnsafeMutablePointer<TrapFrame>)
    throws(Errno) -> Int
  {
    guard flags & threadFlags == threadFlags else {
      log.warn("clone without CLONE_VM|CLONE_THREAD|CLONE_SIGHAND "
        + "(a new process) is not supported")
      throw .ENOSYS
    }
    guard flags & ~supportedFlags & ~signalMask == 0 else {
      log.warn("clone flags \(hex(flags & ~supportedFlags)) not supported")
      throw .EINVAL
    }
    guard flags & signalMask == 0 else { throw .EINVAL }
    guard let parent = Scheduler.current else { throw .ESRCH }
    let process = parent.process

    var entry = frame.pointee
    entry.rax = 0
    if stack != 0 { entry.rsp = stack &+ stackSize }
    let thread = Thread(tid: process.newThreadID(), process: process,
                        entry: entry)
    thread.fsBase = flags & cloneSettls != 0 ? tls : arch_rdmsr(MSR.fsBase)
    thread.gsBase = arch_rdmsr(MSR.kernelGSBase)
    thread.signalMask = parent.signalMask
    // The child inherits the parent's FPU state: copy the FXSAVE area that
    // sits just below the parent's trap frame.
    let parentFPU = UnsafeRawPointer(frame) - TrapFrame.fpuAreaSize
    let childFPU = UnsafeMutableRawPointer(thread.frame) - TrapFrame.fpuAreaSize
    childFPU.copyMemory(from: parentFPU, byteCount: TrapFrame.fpuAreaSize)

    if flags & cloneParentSettid != 0 {
      try UserMemory.write(thread.tid, to: parentTID)
    }
    if flags & cloneChildSettid != 0 {
      try UserMemory.write(thread.tid, to: childTID)
    }
    if flags & cloneChildCleartid != 0 {
      thread.clearChildTID = childTID
    }
    process.threads.append(thread)
    Scheduler.add(thread)
    return Int(thread.tid)
  }

  /// struct clone_args: flags, pidfd, child_tid, parent_tid, exit_signal,
  /// stack, stack_size, tls, set_tid, set_tid_size, cgroup (8 bytes each).
  static func clone3(arguments: UserAddress, size: UInt64,
                     frame: UnsafeMutablePointer<TrapFrame>)
    throws(Errno) -> Int
  {
    guard size >= 64, size <= 4096 else { throw .EINVAL }
    let raw = try UserMemory.readBytes(at: arguments, count: Int(size))
    func field(_ i: Int) -> UInt64 {
      guard i * 8 + 8 <= raw.count else { return 0 }
      var value: UInt64 = 0
      for b in 0..<8 { value |= UInt64(raw[i * 8 + b]) << (b * 8) }
      return value
    }
    // Fields past the ones Villa knows must be zero, as Linux checks.
    for i in 8..<(raw.count / 8) where field(i) != 0 { throw .E2BIG }
    guard field(4) == 0 else { throw .EINVAL }   // exit_signal
    let stack = field(5)
    let stackSize = field(6)
    guard (stack == 0) == (stackSize == 0) else { throw .EINVAL }
    return try clone(flags: field(0), stack: stack, stackSize: stackSize,
                     parentTID: UserAddress(field(3)),
                     childTID: UserAddress(field(2)), tls: field(7),
                     frame: frame)
  }

  /// exit(2) of one thread. The last thread's exit ends the process.
  static func exitThread(status: Int32) -> Never {
    guard let thread = Scheduler.current else { panic("exit without thread") }
    let process = thread.process
    releaseRobustFutexes(of: thread)
    // CLONE_CHILD_CLEARTID: zero the word and wake one waiter, which is
    // how pthread_join learns the thread is gone.
    if !thread.clearChildTID.isNull {
      if (try? UserMemory.write(UInt32(0), to: thread.clearChildTID)) != nil {
        FutexQueues.wake(address: thread.clearChildTID, count: 1,
                         bitset: UInt32.max)
      }
    }
    process.threadExited()
    if process.liveThreads == 0 {
      process.exit(status: status)
    }
    Scheduler.exitCurrentThread()
  }

  /// Walks the thread's robust list (set_robust_list(2)) as it exits:
  /// every futex it still owns gets FUTEX_OWNER_DIED and one waiter is
  /// woken, so the next locker of a robust mutex sees EOWNERDEAD. The
  /// head is { next, futex_offset, list_op_pending }; entries link
  /// through their first word, and bit 0 of a link marks a PI futex.
  static func releaseRobustFutexes(of thread: Thread) {
    let head = thread.robustList
    guard !head.isNull,
      let (first, offset, pending) = try? UserMemory.read(
        (UInt64, Int64, UInt64).self, at: head)
    else { return }
    func release(_ entry: UInt64) {
      let word = UserAddress(UInt64(bitPattern: Int64(bitPattern: entry & ~1)
        &+ offset))
      guard let value = try? UserMemory.read(UInt32.self, at: word),
        value & 0x3FFF_FFFF == UInt32(bitPattern: thread.tid)
      else { return }
      let marked = (value & 0x8000_0000) | 0x4000_0000
      guard (try? UserMemory.write(marked, to: word)) != nil else { return }
      FutexQueues.wake(address: word, count: 1, bitset: UInt32.max)
    }
    var entry = first
    var steps = 0
    // The list ends back at the head; 2048 entries at most, as Linux
    // allows, so a corrupt or circular list cannot hang the exit.
    while entry != head.raw && entry != 0 && steps < 2048 {
      guard let next = try? UserMemory.read(UInt64.self,
                                            at: UserAddress(entry & ~1))
      else { break }
      if entry != pending { release(entry) }
      entry = next
      steps += 1
    }
    if pending != 0 { release(pending) }
  }

  static func futex(address: UserAddress, operation: Int32, value: UInt32,
                    timeout: UInt64, address2: UserAddress, value3: UInt32)
    throws(Errno) -> Int
  {
    let command = operation & 0x7F
    let realtimeClock = operation & 256 != 0
    guard address.raw % 4 == 0 else { throw .EINVAL }
    switch command {
    case 0, 9:  // FUTEX_WAIT, FUTEX_WAIT_BITSET
      let bitset = command == 9 ? value3 : UInt32.max
      guard bitset != 0 else { throw .EINVAL }
      if realtimeClock && command == 0 { throw .ENOSYS }
      var deadline: UInt64? = nil
      if timeout != 0 {
        let span = try TimeSyscalls.readTimespec(at: UserAddress(timeout))
        if command == 0 {
          // FUTEX_WAIT takes a relative timeout on the monotonic clock.
          deadline = Clock.monotonicNanoseconds() &+ span
        } else {
          // FUTEX_WAIT_BITSET takes an absolute time on its clock.
          let now = realtimeClock
            ? Clock.realtimeNanoseconds() : Clock.monotonicNanoseconds()
          deadline = Clock.monotonicNanoseconds()
            &+ (span > now ? span - now : 0)
        }
      }
      try FutexQueues.wait(address: address, expected: value,
                           bitset: bitset, deadline: deadline)
      return 0
    case 1, 10:  // FUTEX_WAKE, FUTEX_WAKE_BITSET
      let bitset = command == 10 ? value3 : UInt32.max
      guard bitset != 0 else { throw .EINVAL }
      return FutexQueues.wake(address: address, count: Int(min(value, 1 << 30)),
                              bitset: bitset)
    case 3, 4:  // FUTEX_REQUEUE, FUTEX_CMP_REQUEUE
      guard address2.raw % 4 == 0 else { throw .EINVAL }
      // The fourth argument is a count here, not a timeout pointer.
      let requeueCount = Int(min(timeout, 1 << 30))
      if command == 4 {
        let current = try UserMemory.read(UInt32.self, at: address)
        guard current == value3 else { throw .EAGAIN }
      }
      return FutexQueues.requeue(from: address, to: address2,
                                 wakeCount: Int(min(value, 1 << 30)),
                                 requeueCount: requeueCount)
    case 5:  // FUTEX_WAKE_OP
      return try wakeOp(address: address, count: Int(value),
                        count2: Int(min(timeout, 1 << 30)),
                        address2: address2, encoded: value3)
    default:
      log.warn("futex operation \(command) is not supported")
      throw .ENOSYS
    }
  }

  /// FUTEX_WAKE_OP: atomically (one CPU, interrupts off) apply an
  /// operation to the word at address2, wake on address, and wake on
  /// address2 too if the old value passes the comparison.
  static func wakeOp(address: UserAddress, count: Int, count2: Int,
                     address2: UserAddress, encoded: UInt32)
    throws(Errno) -> Int
  {
    guard address2.raw % 4 == 0 else { throw .EINVAL }
    let guardState = InterruptGuard()
    defer { guardState.restore() }
    let op = (encoded >> 28) & 0x7
    let shiftArgument = (encoded >> 28) & 0x8 != 0
    let compare = (encoded >> 24) & 0xF
    var argument = (encoded >> 12) & 0xFFF
    let compareArgument = encoded & 0xFFF
    if shiftArgument { argument = argument < 32 ? 1 << argument : 0 }
    let old = try UserMemory.read(UInt32.self, at: address2)
    let new: UInt32
    switch op {
    case 0: new = argument
    case 1: new = old &+ argument
    case 2: new = old | argument
    case 3: new = old & ~argument
    case 4: new = old ^ argument
    default: throw .ENOSYS
    }
    try UserMemory.write(new, to: address2)
    var woken = FutexQueues.wake(address: address, count: count,
                                 bitset: UInt32.max)
    let oldSigned = Int32(bitPattern: old)
    let argSigned = Int32(bitPattern: compareArgument)
    let passes: Bool
    switch compare {
    case 0: passes = oldSigned == argSigned
    case 1: passes = oldSigned != argSigned
    case 2: passes = oldSigned < argSigned
    case 3: passes = oldSigned <= argSigned
    case 4: passes = oldSigned > argSigned
    case 5: passes = oldSigned >= argSigned
    default: throw .ENOSYS
    }
    if passes {
      woken += FutexQueues.wake(address: address2, count: count2,
                                bitset: UInt32.max)
    }
    return woken
  }
}
