// The file status structs: `struct stat` as x86_64's stat(2), fstat(2),
// lstat(2) and newfstatat(2) fill it (x86's asm/stat.h), and `struct
// statx` with its mask and attribute bits (linux/stat.h, as of Linux
// 6.17). Also the packing of device numbers into st_dev and st_rdev.
//
// Field names are the C names without their st_ or stx_ prefix, so the
// man pages still apply. Both structs are `LinuxStruct`s; see
// ByteCoding.swift.

/// Packs and unpacks device numbers the way glibc's makedev(3) does,
/// which for the 12-bit majors and 20-bit minors Linux hands out equals
/// the kernel's own encoding of st_dev and st_rdev.
public enum DeviceNumber {
  /// `makedev(major, minor)`.
  public static func make(major: UInt32, minor: UInt32) -> UInt64 {
    let major = UInt64(major)
    let minor = UInt64(minor)
    return (major & 0x0000_0fff) << 8 | (major & 0xffff_f000) << 32
      | (minor & 0x0000_00ff) | (minor & 0xffff_ff00) << 12
  }

  /// `major(dev)`.
  public static func major(of device: UInt64) -> UInt32 {
    UInt32(truncatingIfNeeded: (device >> 8) & 0xfff | (device >> 32) & ~0xfff)
  }

  /// `minor(dev)`.
  public static func minor(of device: UInt64) -> UInt32 {
    UInt32(truncatingIfNeeded: device & 0xff | (device >> 12) & ~0xff)
  }
}

/// `struct stat` on x86_64 (144 bytes). See stat(2) and inode(7).
///
/// Offsets: dev 0, ino 8, nlink 16, mode 24, uid 28, gid 32, padding 36,
/// rdev 40, size 48, blksize 56, blocks 64, atime 72, mtime 88, ctime 104,
/// and three reserved longs from 120. Unlike most architectures, x86_64
/// puts st_nlink before st_mode and makes it 64 bits wide.
public struct Stat: LinuxStruct, Hashable, Sendable {
  /// `st_dev`: the device holding the file (see `DeviceNumber`).
  public var dev: UInt64
  /// `st_ino`: the inode number.
  public var ino: UInt64
  /// `st_nlink`: the number of hard links.
  public var nlink: UInt64
  /// `st_mode`: file type and permissions.
  public var mode: FileMode
  /// `st_uid`
  public var uid: UInt32
  /// `st_gid`
  public var gid: UInt32
  /// `st_rdev`: the device a character or block special file stands for.
  public var rdev: UInt64
  /// `st_size`: the size in bytes.
  public var size: Int64
  /// `st_blksize`: the preferred I/O size.
  public var blksize: Int64
  /// `st_blocks`: allocated space in 512-byte units.
  public var blocks: Int64
  /// `st_atime` and `st_atime_nsec`: last access.
  public var atime: Timespec
  /// `st_mtime` and `st_mtime_nsec`: last modification of the contents.
  public var mtime: Timespec
  /// `st_ctime` and `st_ctime_nsec`: last change of the inode.
  public var ctime: Timespec

  public init(
    dev: UInt64 = 0, ino: UInt64, nlink: UInt64 = 1, mode: FileMode,
    uid: UInt32 = 0, gid: UInt32 = 0, rdev: UInt64 = 0, size: Int64,
    blksize: Int64 = 4096, blocks: Int64 = 0,
    atime: Timespec = Timespec(sec: 0, nsec: 0),
    mtime: Timespec = Timespec(sec: 0, nsec: 0),
    ctime: Timespec = Timespec(sec: 0, nsec: 0)
  ) {
    self.dev = dev
    self.ino = ino
    self.nlink = nlink
    self.mode = mode
    self.uid = uid
    self.gid = gid
    self.rdev = rdev
    self.size = size
    self.blksize = blksize
    self.blocks = blocks
    self.atime = atime
    self.mtime = mtime
    self.ctime = ctime
  }

