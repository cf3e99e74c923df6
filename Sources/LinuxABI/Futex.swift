// Arguments of futex(2), the call under every libc mutex, condition
// variable and thread join: the operation word (a command plus flag bits),
// the bits of the futex word that PI and robust futexes use, the flags of
// the futex2 calls (futex_wait, futex_wake, futex_waitv), and the packed
// operation of FUTEX_WAKE_OP. Values are from linux/futex.h.
//
// Constant names drop the FUTEX_ prefix and use lowerCamelCase, so
// FUTEX_WAIT_BITSET is `FutexCommand.waitBitset` and FUTEX_PRIVATE_FLAG is
// `FutexOperation.privateFlag`.

/// The `futex_op` argument of futex(2): a command in the low bits, plus
/// `privateFlag` and `clockRealtime`.
public struct FutexOperation: RawRepresentable, Hashable, Sendable {
  public var rawValue: Int32

  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  public init(_ command: FutexCommand, private isPrivate: Bool = false) {
    self.rawValue =
      command.rawValue | (isPrivate ? FutexOperation.privateFlag : 0)
  }

  /// `FUTEX_PRIVATE_FLAG`: the futex is not shared with other processes,
  /// so the kernel may key it by virtual address alone.
  public static let privateFlag: Int32 = 128
  /// `FUTEX_CLOCK_REALTIME`: timeouts are measured on CLOCK_REALTIME
  /// instead of CLOCK_MONOTONIC.
  public static let clockRealtime: Int32 = 256
  /// `FUTEX_CMD_MASK`: everything but the two flags.
  public static let cmdMask: Int32 = ~(privateFlag | clockRealtime)

  /// The command, with the flags masked off.
  public var command: FutexCommand {
    FutexCommand(rawValue: rawValue & FutexOperation.cmdMask)
  }

  /// Whether `privateFlag` is set.
  public var isPrivate: Bool {
    rawValue & FutexOperation.privateFlag != 0
  }

  /// Whether `clockRealtime` is set.
  public var usesRealtimeClock: Bool {
    rawValue & FutexOperation.clockRealtime != 0
  }
}

/// The command part of a futex(2) operation.
public struct FutexCommand: RawRepresentable, Hashable, Sendable {
  public var rawValue: Int32

  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  /// `FUTEX_WAIT`: sleep if the word still holds `val`; relative timeout.
  public static let wait = FutexCommand(rawValue: 0)
  /// `FUTEX_WAKE`: wake up to `val` waiters.
  public static let wake = FutexCommand(rawValue: 1)
  /// `FUTEX_FD`: removed in Linux 2.6.26.
  public static let fd = FutexCommand(rawValue: 2)
  /// `FUTEX_REQUEUE`
  public static let requeue = FutexCommand(rawValue: 3)
  /// `FUTEX_CMP_REQUEUE`
  public static let cmpRequeue = FutexCommand(rawValue: 4)
  /// `FUTEX_WAKE_OP`: see `FutexWakeOperation`.
  public static let wakeOp = FutexCommand(rawValue: 5)
  /// `FUTEX_LOCK_PI`
  public static let lockPi = FutexCommand(rawValue: 6)
  /// `FUTEX_UNLOCK_PI`
  public static let unlockPi = FutexCommand(rawValue: 7)
  /// `FUTEX_TRYLOCK_PI`
  public static let trylockPi = FutexCommand(rawValue: 8)
  /// `FUTEX_WAIT_BITSET`: like `wait` with a wake mask, and an absolute
  /// timeout.
  public static let waitBitset = FutexCommand(rawValue: 9)
  /// `FUTEX_WAKE_BITSET`
  public static let wakeBitset = FutexCommand(rawValue: 10)
  /// `FUTEX_WAIT_REQUEUE_PI`
  public static let waitRequeuePi = FutexCommand(rawValue: 11)
  /// `FUTEX_CMP_REQUEUE_PI`
  public static let cmpRequeuePi = FutexCommand(rawValue: 12)
  /// `FUTEX_LOCK_PI2`: `lockPi` with a selectable clock.
  public static let lockPi2 = FutexCommand(rawValue: 13)
}

/// Values found in and around the 32-bit futex word.
public enum FutexWord {
  /// `FUTEX_BITSET_MATCH_ANY`: the bitset that makes the bitset commands
  /// behave like plain `wait` and `wake`.
  public static let bitsetMatchAny: UInt32 = 0xffff_ffff
  /// `FUTEX_WAITERS`: PI and robust futexes; someone sleeps on the word.
  public static let waiters: UInt32 = 0x8000_0000
  /// `FUTEX_OWNER_DIED`: robust futexes; the owner exited holding it.
  public static let ownerDied: UInt32 = 0x4000_0000
  /// `FUTEX_TID_MASK`: the owner's thread ID in a PI or robust futex.
  public static let tidMask: UInt32 = 0x3fff_ffff
  /// `ROBUST_LIST_LIMIT`: how many robust list entries the kernel walks
  /// at thread exit before giving up on a (possibly circular) list.
  public static let robustListLimit = 2048
}

