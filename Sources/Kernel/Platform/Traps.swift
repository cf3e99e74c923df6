// Where interrupts and exceptions land (villa_trap, called from entry.S).
//
// A page fault first goes to the address space, which may resolve it by
// backing the page (demand paging). What is left is either the program's
// fault, which becomes a signal for it, or the kernel's, which is a panic
// with a report. A fault inside the user-copy routines is neither: the
// copy returns an error and the system call answers EFAULT.

import Arch
import LinuxABI

private let log = Logger("trap")

enum ExceptionVector: UInt64 {
  case divideError = 0, debug = 1, nmi = 2, breakpoint = 3, overflow = 4
  case boundRange = 5, invalidOpcode = 6, deviceNotAvailable = 7
  case doubleFault = 8, invalidTSS = 10, segmentNotPresent = 11
  case stackSegment = 12, generalProtection = 13, pageFault = 14
  case x87 = 16, alignmentCheck = 17, machineCheck = 18, simd = 19
  case virtualization = 20, controlProtection = 21

  var name: String {
    switch self {
    case .divideError: return "divide error"
    case .debug: return "debug"
    case .nmi: return "NMI"
    case .breakpoint: return "breakpoint"
    case .overflow: return "overflow"
    case .boundRange: return "bound range exceeded"
    case .invalidOpcode: return "invalid opcode"
    case .deviceNotAvailable: return "device not available"
    case .doubleFault: return "double fault"
    case .invalidTSS: return "invalid TSS"
    case .segmentNotPresent: return "segment not present"
    case .stackSegment: return "stack-segment fault"
    case .generalProtection: return "general protection fault"
    case .pageFault: return "page fault"
    case .x87: return "x87 floating-point error"
    case .alignmentCheck: return "alignment check"
    case .machineCheck: return "machine check"
    case .simd: return "SIMD floating-point error"
    case .virtualization: return "virtualization exception"
    case .controlProtection: return "control protection"
    }
  }

  /// The signal Linux sends a program for this exception.
  var signal: Int32 {
    switch self {
    case .divideError, .x87, .simd: return Signal.fpe.rawValue
    case .debug, .breakpoint: return Signal.trap.rawValue
    case .invalidOpcode: return Signal.ill.rawValue
    case .alignmentCheck: return Signal.bus.rawValue
    default: return Signal.segv.rawValue
    }
  }
}

@_cdecl("villa_trap")
func villaTrap(_ rawFrame: UnsafeMutableRawPointer) {
  let frame = rawFrame.assumingMemoryBound(to: TrapFrame.self)
  let vector = frame.pointee.vector
  // Only a trap from user mode ends a stretch of user time; one that
  // interrupts the kernel leaves the kernel's accounting running.
  let fromUserMode = frame.pointee.fromUserMode
  if fromUserMode { CPUTime.enterKernel() }
  handleTrap(frame)
  if fromUserMode {
    Signals.deliver(frame: frame, syscallNumber: nil)
    CPUTime.leaveKernel()
  }
}

private func handleTrap(_ frame: UnsafeMutablePointer<TrapFrame>) {
  let vector = frame.pointee.vector
  if vector == UInt64(LocalAPIC.timerVector) {
    Counters.timerInterrupts &+= 1
    LocalAPIC.endOfInterrupt()
    Profiler.timerFired(frame)
    Scheduler.timerFired(interruptedUserMode: frame.pointee.fromUserMode)
    return
  }
  if vector == UInt64(LocalAPIC.spuriousVector) { return }
  if IOAPIC.dispatch(vector: vector)
    || MessageInterrupts.dispatch(vector: vector)
  {
    Counters.deviceInterrupts &+= 1
    return
  }
  if vector >= 32 {
    log.warn("unexpected interrupt \(vector)")
    LocalAPIC.endOfInterrupt()
    return
  }

  var fileFault = false
  if vector == ExceptionVector.pageFault.rawValue {
    switch handlePageFault(frame) {
    case .resolved: return
    case .beyondEndOfFile: fileFault = true
    case .invalid: break
    }
  }

  let exception = ExceptionVector(rawValue: vector)
  let name = exception?.name ?? "exception \(vector)"
  if frame.pointee.fromUserMode, let thread = Scheduler.current {
    let address = vector == 14 ? arch_read_cr2() : frame.pointee.rip
    log.info("program \(name) at \(hex(frame.pointee.rip))"
      + (vector == 14 ? ", address \(hex(address))" : ""))
    // A file mapping touched past the end of its file: SIGBUS with
    // BUS_ADRERR, as mmap(2) says.
    let info = fileFault
      ? SignalInfo(signal: Signal.bus.rawValue, code: 2, address: address,
                   isFault: true)
      : Signals.faultInfo(vector: exception, address: address,
                          errorCode: frame.pointee.errorCode)
    Signals.force(info, on: thread)
    return
  }
  panicReport("\(name) in the kernel (vector \(vector))", frame: frame)
}

/// Resolves a page fault by demand paging, or recovers a faulting user
/// copy. Anything but `.resolved` is a real fault.
private func handlePageFault(_ frame: UnsafeMutablePointer<TrapFrame>)
  -> FaultResult
{
  let address = arch_read_cr2()
  let error = frame.pointee.errorCode
  let access = PageFaultAccess(errorCode: error)
  var result = FaultResult.invalid
  if address < AddressSpace.userLimit,
    let space = Process.currentOrNil?.addressSpace
  {
    result = space.handleFault(at: address, access: access)
    if result == .resolved { return .resolved }
  }
  let rip = frame.pointee.rip
  if !frame.pointee.fromUserMode &&
    rip >= arch_user_access_range_start() &&
    rip < arch_user_access_range_end()
  {
    frame.pointee.rip = arch_user_access_fault_address()
    return .resolved
  }
  return result
}

/// What a page fault's error code says about the access.
struct PageFaultAccess {
  var write: Bool
  var execute: Bool
  var user: Bool
  var present: Bool

  init(errorCode: UInt64) {
    present = errorCode & 1 != 0
    write = errorCode & 2 != 0
    user = errorCode & 4 != 0
    execute = errorCode & 16 != 0
  }
}