  public static let byteCount = 144

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(dev, at: 0)
    writer.put(ino, at: 8)
    writer.put(nlink, at: 16)
    writer.put(mode.rawValue, at: 24)
    writer.put(uid, at: 28)
    writer.put(gid, at: 32)
    writer.put(rdev, at: 40)
    writer.put(size, at: 48)
    writer.put(blksize, at: 56)
    writer.put(blocks, at: 64)
    writer.put(atime.sec, at: 72)
    writer.put(atime.nsec, at: 80)
    writer.put(mtime.sec, at: 88)
    writer.put(mtime.nsec, at: 96)
    writer.put(ctime.sec, at: 104)
    writer.put(ctime.nsec, at: 112)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    dev = reader.read(UInt64.self, at: 0)
    ino = reader.read(UInt64.self, at: 8)
    nlink = reader.read(UInt64.self, at: 16)
    mode = FileMode(rawValue: reader.read(UInt32.self, at: 24))
    uid = reader.read(UInt32.self, at: 28)
    gid = reader.read(UInt32.self, at: 32)
    rdev = reader.read(UInt64.self, at: 40)
    size = reader.read(Int64.self, at: 48)
    blksize = reader.read(Int64.self, at: 56)
    blocks = reader.read(Int64.self, at: 64)
    atime = Timespec(
      sec: reader.read(Int64.self, at: 72),
      nsec: reader.read(Int64.self, at: 80))
    mtime = Timespec(
      sec: reader.read(Int64.self, at: 88),
      nsec: reader.read(Int64.self, at: 96))
    ctime = Timespec(
      sec: reader.read(Int64.self, at: 104),
      nsec: reader.read(Int64.self, at: 112))
  }
}

/// `struct statx_timestamp` (16 bytes): seconds, nanoseconds and a
/// reserved word that is written as zero.
public struct StatxTimestamp: Hashable, Sendable {
  /// `tv_sec`
  public var sec: Int64
  /// `tv_nsec`
  public var nsec: UInt32

  public init(sec: Int64, nsec: UInt32) {
    self.sec = sec
    self.nsec = nsec
  }

  /// The same instant as a valid `Timespec` (nanoseconds in range).
  public init(_ time: Timespec) {
    self.init(sec: time.sec, nsec: UInt32(truncatingIfNeeded: time.nsec))
  }
}

/// The `mask` argument of statx(2) and the `stx_mask` field: which fields
/// were asked for, and which were filled in.
public struct StatxMask: OptionSet, Hashable, Sendable {
  public var rawValue: UInt32

  public init(rawValue: UInt32) {
    self.rawValue = rawValue
  }

