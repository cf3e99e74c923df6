// Arguments of the memory-mapping calls: mmap(2) and mprotect(2)
// protections, mmap flags, mremap(2) flags, madvise(2) advice and msync(2)
// flags, with Linux's x86_64 values (asm-generic/mman-common.h,
// asm-generic/mman.h, x86's asm/mman.h, linux/mman.h).
//
// Constant names drop the C prefix and use lowerCamelCase: MAP_ANONYMOUS
// is `MmapFlags.anonymous`, MADV_DONTNEED is `MadviseAdvice.dontneed`.
// Flag sets are OptionSets; the kernel decides which bits it supports and
// answers the rest with EINVAL or EOPNOTSUPP.

/// The `prot` argument of mmap(2) and mprotect(2). PROT_NONE is `[]`.
public struct MmapProtection: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `PROT_READ`
  public static let read = MmapProtection(rawValue: 0x1)
  /// `PROT_WRITE`
  public static let write = MmapProtection(rawValue: 0x2)
  /// `PROT_EXEC`
  public static let exec = MmapProtection(rawValue: 0x4)
  /// `PROT_SEM`: accepted and ignored by Linux on x86.
  public static let sem = MmapProtection(rawValue: 0x8)
  /// `PROT_GROWSDOWN`: mprotect only; extends the change to the start of a
  /// grows-down mapping.
  public static let growsdown = MmapProtection(rawValue: 0x0100_0000)
  /// `PROT_GROWSUP`: mprotect only; invalid on x86.
  public static let growsup = MmapProtection(rawValue: 0x0200_0000)
}

/// The `flags` argument of mmap(2).
///
/// The low four bits (`typeMask`) hold the mapping type, one of `shared`,
/// `private`, `sharedValidate` or `droppable`. They are a number, not
/// independent bits, so test them with `flags.mapType == .private` rather
/// than `contains`.
public struct MmapFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// The mapping type: `rawValue & MAP_TYPE`.
  public var mapType: MmapFlags {
    MmapFlags(rawValue: rawValue & MmapFlags.typeMask.rawValue)
  }

  /// `MAP_SHARED`: type; writes reach the file and other mappers.
  public static let shared = MmapFlags(rawValue: 0x01)
  /// `MAP_PRIVATE`: type; writes are copy-on-write and stay private.
  public static let `private` = MmapFlags(rawValue: 0x02)
  /// `MAP_SHARED_VALIDATE`: type; like `shared`, but unknown flags fail
  /// with EOPNOTSUPP instead of being ignored.
  public static let sharedValidate = MmapFlags(rawValue: 0x03)
  /// `MAP_DROPPABLE`: type (Linux 6.11); private anonymous memory the
  /// kernel may zero under memory pressure.
  public static let droppable = MmapFlags(rawValue: 0x08)
  /// `MAP_TYPE`: the mask of the type field.
  public static let typeMask = MmapFlags(rawValue: 0x0f)

  /// `MAP_FIXED`: place the mapping exactly at `addr`, replacing whatever
  /// was there.
  public static let fixed = MmapFlags(rawValue: 0x10)
  /// `MAP_ANONYMOUS`: no file; the memory starts zeroed.
  public static let anonymous = MmapFlags(rawValue: 0x20)
  /// `MAP_32BIT`: x86_64 only; place the mapping in the first 2 GiB.
  public static let map32Bit = MmapFlags(rawValue: 0x40)
  /// `MAP_GROWSDOWN`: a stack that grows down on faults below it.
  public static let growsdown = MmapFlags(rawValue: 0x100)
  /// `MAP_DENYWRITE`: ignored by Linux.
  public static let denywrite = MmapFlags(rawValue: 0x800)
  /// `MAP_EXECUTABLE`: ignored by Linux.
  public static let executable = MmapFlags(rawValue: 0x1000)
  /// `MAP_LOCKED`: lock the pages like mlock(2).
  public static let locked = MmapFlags(rawValue: 0x2000)
  /// `MAP_NORESERVE`: do not reserve swap space.
  public static let noreserve = MmapFlags(rawValue: 0x4000)
  /// `MAP_POPULATE`: prefault the page tables.
  public static let populate = MmapFlags(rawValue: 0x8000)
  /// `MAP_NONBLOCK`: with `populate`, do not block on I/O.
  public static let nonblock = MmapFlags(rawValue: 0x1_0000)
  /// `MAP_STACK`: the mapping will be a thread stack.
  public static let stack = MmapFlags(rawValue: 0x2_0000)
  /// `MAP_HUGETLB`: back the mapping with huge pages.
  public static let hugetlb = MmapFlags(rawValue: 0x4_0000)
  /// `MAP_SYNC`: synchronous page faults for DAX files; only valid with
  /// `sharedValidate`.
  public static let sync = MmapFlags(rawValue: 0x8_0000)
  /// `MAP_FIXED_NOREPLACE`: like `fixed`, but fail with EEXIST instead of
  /// replacing an existing mapping.
  public static let fixedNoreplace = MmapFlags(rawValue: 0x10_0000)
  /// `MAP_UNINITIALIZED`: anonymous pages need not be zeroed (only honoured
  /// on kernels built for it).
  public static let uninitialized = MmapFlags(rawValue: 0x400_0000)

  /// `MAP_HUGE_SHIFT`: with `hugetlb`, bits 26...31 hold log2 of the huge
  /// page size.
  public static let hugeShift: UInt32 = 26
  /// `MAP_HUGE_MASK`: the width of that field, before shifting.
  public static let hugeMask: UInt32 = 0x3f
}