/// The `flags` of futex_wait(2), futex_wake(2) and of each entry of
/// futex_waitv(2).
public struct Futex2Flags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `FUTEX2_SIZE_MASK`: the word size, a number (U8 0 ... U64 3).
  public static let sizeMask = Futex2Flags(rawValue: 0x03)
  /// `FUTEX2_SIZE_U8`: the empty set.
  public static let sizeU8: Futex2Flags = []
  /// `FUTEX2_SIZE_U16`
  public static let sizeU16 = Futex2Flags(rawValue: 0x01)
  /// `FUTEX2_SIZE_U32`: the only size Linux accepts so far.
  public static let sizeU32 = Futex2Flags(rawValue: 0x02)
  /// `FUTEX2_SIZE_U64`
  public static let sizeU64 = Futex2Flags(rawValue: 0x03)
  /// `FUTEX2_NUMA`: the word is followed by a NUMA node number.
  public static let numa = Futex2Flags(rawValue: 0x04)
  /// `FUTEX2_MPOL`: pick the node from the memory policy (Linux 6.16).
  public static let mpol = Futex2Flags(rawValue: 0x08)
  /// `FUTEX2_PRIVATE`: the same bit as FUTEX_PRIVATE_FLAG.
  public static let `private` = Futex2Flags(rawValue: 128)

  /// `FUTEX_WAITV_MAX`: the most entries futex_waitv(2) takes.
  public static let waitvMax = 128
}

/// The packed operation of FUTEX_WAKE_OP, passed in futex(2)'s `val3`:
///
///   bit 31      FUTEX_OP_OPARG_SHIFT: the operand is 1 << oparg
///   bits 30-28  the operation (set, add, or, andn, xor)
///   bits 27-24  the comparison (eq, ne, lt, le, gt, ge)
///   bits 23-12  oparg, a signed 12-bit number
///   bits 11-0   cmparg, a signed 12-bit number
///
/// The kernel applies the operation to the second futex word and wakes its
/// waiters if the old value compared true against cmparg.
public struct FutexWakeOperation: Hashable, Sendable {
  /// `FUTEX_OP_SET`, `_ADD`, `_OR`, `_ANDN`, `_XOR`.
  public enum Operation: UInt32, Sendable {
    case set = 0
    case add = 1
    case or = 2
    case andn = 3
    case xor = 4
  }

  /// `FUTEX_OP_CMP_EQ`, `_NE`, `_LT`, `_LE`, `_GT`, `_GE`; the old value
  /// and cmparg are compared as signed numbers.
  public enum Comparison: UInt32, Sendable {
    case eq = 0
    case ne = 1
    case lt = 2
    case le = 3
    case gt = 4
    case ge = 5
  }

  /// `FUTEX_OP_OPARG_SHIFT`, as it appears in the operation field.
  public static let opargShift: UInt32 = 8

  public var operation: Operation
  public var comparison: Comparison
  /// The operand, with the shift flag already applied.
  public var operand: Int32
  public var comparand: Int32

  /// Decodes `val3`; nil when the operation or comparison is one Linux
  /// does not define, which futex(2) answers with ENOSYS.
  public init?(encoded: UInt32) {
    guard let operation = Operation(rawValue: (encoded >> 28) & 0x7),
      let comparison = Comparison(rawValue: (encoded >> 24) & 0xf)
    else {
      return nil
    }
    self.operation = operation
    self.comparison = comparison
    var operand = FutexWakeOperation.signExtend12((encoded >> 12) & 0xfff)
    if encoded >> 31 != 0 {
      // Linux warns about a shift outside 0...31 and then masks it.
      operand = Int32(bitPattern: UInt32(1) << UInt32(operand & 31))
    }
    self.operand = operand
    self.comparand = FutexWakeOperation.signExtend12(encoded & 0xfff)
  }

  /// The value the operation stores, given the word's old value.
  public func newValue(from old: UInt32) -> UInt32 {
    let argument = UInt32(bitPattern: operand)
    switch operation {
    case .set: return argument
    case .add: return old &+ argument
    case .or: return old | argument
    case .andn: return old & ~argument
    case .xor: return old ^ argument
    }
  }

  /// Whether the old value satisfies the comparison, deciding whether the
  /// second futex's waiters are woken.
  public func matches(old: UInt32) -> Bool {
    let value = Int32(bitPattern: old)
    switch comparison {
    case .eq: return value == comparand
    case .ne: return value != comparand
    case .lt: return value < comparand
    case .le: return value <= comparand
    case .gt: return value > comparand
    case .ge: return value >= comparand
    }
  }

  static func signExtend12(_ bits: UInt32) -> Int32 {
    Int32(bitPattern: bits << 20) >> 20
  }
}