  /// `STATX_TYPE`: the type bits of `mode`.
  public static let type = StatxMask(rawValue: 0x0000_0001)
  /// `STATX_MODE`: the permission bits of `mode`.
  public static let mode = StatxMask(rawValue: 0x0000_0002)
  /// `STATX_NLINK`
  public static let nlink = StatxMask(rawValue: 0x0000_0004)
  /// `STATX_UID`
  public static let uid = StatxMask(rawValue: 0x0000_0008)
  /// `STATX_GID`
  public static let gid = StatxMask(rawValue: 0x0000_0010)
  /// `STATX_ATIME`
  public static let atime = StatxMask(rawValue: 0x0000_0020)
  /// `STATX_MTIME`
  public static let mtime = StatxMask(rawValue: 0x0000_0040)
  /// `STATX_CTIME`
  public static let ctime = StatxMask(rawValue: 0x0000_0080)
  /// `STATX_INO`
  public static let ino = StatxMask(rawValue: 0x0000_0100)
  /// `STATX_SIZE`
  public static let size = StatxMask(rawValue: 0x0000_0200)
  /// `STATX_BLOCKS`
  public static let blocks = StatxMask(rawValue: 0x0000_0400)
  /// `STATX_BASIC_STATS`: everything `struct stat` holds.
  public static let basicStats = StatxMask(rawValue: 0x0000_07ff)
  /// `STATX_BTIME`: creation time.
  public static let btime = StatxMask(rawValue: 0x0000_0800)
  /// `STATX_MNT_ID`
  public static let mntId = StatxMask(rawValue: 0x0000_1000)
  /// `STATX_DIOALIGN`: `dioMemAlign` and `dioOffsetAlign`.
  public static let dioalign = StatxMask(rawValue: 0x0000_2000)
  /// `STATX_MNT_ID_UNIQUE`: `mntId` is the 64-bit unique mount ID.
  public static let mntIdUnique = StatxMask(rawValue: 0x0000_4000)
  /// `STATX_SUBVOL`
  public static let subvol = StatxMask(rawValue: 0x0000_8000)
  /// `STATX_WRITE_ATOMIC`: the `atomicWrite...` fields.
  public static let writeAtomic = StatxMask(rawValue: 0x0001_0000)
  /// `STATX_DIO_READ_ALIGN`: `dioReadOffsetAlign`.
  public static let dioReadAlign = StatxMask(rawValue: 0x0002_0000)
  /// `STATX__RESERVED`: asking for it fails with EINVAL.
  public static let reserved = StatxMask(rawValue: 0x8000_0000)
}

/// The `stx_attributes` and `stx_attributes_mask` fields of statx(2).
public struct StatxAttributes: OptionSet, Hashable, Sendable {
  public var rawValue: UInt64

  public init(rawValue: UInt64) {
    self.rawValue = rawValue
  }

  /// `STATX_ATTR_COMPRESSED`
  public static let compressed = StatxAttributes(rawValue: 0x0000_0004)
  /// `STATX_ATTR_IMMUTABLE`
  public static let immutable = StatxAttributes(rawValue: 0x0000_0010)
  /// `STATX_ATTR_APPEND`
  public static let append = StatxAttributes(rawValue: 0x0000_0020)
  /// `STATX_ATTR_NODUMP`
  public static let nodump = StatxAttributes(rawValue: 0x0000_0040)
  /// `STATX_ATTR_ENCRYPTED`
  public static let encrypted = StatxAttributes(rawValue: 0x0000_0800)
  /// `STATX_ATTR_AUTOMOUNT`
  public static let automount = StatxAttributes(rawValue: 0x0000_1000)
  /// `STATX_ATTR_MOUNT_ROOT`: the file is the root of a mount.
  public static let mountRoot = StatxAttributes(rawValue: 0x0000_2000)
  /// `STATX_ATTR_VERITY`
  public static let verity = StatxAttributes(rawValue: 0x0010_0000)
  /// `STATX_ATTR_DAX`
  public static let dax = StatxAttributes(rawValue: 0x0020_0000)
  /// `STATX_ATTR_WRITE_ATOMIC`
  public static let writeAtomic = StatxAttributes(rawValue: 0x0040_0000)
}