/// The `flags` argument of mremap(2).
public struct MremapFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `MREMAP_MAYMOVE`: the mapping may move to a new address.
  public static let maymove = MremapFlags(rawValue: 1)
  /// `MREMAP_FIXED`: move to exactly `new_address`; requires `maymove`.
  public static let fixed = MremapFlags(rawValue: 2)
  /// `MREMAP_DONTUNMAP`: leave the old range mapped but empty.
  public static let dontunmap = MremapFlags(rawValue: 4)
}

/// The `advice` argument of madvise(2).
public struct MadviseAdvice: RawRepresentable, Hashable, Sendable {
  public var rawValue: Int32

  public init(rawValue: Int32) {
    self.rawValue = rawValue
  }

  /// `MADV_NORMAL`
  public static let normal = MadviseAdvice(rawValue: 0)
  /// `MADV_RANDOM`
  public static let random = MadviseAdvice(rawValue: 1)
  /// `MADV_SEQUENTIAL`
  public static let sequential = MadviseAdvice(rawValue: 2)
  /// `MADV_WILLNEED`
  public static let willneed = MadviseAdvice(rawValue: 3)
  /// `MADV_DONTNEED`: private anonymous pages read back as zero afterwards,
  /// which allocators rely on.
  public static let dontneed = MadviseAdvice(rawValue: 4)
  /// `MADV_FREE`: the pages may be freed lazily; until then they keep
  /// their contents.
  public static let free = MadviseAdvice(rawValue: 8)
  /// `MADV_REMOVE`
  public static let remove = MadviseAdvice(rawValue: 9)
  /// `MADV_DONTFORK`
  public static let dontfork = MadviseAdvice(rawValue: 10)
  /// `MADV_DOFORK`
  public static let dofork = MadviseAdvice(rawValue: 11)
  /// `MADV_MERGEABLE`
  public static let mergeable = MadviseAdvice(rawValue: 12)
  /// `MADV_UNMERGEABLE`
  public static let unmergeable = MadviseAdvice(rawValue: 13)
  /// `MADV_HUGEPAGE`
  public static let hugepage = MadviseAdvice(rawValue: 14)
  /// `MADV_NOHUGEPAGE`
  public static let nohugepage = MadviseAdvice(rawValue: 15)
  /// `MADV_DONTDUMP`
  public static let dontdump = MadviseAdvice(rawValue: 16)
  /// `MADV_DODUMP`
  public static let dodump = MadviseAdvice(rawValue: 17)
  /// `MADV_WIPEONFORK`
  public static let wipeonfork = MadviseAdvice(rawValue: 18)
  /// `MADV_KEEPONFORK`
  public static let keeponfork = MadviseAdvice(rawValue: 19)
  /// `MADV_COLD`
  public static let cold = MadviseAdvice(rawValue: 20)
  /// `MADV_PAGEOUT`
  public static let pageout = MadviseAdvice(rawValue: 21)
  /// `MADV_POPULATE_READ`
  public static let populateRead = MadviseAdvice(rawValue: 22)
  /// `MADV_POPULATE_WRITE`
  public static let populateWrite = MadviseAdvice(rawValue: 23)
  /// `MADV_DONTNEED_LOCKED`
  public static let dontneedLocked = MadviseAdvice(rawValue: 24)
  /// `MADV_COLLAPSE`
  public static let collapse = MadviseAdvice(rawValue: 25)
  /// `MADV_HWPOISON`
  public static let hwpoison = MadviseAdvice(rawValue: 100)
  /// `MADV_SOFT_OFFLINE`
  public static let softOffline = MadviseAdvice(rawValue: 101)
  /// `MADV_GUARD_INSTALL` (Linux 6.13)
  public static let guardInstall = MadviseAdvice(rawValue: 102)
  /// `MADV_GUARD_REMOVE` (Linux 6.13)
  public static let guardRemove = MadviseAdvice(rawValue: 103)
}

/// The `flags` argument of msync(2).
public struct MsyncFlags: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `MS_ASYNC`
  public static let async = MsyncFlags(rawValue: 1)
  /// `MS_INVALIDATE`
  public static let invalidate = MsyncFlags(rawValue: 2)
  /// `MS_SYNC`
  public static let sync = MsyncFlags(rawValue: 4)
}