/// `struct statx` (256 bytes). See statx(2).
///
/// Offsets: mask 0, blksize 4, attributes 8, nlink 16, uid 20, gid 24,
/// mode 28 (16 bits, then 2 spare bytes), ino 32, size 40, blocks 48,
/// attributes_mask 56, atime 64, btime 80, ctime 96, mtime 112,
/// rdev_major 128, rdev_minor 132, dev_major 136, dev_minor 140,
/// mnt_id 144, dio_mem_align 152, dio_offset_align 156, subvol 160,
/// atomic_write_unit_min 168, atomic_write_unit_max 172,
/// atomic_write_segments_max 176, dio_read_offset_align 180,
/// atomic_write_unit_max_opt 184, and spare space from 188 to the end.
public struct Statx: LinuxStruct, Hashable, Sendable {
  /// `stx_mask`: the fields actually filled in.
  public var mask: StatxMask
  /// `stx_blksize`
  public var blksize: UInt32
  /// `stx_attributes`
  public var attributes: StatxAttributes
  /// `stx_nlink`
  public var nlink: UInt32
  /// `stx_uid`
  public var uid: UInt32
  /// `stx_gid`
  public var gid: UInt32
  /// `stx_mode`: only its low 16 bits are stored.
  public var mode: FileMode
  /// `stx_ino`
  public var ino: UInt64
  /// `stx_size`
  public var size: UInt64
  /// `stx_blocks`: allocated space in 512-byte units.
  public var blocks: UInt64
  /// `stx_attributes_mask`: which `attributes` bits the file system
  /// supports.
  public var attributesMask: StatxAttributes
  /// `stx_atime`
  public var atime: StatxTimestamp
  /// `stx_btime`
  public var btime: StatxTimestamp
  /// `stx_ctime`
  public var ctime: StatxTimestamp
  /// `stx_mtime`
  public var mtime: StatxTimestamp
  /// `stx_rdev_major`
  public var rdevMajor: UInt32
  /// `stx_rdev_minor`
  public var rdevMinor: UInt32
  /// `stx_dev_major`
  public var devMajor: UInt32
  /// `stx_dev_minor`
  public var devMinor: UInt32
  /// `stx_mnt_id`
  public var mntId: UInt64
  /// `stx_dio_mem_align`
  public var dioMemAlign: UInt32
  /// `stx_dio_offset_align`
  public var dioOffsetAlign: UInt32
  /// `stx_subvol`
  public var subvol: UInt64
  /// `stx_atomic_write_unit_min`
  public var atomicWriteUnitMin: UInt32
  /// `stx_atomic_write_unit_max`
  public var atomicWriteUnitMax: UInt32
  /// `stx_atomic_write_segments_max`
  public var atomicWriteSegmentsMax: UInt32
  /// `stx_dio_read_offset_align`
  public var dioReadOffsetAlign: UInt32
  /// `stx_atomic_write_unit_max_opt`
  public var atomicWriteUnitMaxOpt: UInt32

  /// A statx with the basic fields; everything else starts at zero and
  /// can be set afterwards.
  public init(
    mask: StatxMask, blksize: UInt32 = 4096, nlink: UInt32 = 1,
    uid: UInt32 = 0, gid: UInt32 = 0, mode: FileMode, ino: UInt64,
    size: UInt64, blocks: UInt64 = 0,
    atime: StatxTimestamp = StatxTimestamp(sec: 0, nsec: 0),
    btime: StatxTimestamp = StatxTimestamp(sec: 0, nsec: 0),
    ctime: StatxTimestamp = StatxTimestamp(sec: 0, nsec: 0),
    mtime: StatxTimestamp = StatxTimestamp(sec: 0, nsec: 0)
  ) {
    self.mask = mask
    self.blksize = blksize
    self.attributes = []
    self.nlink = nlink
    self.uid = uid
    self.gid = gid
    self.mode = mode
    self.ino = ino
    self.size = size
    self.blocks = blocks
    self.attributesMask = []
    self.atime = atime
    self.btime = btime
    self.ctime = ctime
    self.mtime = mtime
    self.rdevMajor = 0
    self.rdevMinor = 0
    self.devMajor = 0
    self.devMinor = 0
    self.mntId = 0
    self.dioMemAlign = 0
    self.dioOffsetAlign = 0
    self.subvol = 0
    self.atomicWriteUnitMin = 0
    self.atomicWriteUnitMax = 0
    self.atomicWriteSegmentsMax = 0
    self.dioReadOffsetAlign = 0
    self.atomicWriteUnitMaxOpt = 0
  }

  public static let byteCount = 256

  public func encoded() -> [UInt8] {
    var writer = ByteWriter(count: Self.byteCount)
    writer.put(mask.rawValue, at: 0)
    writer.put(blksize, at: 4)
    writer.put(attributes.rawValue, at: 8)
    writer.put(nlink, at: 16)
    writer.put(uid, at: 20)
    writer.put(gid, at: 24)
    writer.put(UInt16(truncatingIfNeeded: mode.rawValue), at: 28)
    writer.put(ino, at: 32)
    writer.put(size, at: 40)
    writer.put(blocks, at: 48)
    writer.put(attributesMask.rawValue, at: 56)
    Self.put(atime, at: 64, into: &writer)
    Self.put(btime, at: 80, into: &writer)
    Self.put(ctime, at: 96, into: &writer)
    Self.put(mtime, at: 112, into: &writer)
    writer.put(rdevMajor, at: 128)
    writer.put(rdevMinor, at: 132)
    writer.put(devMajor, at: 136)
    writer.put(devMinor, at: 140)
    writer.put(mntId, at: 144)
    writer.put(dioMemAlign, at: 152)
    writer.put(dioOffsetAlign, at: 156)
    writer.put(subvol, at: 160)
    writer.put(atomicWriteUnitMin, at: 168)
    writer.put(atomicWriteUnitMax, at: 172)
    writer.put(atomicWriteSegmentsMax, at: 176)
    writer.put(dioReadOffsetAlign, at: 180)
    writer.put(atomicWriteUnitMaxOpt, at: 184)
    return writer.bytes
  }

  public init?(bytes: some RandomAccessCollection<UInt8>) {
    guard let reader = ByteReader(bytes, count: Self.byteCount) else {
      return nil
    }
    mask = StatxMask(rawValue: reader.read(UInt32.self, at: 0))
    blksize = reader.read(UInt32.self, at: 4)
    attributes = StatxAttributes(rawValue: reader.read(UInt64.self, at: 8))
    nlink = reader.read(UInt32.self, at: 16)
    uid = reader.read(UInt32.self, at: 20)
    gid = reader.read(UInt32.self, at: 24)
    mode = FileMode(rawValue: UInt32(reader.read(UInt16.self, at: 28)))
    ino = reader.read(UInt64.self, at: 32)
    size = reader.read(UInt64.self, at: 40)
    blocks = reader.read(UInt64.self, at: 48)
    attributesMask = StatxAttributes(
      rawValue: reader.read(UInt64.self, at: 56))
    atime = Self.timestamp(at: 64, in: reader)
    btime = Self.timestamp(at: 80, in: reader)
    ctime = Self.timestamp(at: 96, in: reader)
    mtime = Self.timestamp(at: 112, in: reader)
    rdevMajor = reader.read(UInt32.self, at: 128)
    rdevMinor = reader.read(UInt32.self, at: 132)
    devMajor = reader.read(UInt32.self, at: 136)
    devMinor = reader.read(UInt32.self, at: 140)
    mntId = reader.read(UInt64.self, at: 144)
    dioMemAlign = reader.read(UInt32.self, at: 152)
    dioOffsetAlign = reader.read(UInt32.self, at: 156)
    subvol = reader.read(UInt64.self, at: 160)
    atomicWriteUnitMin = reader.read(UInt32.self, at: 168)
    atomicWriteUnitMax = reader.read(UInt32.self, at: 172)
    atomicWriteSegmentsMax = reader.read(UInt32.self, at: 176)
    dioReadOffsetAlign = reader.read(UInt32.self, at: 180)
    atomicWriteUnitMaxOpt = reader.read(UInt32.self, at: 184)
  }

  /// Stores a timestamp; its reserved word (offset + 12) stays zero.
  private static func put(
    _ time: StatxTimestamp, at offset: Int, into writer: inout ByteWriter
  ) {
    writer.put(time.sec, at: offset)
    writer.put(time.nsec, at: offset + 8)
  }

  private static func timestamp<Bytes>(
    at offset: Int, in reader: ByteReader<Bytes>
  ) -> StatxTimestamp {
    StatxTimestamp(
      sec: reader.read(Int64.self, at: offset),
      nsec: reader.read(UInt32.self, at: offset + 8))
  }
}
