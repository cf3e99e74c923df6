// Tests of the Linux ABI module: errno values and names, the syscall
// table, the constant families, and the byte layouts of the structs.
//
// Values are checked twice. The portable tests compare against numbers
// read from the Linux headers and man pages. On an x86_64 Linux host the
// tests also compare against the host's own glibc: its constants, its
// struct layouts, and structs the host kernel really filled in, decoded
// with this module.

import LinuxABI
import XCTest

#if os(Linux) && arch(x86_64) && canImport(Glibc)
  import Glibc
#endif

final class LinuxABITests: XCTestCase {
  // MARK: - Errno

  func testErrnoValuesAndAliases() {
    XCTAssertEqual(Errno.EPERM.rawValue, 1)
    XCTAssertEqual(Errno.ENOENT.rawValue, 2)
    XCTAssertEqual(Errno.EAGAIN.rawValue, 11)
    XCTAssertEqual(Errno.EFAULT.rawValue, 14)
    XCTAssertEqual(Errno.EINVAL.rawValue, 22)
    XCTAssertEqual(Errno.ERANGE.rawValue, 34)
    XCTAssertEqual(Errno.EDEADLK.rawValue, 35)
    XCTAssertEqual(Errno.ENOSYS.rawValue, 38)
    XCTAssertEqual(Errno.ELOOP.rawValue, 40)
    XCTAssertEqual(Errno.ENOMSG.rawValue, 42)
    XCTAssertEqual(Errno.EBFONT.rawValue, 59)
    XCTAssertEqual(Errno.EOVERFLOW.rawValue, 75)
    XCTAssertEqual(Errno.EOPNOTSUPP.rawValue, 95)
    XCTAssertEqual(Errno.ETIMEDOUT.rawValue, 110)
    XCTAssertEqual(Errno.ECANCELED.rawValue, 125)
    XCTAssertEqual(Errno.EHWPOISON.rawValue, 133)

    XCTAssertEqual(Errno.EWOULDBLOCK, Errno.EAGAIN)
    XCTAssertEqual(Errno.EDEADLOCK, Errno.EDEADLK)
    XCTAssertEqual(Errno.ENOTSUP, Errno.EOPNOTSUPP)
  }

  func testErrnoNames() {
    XCTAssertEqual(Errno.EPERM.name, "EPERM")
    XCTAssertEqual(Errno.ENOENT.name, "ENOENT")
    XCTAssertEqual(Errno.E2BIG.name, "E2BIG")
    XCTAssertEqual(Errno.ENOSYS.name, "ENOSYS")
    XCTAssertEqual(Errno.EHWPOISON.name, "EHWPOISON")
    XCTAssertEqual(Errno.EWOULDBLOCK.name, "EAGAIN")
    XCTAssertEqual(Errno.ENOTSUP.name, "EOPNOTSUPP")
    XCTAssertEqual(Errno.EDEADLOCK.name, "EDEADLK")
    XCTAssertEqual("\(Errno.EBADF)", "EBADF")

    // Values Linux leaves unassigned, and values out of range.
    XCTAssertEqual(Errno(41).name, "errno 41")
    XCTAssertEqual(Errno(58).name, "errno 58")
    XCTAssertEqual(Errno(0).name, "errno 0")
    XCTAssertEqual(Errno(134).name, "errno 134")
    XCTAssertEqual(Errno(999).name, "errno 999")
    XCTAssertEqual(Errno(-5).name, "errno -5")
    XCTAssertEqual(Errno(.min).name, "errno -2147483648")

    // Every assigned value has a distinct E-name.
    var seen = Set<String>()
    for value in Int32(1)...133 where value != 41 && value != 58 {
      let name = Errno(value).name
      XCTAssertTrue(name.hasPrefix("E"), "\(value): \(name)")
      XCTAssertTrue(seen.insert(name).inserted, "duplicate \(name)")
    }
    XCTAssertEqual(seen.count, 131)
  }

  func testErrnoSyscallResultConvention() {
    XCTAssertEqual(Errno(syscallResult: -2), .ENOENT)
    XCTAssertEqual(Errno(syscallResult: -1), .EPERM)
    XCTAssertEqual(Errno(syscallResult: -4095), Errno(4095))
    XCTAssertNil(Errno(syscallResult: -4096))
    XCTAssertNil(Errno(syscallResult: 0))
    XCTAssertNil(Errno(syscallResult: 3))
    XCTAssertNil(Errno(syscallResult: Int.min))
    XCTAssertEqual(Errno.ENOSYS.syscallResult, -38)
    XCTAssertEqual(Errno(syscallResult: Errno.EFAULT.syscallResult), .EFAULT)
  }

  func testErrnoWorksWithTypedThrows() {
    func refuse(_ flags: UInt32) throws(Errno) -> UInt32 {
      guard flags == 0 else {
        throw .EINVAL
      }
      return flags
    }
    XCTAssertEqual(try refuse(0), 0)
    do {
      _ = try refuse(1)
      XCTFail("expected EINVAL")
    } catch {
      XCTAssertEqual(error, .EINVAL)
    }
  }

  // MARK: - Syscall table

  func testSyscallSpotChecks() {
    let expected: [(SyscallNumber, Int, String)] = [
      (.read, 0, "read"), (.write, 1, "write"), (.open, 2, "open"),
      (.close, 3, "close"), (.mmap, 9, "mmap"), (.brk, 12, "brk"),
      (.rtSigaction, 13, "rt_sigaction"), (.ioctl, 16, "ioctl"),
      (.pread64, 17, "pread64"), (.getpid, 39, "getpid"),
      (.clone, 56, "clone"), (.fork, 57, "fork"), (.execve, 59, "execve"),
      (.exit, 60, "exit"), (.wait4, 61, "wait4"), (.uname, 63, "uname"),
      (.fcntl, 72, "fcntl"), (.sysctl, 156, "_sysctl"),
      (.archPrctl, 158, "arch_prctl"), (.gettid, 186, "gettid"),
      (.futex, 202, "futex"), (.getdents64, 217, "getdents64"),
      (.setTidAddress, 218, "set_tid_address"),
      (.clockGettime, 228, "clock_gettime"),
      (.exitGroup, 231, "exit_group"), (.tgkill, 234, "tgkill"),
      (.openat, 257, "openat"), (.newfstatat, 262, "newfstatat"),
      (.setRobustList, 273, "set_robust_list"),
      (.prlimit64, 302, "prlimit64"), (.getrandom, 318, "getrandom"),
      (.statx, 332, "statx"), (.rseq, 334, "rseq"),
      (.uretprobe, 335, "uretprobe"),
      (.pidfdSendSignal, 424, "pidfd_send_signal"),
      (.clone3, 435, "clone3"), (.faccessat2, 439, "faccessat2"),
      (.futexWaitv, 449, "futex_waitv"), (.mseal, 462, "mseal"),
      (.setxattrat, 463, "setxattrat"), (.getxattrat, 464, "getxattrat"),
      (.listxattrat, 465, "listxattrat"),
      (.removexattrat, 466, "removexattrat"),
      (.openTreeAttr, 467, "open_tree_attr"),
      (.fileGetattr, 468, "file_getattr"),
      (.fileSetattr, 469, "file_setattr"),
    ]
    for (constant, number, name) in expected {
      XCTAssertEqual(constant.rawValue, number, name)
      XCTAssertEqual(SyscallTable.name(of: number), name)
      XCTAssertEqual(SyscallTable.number(named: name), number)
      XCTAssertEqual(constant.name, name)
    }
  }

  func testSyscallHolesAndRange() {
    XCTAssertEqual(SyscallTable.highest, 469)
    XCTAssertNil(SyscallTable.name(of: -1))
    XCTAssertNil(SyscallTable.name(of: Int.min))
    for number in 336...423 {
      XCTAssertNil(SyscallTable.name(of: number), "\(number)")
    }
    XCTAssertNotNil(SyscallTable.name(of: 335))
    XCTAssertNotNil(SyscallTable.name(of: 424))
    XCTAssertNil(SyscallTable.name(of: 470))
    // The x32 ABI's numbers are not part of the x86_64 table.
    XCTAssertNil(SyscallTable.name(of: 512))
    XCTAssertNil(SyscallTable.name(of: 547))
    XCTAssertNil(SyscallTable.name(of: Int.max))
  }

  func testSyscallNamesAreUniqueAndInvertible() {
    var names = Set<String>()
    var defined = 0
    for number in 0...SyscallTable.highest {
      guard let name = SyscallTable.name(of: number) else {
        continue
      }
      defined += 1
      XCTAssertFalse(name.isEmpty)
      XCTAssertTrue(names.insert(name).inserted, "duplicate \(name)")
      XCTAssertEqual(SyscallTable.number(named: name), number, name)
    }
    // 0...335 and 424...469.
    XCTAssertEqual(defined, 336 + 46)
    XCTAssertNil(SyscallTable.number(named: "exitGroup"))
    XCTAssertNil(SyscallTable.number(named: "sysctl"))
    XCTAssertNil(SyscallTable.number(named: ""))
    XCTAssertNil(SyscallTable.number(named: "READ"))
  }

  func testSyscallNumberDescription() {
    XCTAssertEqual("\(SyscallNumber.exitGroup)", "exit_group")
    XCTAssertEqual("\(SyscallNumber(400))", "syscall 400")
    XCTAssertNil(SyscallNumber(rawValue: 400).name)
  }

  // MARK: - Constants

  func testAuxvTypes() {
    let expected: [(AuxvType, UInt64)] = [
      (.null, 0), (.ignore, 1), (.execfd, 2), (.phdr, 3), (.phent, 4),
      (.phnum, 5), (.pagesz, 6), (.base, 7), (.flags, 8), (.entry, 9),
      (.notelf, 10), (.uid, 11), (.euid, 12), (.gid, 13), (.egid, 14),
      (.platform, 15), (.hwcap, 16), (.clktck, 17), (.secure, 23),
      (.basePlatform, 24), (.random, 25), (.hwcap2, 26),
      (.rseqFeatureSize, 27), (.rseqAlign, 28), (.hwcap3, 29),
      (.hwcap4, 30), (.execfn, 31), (.sysinfoEhdr, 33),
      (.minsigstksz, 51),
    ]
    for (type, value) in expected {
      XCTAssertEqual(type.rawValue, value)
    }
  }

  func testMemoryFlags() {
    XCTAssertEqual(MmapProtection.read.rawValue, 1)
    XCTAssertEqual(MmapProtection.write.rawValue, 2)
    XCTAssertEqual(MmapProtection.exec.rawValue, 4)
    XCTAssertEqual(MmapProtection([.read, .write]).rawValue, 3)

    XCTAssertEqual(MmapFlags.shared.rawValue, 0x01)
    XCTAssertEqual(MmapFlags.private.rawValue, 0x02)
    XCTAssertEqual(MmapFlags.fixed.rawValue, 0x10)
    XCTAssertEqual(MmapFlags.anonymous.rawValue, 0x20)
    XCTAssertEqual(MmapFlags.map32Bit.rawValue, 0x40)
    XCTAssertEqual(MmapFlags.fixedNoreplace.rawValue, 0x10_0000)

    // The type field is a number: SHARED_VALIDATE is not "shared".
    let flags = MmapFlags(rawValue: 0x03 | 0x20 | 0x2_0000)
    XCTAssertEqual(flags.mapType, .sharedValidate)
    XCTAssertNotEqual(flags.mapType, .shared)
    XCTAssertTrue(flags.contains(.anonymous))
    XCTAssertTrue(flags.contains(.stack))
    XCTAssertEqual(MmapFlags([.private, .anonymous]).mapType, .private)

    XCTAssertEqual(MremapFlags.maymove.rawValue, 1)
    XCTAssertEqual(MadviseAdvice.dontneed.rawValue, 4)
    XCTAssertEqual(MadviseAdvice.free.rawValue, 8)
  }

  func testOpenFlags() {
    XCTAssertEqual(OpenFlags.wronly.rawValue, 0o1)
    XCTAssertEqual(OpenFlags.rdwr.rawValue, 0o2)
    XCTAssertEqual(OpenFlags.creat.rawValue, 0o100)
    XCTAssertEqual(OpenFlags.excl.rawValue, 0o200)
    XCTAssertEqual(OpenFlags.trunc.rawValue, 0o1000)
    XCTAssertEqual(OpenFlags.append.rawValue, 0o2000)
    XCTAssertEqual(OpenFlags.nonblock.rawValue, 0o4000)
    XCTAssertEqual(OpenFlags.directory.rawValue, 0o200000)
    XCTAssertEqual(OpenFlags.nofollow.rawValue, 0o400000)
    XCTAssertEqual(OpenFlags.cloexec.rawValue, 0o2000000)
    XCTAssertEqual(OpenFlags.path.rawValue, 0o10000000)
    XCTAssertTrue(OpenFlags.sync.contains(.dsync))
    XCTAssertTrue(OpenFlags.tmpfile.contains(.directory))

    let flags = OpenFlags(rawValue: 0o2_000_102)  // O_CLOEXEC|O_CREAT|O_RDWR
    XCTAssertEqual(flags.accessMode, .rdwr)
    XCTAssertTrue(flags.contains([.creat, .cloexec]))
    XCTAssertEqual(OpenFlags.cloexec.accessMode, .rdonly)

    XCTAssertEqual(AtFlags.fdcwd, -100)
    XCTAssertEqual(AtFlags.symlinkNofollow.rawValue, 0x100)
    XCTAssertEqual(AtFlags.removedir.rawValue, 0x200)
    XCTAssertEqual(AtFlags.emptyPath.rawValue, 0x1000)
  }

  func testFileMode() {
    XCTAssertEqual(FileMode.ifmt.rawValue, 0o170000)
    XCTAssertEqual(FileMode.ifreg.rawValue, 0o100000)
    XCTAssertEqual(FileMode.ifdir.rawValue, 0o040000)
    XCTAssertEqual(FileMode.ifchr.rawValue, 0o020000)
    XCTAssertEqual(FileMode.ififo.rawValue, 0o010000)
    XCTAssertEqual(FileMode.iflnk.rawValue, 0o120000)
    XCTAssertEqual(FileMode.ifsock.rawValue, 0o140000)

    let socket = FileMode(rawValue: 0o140755)
    XCTAssertEqual(socket.type, .ifsock)
    XCTAssertNotEqual(socket.type, .ifreg)
    XCTAssertEqual(socket.permissions, 0o755)

    let file = FileMode(type: .ifreg, permissions: 0o104644)
    XCTAssertEqual(file.rawValue, 0o104644)
    XCTAssertEqual(file.permissions & FileMode.isuid, FileMode.isuid)
    XCTAssertEqual(FileMode(type: .ifdir, permissions: 0o777).rawValue,
                   0o40777)
  }

  func testProcessAndTimeConstants() {
    XCTAssertEqual(ClockID.realtime.rawValue, 0)
    XCTAssertEqual(ClockID.monotonic.rawValue, 1)
    XCTAssertEqual(ClockID.boottimeAlarm.rawValue, 9)
    XCTAssertEqual(ClockID.tai.rawValue, 11)
    XCTAssertEqual(TimerFlags.abstime.rawValue, 1)

    XCTAssertEqual(ArchPrctlCode.setGs.rawValue, 0x1001)
    XCTAssertEqual(ArchPrctlCode.setFs.rawValue, 0x1002)
    XCTAssertEqual(ArchPrctlCode.getFs.rawValue, 0x1003)
    XCTAssertEqual(ArchPrctlCode.getGs.rawValue, 0x1004)
    XCTAssertEqual(ArchPrctlCode.getCpuid.rawValue, 0x1011)
    XCTAssertEqual(ArchPrctlCode.setCpuid.rawValue, 0x1012)

    XCTAssertEqual(RlimitResource.cpu.rawValue, 0)
    XCTAssertEqual(RlimitResource.stack.rawValue, 3)
    XCTAssertEqual(RlimitResource.nofile.rawValue, 7)
    XCTAssertEqual(RlimitResource.as.rawValue, 9)
    XCTAssertEqual(RlimitResource.rttime.rawValue, 15)
    XCTAssertEqual(RlimitResource.count, 16)
    XCTAssertEqual(Rlimit.infinity, 0xffff_ffff_ffff_ffff)

    XCTAssertEqual(GetrandomFlags.nonblock.rawValue, 1)
    XCTAssertEqual(GetrandomFlags.random.rawValue, 2)
    XCTAssertEqual(GetrandomFlags.insecure.rawValue, 4)

    XCTAssertEqual(FcntlCommand.dupfd.rawValue, 0)
    XCTAssertEqual(FcntlCommand.getfl.rawValue, 3)
    XCTAssertEqual(FcntlCommand.setlkw.rawValue, 7)
    XCTAssertEqual(FcntlCommand.dupfdCloexec.rawValue, 1030)
    XCTAssertEqual(FileDescriptorFlags.cloexec.rawValue, 1)
  }

  func testIoctlRequests() {
    XCTAssertEqual(IoctlRequest.tcgets.rawValue, 0x5401)
    XCTAssertEqual(IoctlRequest.tcsets.rawValue, 0x5402)
    XCTAssertEqual(IoctlRequest.tiocgpgrp.rawValue, 0x540F)
    XCTAssertEqual(IoctlRequest.tiocgwinsz.rawValue, 0x5413)
    XCTAssertEqual(IoctlRequest.tiocswinsz.rawValue, 0x5414)
    XCTAssertEqual(IoctlRequest.fionread.rawValue, 0x541B)
    XCTAssertEqual(IoctlRequest.fionbio.rawValue, 0x5421)

    // TCGETS2 is _IOR('T', 0x2A, struct termios2), 44 bytes.
    let tcgets2 = IoctlRequest.tcgets2
    XCTAssertEqual(tcgets2.direction, IoctlRequest.directionRead)
    XCTAssertEqual(tcgets2.size, 44)
    XCTAssertEqual(tcgets2.type, UInt8(ascii: "T"))
    XCTAssertEqual(tcgets2.number, 0x2A)
    XCTAssertEqual(
      IoctlRequest(
        direction: IoctlRequest.directionWrite, type: UInt8(ascii: "T"),
        number: 0x31, size: 4),
      .tiocsptlck)
    XCTAssertEqual(
      IoctlRequest(
        direction: IoctlRequest.directionNone, type: UInt8(ascii: "T"),
        number: 0x41, size: 0),
      .tiocgptpeer)
  }

  func testSignals() {
    XCTAssertEqual(Signal.hup.rawValue, 1)
    XCTAssertEqual(Signal.kill.rawValue, 9)
    XCTAssertEqual(Signal.segv.rawValue, 11)
    XCTAssertEqual(Signal.chld.rawValue, 17)
    XCTAssertEqual(Signal.sys.rawValue, 31)

    XCTAssertEqual(Signal.hup.name, "SIGHUP")
    XCTAssertEqual(Signal.segv.name, "SIGSEGV")
    XCTAssertEqual(Signal.stkflt.name, "SIGSTKFLT")
    XCTAssertEqual(Signal.sys.name, "SIGSYS")
    XCTAssertEqual(Signal.rtmin.name, "SIGRTMIN")
    XCTAssertEqual(Signal(rawValue: 33).name, "SIGRTMIN+1")
    XCTAssertEqual(Signal(rawValue: 63).name, "SIGRTMIN+31")
    XCTAssertEqual(Signal.rtmax.name, "SIGRTMAX")
    XCTAssertEqual(Signal(rawValue: 0).name, "signal 0")
    XCTAssertEqual(Signal(rawValue: 65).name, "signal 65")
    XCTAssertEqual(Signal(rawValue: .min).name, "signal -2147483648")
    XCTAssertEqual(Signal(rawValue: .max).name, "signal 2147483647")
    XCTAssertEqual("\(Signal.term)", "SIGTERM")

    var names = Set<String>()
    for number in Int32(1)...64 {
      let signal = Signal(rawValue: number)
      XCTAssertTrue(signal.isValid)
      XCTAssertEqual(signal.isRealtime, number >= 32)
      XCTAssertTrue(names.insert(signal.name).inserted, signal.name)
    }
    XCTAssertFalse(Signal(rawValue: 0).isValid)
    XCTAssertFalse(Signal(rawValue: 65).isValid)

    XCTAssertEqual(Signal.kill.defaultAction, .terminate)
    XCTAssertEqual(Signal.segv.defaultAction, .dumpCore)
    XCTAssertEqual(Signal.abrt.defaultAction, .dumpCore)
    XCTAssertEqual(Signal.chld.defaultAction, .ignore)
    XCTAssertEqual(Signal.winch.defaultAction, .ignore)
    XCTAssertEqual(Signal.tstp.defaultAction, .stop)
    XCTAssertEqual(Signal.cont.defaultAction, .resume)
    XCTAssertEqual(Signal.pipe.defaultAction, .terminate)
    XCTAssertEqual(Signal(rawValue: 40).defaultAction, .terminate)
    XCTAssertNil(Signal(rawValue: 0).defaultAction)

    XCTAssertEqual(SignalSet(.hup).rawValue, 1)
    XCTAssertEqual(SignalSet(.rtmax).rawValue, 1 << 63)
    XCTAssertTrue(SignalSet(Signal(rawValue: 0)).isEmpty)
    XCTAssertEqual(SignalSet.unblockable.rawValue, 1 << 8 | 1 << 18)
    let set: SignalSet = [SignalSet(.int), SignalSet(.term)]
    XCTAssertTrue(set.contains(.int))
    XCTAssertFalse(set.contains(.kill))
    XCTAssertFalse(set.contains(Signal(rawValue: 99)))

    XCTAssertEqual(SigactionFlags.siginfo.rawValue, 4)
    XCTAssertEqual(SigactionFlags.restorer.rawValue, 0x0400_0000)
    XCTAssertEqual(SigactionFlags.restart.rawValue, 0x1000_0000)
    XCTAssertEqual(SigprocmaskHow.setmask.rawValue, 2)
  }

  func testFutexOperation() {
    XCTAssertEqual(FutexCommand.wait.rawValue, 0)
    XCTAssertEqual(FutexCommand.wake.rawValue, 1)
    XCTAssertEqual(FutexCommand.waitBitset.rawValue, 9)
    XCTAssertEqual(FutexCommand.lockPi2.rawValue, 13)

    // glibc's FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME
    let operation = FutexOperation(rawValue: 9 | 128 | 256)
    XCTAssertEqual(operation.command, .waitBitset)
    XCTAssertTrue(operation.isPrivate)
    XCTAssertTrue(operation.usesRealtimeClock)
    XCTAssertEqual(FutexOperation(.wake, private: true).rawValue, 129)
    XCTAssertEqual(FutexOperation(.wake).command, .wake)
    XCTAssertFalse(FutexOperation(.wake).isPrivate)
  }

  func testFutexWakeOperation() throws {
    // FUTEX_OP(op, oparg, cmp, cmparg) as the man page defines it.
    func pack(_ op: UInt32, _ oparg: Int32, _ cmp: UInt32, _ cmparg: Int32)
      -> UInt32
    {
      (op & 0xf) << 28 | (cmp & 0xf) << 24
        | (UInt32(bitPattern: oparg) & 0xfff) << 12
        | UInt32(bitPattern: cmparg) & 0xfff
    }

    // The one glibc uses for condition variables of old:
    // FUTEX_OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_GT, 1).
    let setGreater = try XCTUnwrap(
      FutexWakeOperation(encoded: pack(0, 0, 4, 1)))
    XCTAssertEqual(setGreater.operation, .set)
    XCTAssertEqual(setGreater.comparison, .gt)
    XCTAssertEqual(setGreater.newValue(from: 7), 0)
    XCTAssertTrue(setGreater.matches(old: 2))
    XCTAssertFalse(setGreater.matches(old: 1))

    // Negative 12-bit arguments sign-extend; comparison is signed.
    let addNegative = try XCTUnwrap(
      FutexWakeOperation(encoded: pack(1, -1, 2, -5)))
    XCTAssertEqual(addNegative.operand, -1)
    XCTAssertEqual(addNegative.comparand, -5)
    XCTAssertEqual(addNegative.newValue(from: 10), 9)
    XCTAssertTrue(addNegative.matches(old: UInt32(bitPattern: -6)))
    XCTAssertFalse(addNegative.matches(old: 0))

    // FUTEX_OP_OPARG_SHIFT turns oparg into 1 << oparg.
    let orShifted = try XCTUnwrap(
      FutexWakeOperation(encoded: pack(2 | 8, 5, 0, 0)))
    XCTAssertEqual(orShifted.operation, .or)
    XCTAssertEqual(orShifted.operand, 32)
    XCTAssertEqual(orShifted.newValue(from: 1), 33)

    let andn = try XCTUnwrap(FutexWakeOperation(encoded: pack(3, 6, 1, 0)))
    XCTAssertEqual(andn.newValue(from: 0xf), 0x9)
    let xor = try XCTUnwrap(FutexWakeOperation(encoded: pack(4, 3, 5, 0)))
    XCTAssertEqual(xor.newValue(from: 1), 2)

    XCTAssertNil(FutexWakeOperation(encoded: pack(5, 0, 0, 0)))
    XCTAssertNil(FutexWakeOperation(encoded: pack(0, 0, 6, 0)))
  }

  // MARK: - Struct layouts

  func testTimespecBytes() {
    let time = Timespec(sec: 0x0102_0304_0506_0708, nsec: 999_999_999)
    XCTAssertEqual(Timespec.byteCount, 16)
    XCTAssertEqual(
      time.encoded(),
      [
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
        0xFF, 0xC9, 0x9A, 0x3B, 0x00, 0x00, 0x00, 0x00,
      ])
    XCTAssertEqual(Timespec(bytes: time.encoded()), time)

    let negative = Timespec(sec: -1, nsec: 5)
    XCTAssertEqual(
      Array(negative.encoded()[0..<8]), [UInt8](repeating: 0xFF, count: 8))
    XCTAssertEqual(Timespec(bytes: negative.encoded()), negative)

    XCTAssertTrue(time.isValid)
    XCTAssertFalse(Timespec(sec: 0, nsec: 1_000_000_000).isValid)
    XCTAssertFalse(Timespec(sec: 0, nsec: -1).isValid)
    XCTAssertEqual(Timespec.utimeNow, 0x3fff_ffff)
    XCTAssertEqual(Timespec.utimeOmit, 0x3fff_fffe)
  }

  func testTimespecNanosecondConversions() {
    XCTAssertEqual(
      Timespec(totalNanoseconds: 2_500_000_000),
      Timespec(sec: 2, nsec: 500_000_000))
    XCTAssertEqual(
      Timespec(totalNanoseconds: -1), Timespec(sec: -1, nsec: 999_999_999))
    XCTAssertEqual(Timespec(totalNanoseconds: 0), Timespec(sec: 0, nsec: 0))
    XCTAssertEqual(Timespec(sec: 3, nsec: 7).totalNanoseconds, 3_000_000_007)
    XCTAssertEqual(
      Timespec(totalNanoseconds: .min).totalNanoseconds, Int64.min)
    XCTAssertNil(Timespec(sec: .max, nsec: 0).totalNanoseconds)
    XCTAssertNil(
      Timespec(sec: 9_223_372_036, nsec: 999_999_999).totalNanoseconds)
  }

  func testSmallStructBytes() {
    XCTAssertEqual(
      Timeval(sec: 1, usec: 2).encoded(),
      [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0])
    XCTAssertFalse(Timeval(sec: 0, usec: 1_000_000).isValid)

    XCTAssertEqual(
      Timezone(minuteswest: -60, dsttime: 1).encoded(),
      [0xC4, 0xFF, 0xFF, 0xFF, 1, 0, 0, 0])

    XCTAssertEqual(
      Rlimit(cur: 1024, max: Rlimit.infinity).encoded(),
      [0x00, 0x04, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0xFF, count: 8))

    XCTAssertEqual(
      Winsize(row: 24, col: 80, xpixel: 0x0102, ypixel: 3).encoded(),
      [24, 0, 80, 0, 0x02, 0x01, 3, 0])

    XCTAssertEqual(
      Iovec(base: 0x7fff_0000_1000, len: 5).encoded(),
      [0x00, 0x10, 0x00, 0x00, 0xFF, 0x7F, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0])
  }

  func testRoundTrips() {
    let timeval = Timeval(sec: -3, usec: 999_999)
    XCTAssertEqual(Timeval(bytes: timeval.encoded()), timeval)
    let timezone = Timezone(minuteswest: 300, dsttime: 0)
    XCTAssertEqual(Timezone(bytes: timezone.encoded()), timezone)
    let rlimit = Rlimit(cur: 8 << 20, max: Rlimit.infinity)
    XCTAssertEqual(Rlimit(bytes: rlimit.encoded()), rlimit)
    let winsize = Winsize(row: 50, col: 132)
    XCTAssertEqual(Winsize(bytes: winsize.encoded()), winsize)
    let iovec = Iovec(base: .max, len: 1 << 40)
    XCTAssertEqual(Iovec(bytes: iovec.encoded()), iovec)

    let stat = sampleStat()
    XCTAssertEqual(Stat(bytes: stat.encoded()), stat)
    let statx = sampleStatx()
    XCTAssertEqual(Statx(bytes: statx.encoded()), statx)
    let uts = Utsname(
      sysname: "Linux", nodename: "villa", release: "6.17.0",
      version: "#1 SMP", machine: "x86_64", domainname: "(none)")
    XCTAssertEqual(Utsname(bytes: uts.encoded()), uts)
  }

  func testDecodersRejectWrongLengths() {
    XCTAssertNil(Timespec(bytes: [UInt8](repeating: 0, count: 15)))
    XCTAssertNil(Timespec(bytes: [UInt8](repeating: 0, count: 17)))
    XCTAssertNil(Timeval(bytes: [UInt8]()))
    XCTAssertNil(Timezone(bytes: [UInt8](repeating: 0, count: 16)))
    XCTAssertNil(Rlimit(bytes: [UInt8](repeating: 0, count: 8)))
    XCTAssertNil(Winsize(bytes: [UInt8](repeating: 0, count: 4)))
    XCTAssertNil(Iovec(bytes: [UInt8](repeating: 0, count: 12)))
    XCTAssertNil(Stat(bytes: [UInt8](repeating: 0, count: 143)))
    XCTAssertNil(Statx(bytes: [UInt8](repeating: 0, count: 255)))
    XCTAssertNil(Utsname(bytes: [UInt8](repeating: 0, count: 389)))
    XCTAssertNotNil(Stat(bytes: [UInt8](repeating: 0, count: 144)))
  }

  /// sockaddr_in keeps the port and address big-endian in memory; the
  /// bytes below are what C's htons(8080) and inet_addr("127.0.0.1")
  /// store.
  func testSocketStructBytes() {
    let loopback = SockaddrIn(address: 0x7F00_0001, port: 8080)
    XCTAssertEqual(loopback.encoded(), [
      2, 0, 0x1F, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ])
    XCTAssertEqual(SockaddrIn(bytes: loopback.encoded()), loopback)
    XCTAssertNil(SockaddrIn(bytes: [UInt8](repeating: 0, count: 15)))

    let header = Msghdr(name: 0x1000, nameLength: 16, iov: 0x2000,
                        iovLength: 3, control: 0, controlLength: 0,
                        flags: MessageFlags.truncate)
    let bytes = header.encoded()
    XCTAssertEqual(bytes.count, 56)
    XCTAssertEqual(bytes[Msghdr.nameLengthOffset], 16)
    XCTAssertEqual(bytes[Msghdr.flagsOffset], 0x20)
    XCTAssertEqual(bytes[24], 3)
    XCTAssertEqual(Msghdr(bytes: bytes), header)
    XCTAssertNil(Msghdr(bytes: [UInt8](repeating: 0, count: 48)))

    let linger = Linger(enabled: 1, seconds: 0)
    XCTAssertEqual(linger.encoded(), [1, 0, 0, 0, 0, 0, 0, 0])
    XCTAssertEqual(Linger(bytes: linger.encoded()), linger)
    // SOCK_NONBLOCK and SOCK_CLOEXEC share the O_ flags' bits.
    XCTAssertEqual(UInt32(SocketType.nonBlock), OpenFlags.nonblock.rawValue)
    XCTAssertEqual(UInt32(SocketType.closeOnExec),
                   OpenFlags.cloexec.rawValue)
  }

  func testDecodingFromSlices() {
    // A struct read out of the middle of a larger buffer.
    let buffer: [UInt8] = [0xAA, 0xBB] + Winsize(row: 1, col: 2).encoded()
    XCTAssertEqual(Winsize(bytes: buffer[2...]), Winsize(row: 1, col: 2))
  }

  func testIovecArrayDecoding() {
    let vectors = [
      Iovec(base: 0x1000, len: 3), Iovec(base: 0x2000, len: 0),
      Iovec(base: 0x3000, len: 4096),
    ]
    let bytes = vectors.flatMap { $0.encoded() }
    XCTAssertEqual(Iovec.decodeArray(bytes: bytes), vectors)
    XCTAssertEqual(Iovec.decodeArray(bytes: [UInt8]()), [])
    XCTAssertNil(Iovec.decodeArray(bytes: bytes.dropLast()))
    XCTAssertEqual(
      Iovec.decodeArray(bytes: bytes[16...]), Array(vectors[1...]))
  }

  func testStatLayout() {
    let bytes = sampleStat().encoded()
    XCTAssertEqual(Stat.byteCount, 144)
    XCTAssertEqual(bytes.count, 144)
    XCTAssertEqual(readLE(bytes, at: 0, width: 8), 0x0803)  // st_dev
    XCTAssertEqual(readLE(bytes, at: 8, width: 8), 0x1122_3344)  // st_ino
    XCTAssertEqual(readLE(bytes, at: 16, width: 8), 2)  // st_nlink
    XCTAssertEqual(readLE(bytes, at: 24, width: 4), 0o100644)  // st_mode
    XCTAssertEqual(readLE(bytes, at: 28, width: 4), 1000)  // st_uid
    XCTAssertEqual(readLE(bytes, at: 32, width: 4), 100)  // st_gid
    XCTAssertEqual(readLE(bytes, at: 36, width: 4), 0)  // __pad0
    XCTAssertEqual(readLE(bytes, at: 40, width: 8), 0x0501)  // st_rdev
    XCTAssertEqual(readLE(bytes, at: 48, width: 8), 123_456)  // st_size
    XCTAssertEqual(readLE(bytes, at: 56, width: 8), 4096)  // st_blksize
    XCTAssertEqual(readLE(bytes, at: 64, width: 8), 248)  // st_blocks
    XCTAssertEqual(readLE(bytes, at: 72, width: 8), 1_700_000_001)  // atime
    XCTAssertEqual(readLE(bytes, at: 80, width: 8), 11)
    XCTAssertEqual(readLE(bytes, at: 88, width: 8), 1_700_000_002)  // mtime
    XCTAssertEqual(readLE(bytes, at: 96, width: 8), 22)
    XCTAssertEqual(readLE(bytes, at: 104, width: 8), 1_700_000_003)  // ctime
    XCTAssertEqual(readLE(bytes, at: 112, width: 8), 33)
    XCTAssertEqual(Array(bytes[120...]), [UInt8](repeating: 0, count: 24))
  }

  func testStatxLayout() {
    let bytes = sampleStatx().encoded()
    XCTAssertEqual(Statx.byteCount, 256)
    XCTAssertEqual(bytes.count, 256)
    XCTAssertEqual(readLE(bytes, at: 0, width: 4), 0xfff)  // stx_mask
    XCTAssertEqual(readLE(bytes, at: 4, width: 4), 512)  // stx_blksize
    XCTAssertEqual(readLE(bytes, at: 8, width: 8), 0x20)  // stx_attributes
    XCTAssertEqual(readLE(bytes, at: 16, width: 4), 3)  // stx_nlink
    XCTAssertEqual(readLE(bytes, at: 20, width: 4), 1000)  // stx_uid
    XCTAssertEqual(readLE(bytes, at: 24, width: 4), 100)  // stx_gid
    XCTAssertEqual(readLE(bytes, at: 28, width: 2), 0o40755)  // stx_mode
    XCTAssertEqual(readLE(bytes, at: 30, width: 2), 0)  // __spare0
    XCTAssertEqual(readLE(bytes, at: 32, width: 8), 77)  // stx_ino
    XCTAssertEqual(readLE(bytes, at: 40, width: 8), 0x1_0000_0000)  // size
    XCTAssertEqual(readLE(bytes, at: 48, width: 8), 8)  // stx_blocks
    XCTAssertEqual(readLE(bytes, at: 56, width: 8), 0x2034)  // attr mask
    XCTAssertEqual(readLE(bytes, at: 64, width: 8), 1)  // stx_atime
    XCTAssertEqual(readLE(bytes, at: 72, width: 4), 2)
    XCTAssertEqual(readLE(bytes, at: 76, width: 4), 0)  // __reserved
    XCTAssertEqual(readLE(bytes, at: 80, width: 8), 3)  // stx_btime
    XCTAssertEqual(readLE(bytes, at: 96, width: 8), 5)  // stx_ctime
    XCTAssertEqual(readLE(bytes, at: 112, width: 8), 7)  // stx_mtime
    XCTAssertEqual(readLE(bytes, at: 120, width: 4), 8)
    XCTAssertEqual(readLE(bytes, at: 128, width: 4), 136)  // rdev_major
    XCTAssertEqual(readLE(bytes, at: 132, width: 4), 2)  // rdev_minor
    XCTAssertEqual(readLE(bytes, at: 136, width: 4), 8)  // dev_major
    XCTAssertEqual(readLE(bytes, at: 140, width: 4), 1)  // dev_minor
    XCTAssertEqual(readLE(bytes, at: 144, width: 8), 42)  // stx_mnt_id
    XCTAssertEqual(readLE(bytes, at: 152, width: 4), 512)  // dio_mem_align
    XCTAssertEqual(readLE(bytes, at: 156, width: 4), 4096)  // dio_offset
    XCTAssertEqual(readLE(bytes, at: 160, width: 8), 9)  // stx_subvol
    XCTAssertEqual(readLE(bytes, at: 168, width: 4), 10)  // unit_min
    XCTAssertEqual(readLE(bytes, at: 172, width: 4), 11)  // unit_max
    XCTAssertEqual(readLE(bytes, at: 176, width: 4), 12)  // segments_max
    XCTAssertEqual(readLE(bytes, at: 180, width: 4), 13)  // dio_read_offset
    XCTAssertEqual(readLE(bytes, at: 184, width: 4), 14)  // unit_max_opt
    XCTAssertEqual(Array(bytes[188...]), [UInt8](repeating: 0, count: 68))

    XCTAssertEqual(StatxMask.basicStats.rawValue, 0x7ff)
    XCTAssertEqual(StatxMask.btime.rawValue, 0x800)
    XCTAssertEqual(StatxMask.dioReadAlign.rawValue, 0x2_0000)
    XCTAssertEqual(StatxAttributes.mountRoot.rawValue, 0x2000)
  }

  func testUtsnameLayoutAndTruncation() throws {
    let long = String(repeating: "n", count: 70)
    let uts = Utsname(
      sysname: "Linux", nodename: long, release: "6.17.0-villa",
      version: "#1", machine: "x86_64", domainname: "")
    let bytes = uts.encoded()
    XCTAssertEqual(Utsname.byteCount, 390)
    XCTAssertEqual(bytes.count, 390)
    XCTAssertEqual(Array(bytes[0..<6]), Array("Linux".utf8) + [0])
    XCTAssertEqual(Array(bytes[65..<129]), [UInt8](repeating: 0x6E, count: 64))
    XCTAssertEqual(bytes[129], 0)  // the NUL survives the cut
    XCTAssertEqual(Array(bytes[130..<142]), Array("6.17.0-villa".utf8))
    XCTAssertEqual(Array(bytes[260..<266]), Array("x86_64".utf8))
    XCTAssertEqual(Array(bytes[325...]), [UInt8](repeating: 0, count: 65))

    let decoded = try XCTUnwrap(Utsname(bytes: bytes))
    XCTAssertEqual(decoded.nodename, String(repeating: "n", count: 64))
    XCTAssertEqual(decoded.machine, "x86_64")
    XCTAssertEqual(decoded.domainname, "")

    // Equality is by bytes, as C sees the fields: a precomposed and a
    // decomposed "é" are equal Strings but different utsnames.
    var composed = decoded
    composed.version = "caf\u{E9}"
    var decomposed = decoded
    decomposed.version = "cafe\u{301}"
    XCTAssertEqual(composed.version, decomposed.version)
    XCTAssertNotEqual(composed, decomposed)
    XCTAssertEqual(composed, Utsname(bytes: composed.encoded()))

    // A field with no NUL at all decodes to its full 65 bytes.
    var unterminated = bytes
    for index in 0..<65 {
      unterminated[index] = 0x41
    }
    XCTAssertEqual(
      Utsname(bytes: unterminated)?.sysname, String(repeating: "A", count: 65))
  }

  func testDeviceNumbers() {
    XCTAssertEqual(DeviceNumber.make(major: 1, minor: 3), 0x103)
    XCTAssertEqual(DeviceNumber.make(major: 136, minor: 2), 0x8802)
    let big = DeviceNumber.make(major: 0x12345, minor: 0x6789A)
    XCTAssertEqual(DeviceNumber.major(of: big), 0x12345)
    XCTAssertEqual(DeviceNumber.minor(of: big), 0x6789A)
    XCTAssertEqual(DeviceNumber.major(of: 0x8802), 136)
    XCTAssertEqual(DeviceNumber.minor(of: 0x8802), 2)
  }

  // MARK: - Helpers

  private func sampleStat() -> Stat {
    Stat(
      dev: 0x0803, ino: 0x1122_3344, nlink: 2,
      mode: FileMode(rawValue: 0o100644), uid: 1000, gid: 100,
      rdev: 0x0501, size: 123_456, blksize: 4096, blocks: 248,
      atime: Timespec(sec: 1_700_000_001, nsec: 11),
      mtime: Timespec(sec: 1_700_000_002, nsec: 22),
      ctime: Timespec(sec: 1_700_000_003, nsec: 33))
  }

  private func sampleStatx() -> Statx {
    var statx = Statx(
      mask: StatxMask(rawValue: 0xfff), blksize: 512, nlink: 3, uid: 1000,
      gid: 100, mode: FileMode(rawValue: 0o40755), ino: 77,
      size: 0x1_0000_0000, blocks: 8,
      atime: StatxTimestamp(sec: 1, nsec: 2),
      btime: StatxTimestamp(sec: 3, nsec: 4),
      ctime: StatxTimestamp(sec: 5, nsec: 6),
      mtime: StatxTimestamp(sec: 7, nsec: 8))
    statx.attributes = .append
    statx.attributesMask = [.append, .immutable, .mountRoot, .compressed]
    statx.rdevMajor = 136
    statx.rdevMinor = 2
    statx.devMajor = 8
    statx.devMinor = 1
    statx.mntId = 42
    statx.dioMemAlign = 512
    statx.dioOffsetAlign = 4096
    statx.subvol = 9
    statx.atomicWriteUnitMin = 10
    statx.atomicWriteUnitMax = 11
    statx.atomicWriteSegmentsMax = 12
    statx.dioReadOffsetAlign = 13
    statx.atomicWriteUnitMaxOpt = 14
    return statx
  }

  /// Reads an unsigned little-endian number, independently of the module's
  /// own decoder.
  private func readLE(_ bytes: [UInt8], at offset: Int, width: Int) -> UInt64
  {
    var value: UInt64 = 0
    for index in (0..<width).reversed() {
      value = value << 8 | UInt64(bytes[offset + index])
    }
    return value
  }
}

// MARK: - Cross-checks against the host's glibc

#if os(Linux) && arch(x86_64) && canImport(Glibc)
  extension LinuxABITests {
    /// Compares two integers of any widths on their common low bits, since
    /// glibc imports some flags as Int32 and others as UInt or UInt32.
    private func assertSame<A: BinaryInteger, B: BinaryInteger>(
      _ ours: A, _ glibc: B, _ what: String, line: UInt = #line
    ) {
      let width = Swift.min(ours.bitWidth, glibc.bitWidth)
      let mask: UInt64 = width >= 64 ? .max : (1 << UInt64(width)) - 1
      XCTAssertEqual(
        UInt64(truncatingIfNeeded: ours) & mask,
        UInt64(truncatingIfNeeded: glibc) & mask, what, line: line)
    }

    func testEveryErrnoMatchesHostGlibc() {
      let pairs: [(Errno, Int32)] = [
      (.EPERM, EPERM), (.ENOENT, ENOENT), (.ESRCH, ESRCH), (.EINTR, EINTR),
      (.EIO, EIO), (.ENXIO, ENXIO), (.E2BIG, E2BIG), (.ENOEXEC, ENOEXEC),
      (.EBADF, EBADF), (.ECHILD, ECHILD), (.EAGAIN, EAGAIN),
      (.ENOMEM, ENOMEM), (.EACCES, EACCES), (.EFAULT, EFAULT),
      (.ENOTBLK, ENOTBLK), (.EBUSY, EBUSY), (.EEXIST, EEXIST),
      (.EXDEV, EXDEV), (.ENODEV, ENODEV), (.ENOTDIR, ENOTDIR),
      (.EISDIR, EISDIR), (.EINVAL, EINVAL), (.ENFILE, ENFILE),
      (.EMFILE, EMFILE), (.ENOTTY, ENOTTY), (.ETXTBSY, ETXTBSY),
      (.EFBIG, EFBIG), (.ENOSPC, ENOSPC), (.ESPIPE, ESPIPE), (.EROFS, EROFS),
      (.EMLINK, EMLINK), (.EPIPE, EPIPE), (.EDOM, EDOM), (.ERANGE, ERANGE),
      (.EDEADLK, EDEADLK), (.ENAMETOOLONG, ENAMETOOLONG), (.ENOLCK, ENOLCK),
      (.ENOSYS, ENOSYS), (.ENOTEMPTY, ENOTEMPTY), (.ELOOP, ELOOP),
      (.ENOMSG, ENOMSG), (.EIDRM, EIDRM), (.ECHRNG, ECHRNG),
      (.EL2NSYNC, EL2NSYNC), (.EL3HLT, EL3HLT), (.EL3RST, EL3RST),
      (.ELNRNG, ELNRNG), (.EUNATCH, EUNATCH), (.ENOCSI, ENOCSI),
      (.EL2HLT, EL2HLT), (.EBADE, EBADE), (.EBADR, EBADR), (.EXFULL, EXFULL),
      (.ENOANO, ENOANO), (.EBADRQC, EBADRQC), (.EBADSLT, EBADSLT),
      (.EBFONT, EBFONT), (.ENOSTR, ENOSTR), (.ENODATA, ENODATA),
      (.ETIME, ETIME), (.ENOSR, ENOSR), (.ENONET, ENONET), (.ENOPKG, ENOPKG),
      (.EREMOTE, EREMOTE), (.ENOLINK, ENOLINK), (.EADV, EADV),
      (.ESRMNT, ESRMNT), (.ECOMM, ECOMM), (.EPROTO, EPROTO),
      (.EMULTIHOP, EMULTIHOP), (.EDOTDOT, EDOTDOT), (.EBADMSG, EBADMSG),
      (.EOVERFLOW, EOVERFLOW), (.ENOTUNIQ, ENOTUNIQ), (.EBADFD, EBADFD),
      (.EREMCHG, EREMCHG), (.ELIBACC, ELIBACC), (.ELIBBAD, ELIBBAD),
      (.ELIBSCN, ELIBSCN), (.ELIBMAX, ELIBMAX), (.ELIBEXEC, ELIBEXEC),
      (.EILSEQ, EILSEQ), (.ERESTART, ERESTART), (.ESTRPIPE, ESTRPIPE),
      (.EUSERS, EUSERS), (.ENOTSOCK, ENOTSOCK), (.EDESTADDRREQ, EDESTADDRREQ),
      (.EMSGSIZE, EMSGSIZE), (.EPROTOTYPE, EPROTOTYPE),
      (.ENOPROTOOPT, ENOPROTOOPT), (.EPROTONOSUPPORT, EPROTONOSUPPORT),
      (.ESOCKTNOSUPPORT, ESOCKTNOSUPPORT), (.EOPNOTSUPP, EOPNOTSUPP),
      (.EPFNOSUPPORT, EPFNOSUPPORT), (.EAFNOSUPPORT, EAFNOSUPPORT),
      (.EADDRINUSE, EADDRINUSE), (.EADDRNOTAVAIL, EADDRNOTAVAIL),
      (.ENETDOWN, ENETDOWN), (.ENETUNREACH, ENETUNREACH),
      (.ENETRESET, ENETRESET), (.ECONNABORTED, ECONNABORTED),
      (.ECONNRESET, ECONNRESET), (.ENOBUFS, ENOBUFS), (.EISCONN, EISCONN),
      (.ENOTCONN, ENOTCONN), (.ESHUTDOWN, ESHUTDOWN),
      (.ETOOMANYREFS, ETOOMANYREFS), (.ETIMEDOUT, ETIMEDOUT),
      (.ECONNREFUSED, ECONNREFUSED), (.EHOSTDOWN, EHOSTDOWN),
      (.EHOSTUNREACH, EHOSTUNREACH), (.EALREADY, EALREADY),
      (.EINPROGRESS, EINPROGRESS), (.ESTALE, ESTALE), (.EUCLEAN, EUCLEAN),
      (.ENOTNAM, ENOTNAM), (.ENAVAIL, ENAVAIL), (.EISNAM, EISNAM),
      (.EREMOTEIO, EREMOTEIO), (.EDQUOT, EDQUOT), (.ENOMEDIUM, ENOMEDIUM),
      (.EMEDIUMTYPE, EMEDIUMTYPE), (.ECANCELED, ECANCELED), (.ENOKEY, ENOKEY),
      (.EKEYEXPIRED, EKEYEXPIRED), (.EKEYREVOKED, EKEYREVOKED),
      (.EKEYREJECTED, EKEYREJECTED), (.EOWNERDEAD, EOWNERDEAD),
      (.ENOTRECOVERABLE, ENOTRECOVERABLE), (.ERFKILL, ERFKILL),
      (.EHWPOISON, EHWPOISON), (.EWOULDBLOCK, EWOULDBLOCK),
      (.EDEADLOCK, EDEADLOCK), (.ENOTSUP, ENOTSUP),
      ]
      XCTAssertEqual(pairs.count, 134)
      for (ours, glibc) in pairs {
        XCTAssertEqual(ours.rawValue, glibc, ours.name)
      }
    }

    func testConstantsMatchHostGlibc() {
      assertSame(OpenFlags.wronly.rawValue, O_WRONLY, "O_WRONLY")
      assertSame(OpenFlags.rdwr.rawValue, O_RDWR, "O_RDWR")
      assertSame(OpenFlags.accmode.rawValue, O_ACCMODE, "O_ACCMODE")
      assertSame(OpenFlags.creat.rawValue, O_CREAT, "O_CREAT")
      assertSame(OpenFlags.excl.rawValue, O_EXCL, "O_EXCL")
      assertSame(OpenFlags.noctty.rawValue, O_NOCTTY, "O_NOCTTY")
      assertSame(OpenFlags.trunc.rawValue, O_TRUNC, "O_TRUNC")
      assertSame(OpenFlags.append.rawValue, O_APPEND, "O_APPEND")
      assertSame(OpenFlags.nonblock.rawValue, O_NONBLOCK, "O_NONBLOCK")
      assertSame(OpenFlags.dsync.rawValue, O_DSYNC, "O_DSYNC")
      assertSame(OpenFlags.async.rawValue, O_ASYNC, "O_ASYNC")
      assertSame(OpenFlags.directory.rawValue, O_DIRECTORY, "O_DIRECTORY")
      assertSame(OpenFlags.nofollow.rawValue, O_NOFOLLOW, "O_NOFOLLOW")
      assertSame(OpenFlags.cloexec.rawValue, O_CLOEXEC, "O_CLOEXEC")
      assertSame(OpenFlags.sync.rawValue, O_SYNC, "O_SYNC")

      assertSame(MmapProtection.read.rawValue, PROT_READ, "PROT_READ")
      assertSame(MmapProtection.write.rawValue, PROT_WRITE, "PROT_WRITE")
      assertSame(MmapProtection.exec.rawValue, PROT_EXEC, "PROT_EXEC")
      assertSame(
        MmapProtection.growsdown.rawValue, PROT_GROWSDOWN, "PROT_GROWSDOWN")
      assertSame(MmapFlags.shared.rawValue, MAP_SHARED, "MAP_SHARED")
      assertSame(MmapFlags.private.rawValue, MAP_PRIVATE, "MAP_PRIVATE")
      assertSame(
        MmapFlags.sharedValidate.rawValue, MAP_SHARED_VALIDATE,
        "MAP_SHARED_VALIDATE")
      assertSame(MmapFlags.fixed.rawValue, MAP_FIXED, "MAP_FIXED")
      assertSame(MmapFlags.anonymous.rawValue, MAP_ANONYMOUS, "MAP_ANONYMOUS")
      assertSame(MmapFlags.map32Bit.rawValue, MAP_32BIT, "MAP_32BIT")
      assertSame(MmapFlags.growsdown.rawValue, MAP_GROWSDOWN, "MAP_GROWSDOWN")
      assertSame(MmapFlags.locked.rawValue, MAP_LOCKED, "MAP_LOCKED")
      assertSame(MmapFlags.noreserve.rawValue, MAP_NORESERVE, "MAP_NORESERVE")
      assertSame(MmapFlags.populate.rawValue, MAP_POPULATE, "MAP_POPULATE")
      assertSame(MmapFlags.nonblock.rawValue, MAP_NONBLOCK, "MAP_NONBLOCK")
      assertSame(MmapFlags.stack.rawValue, MAP_STACK, "MAP_STACK")
      assertSame(MmapFlags.hugetlb.rawValue, MAP_HUGETLB, "MAP_HUGETLB")
      assertSame(MmapFlags.sync.rawValue, MAP_SYNC, "MAP_SYNC")
      assertSame(
        MmapFlags.fixedNoreplace.rawValue, MAP_FIXED_NOREPLACE,
        "MAP_FIXED_NOREPLACE")
      assertSame(MadviseAdvice.dontneed.rawValue, MADV_DONTNEED, "DONTNEED")
      assertSame(MadviseAdvice.free.rawValue, MADV_FREE, "MADV_FREE")
      assertSame(MsyncFlags.sync.rawValue, MS_SYNC, "MS_SYNC")

      assertSame(ClockID.realtime.rawValue, CLOCK_REALTIME, "REALTIME")
      assertSame(ClockID.monotonic.rawValue, CLOCK_MONOTONIC, "MONOTONIC")
      assertSame(
        ClockID.monotonicRaw.rawValue, CLOCK_MONOTONIC_RAW, "MONOTONIC_RAW")
      assertSame(ClockID.boottime.rawValue, CLOCK_BOOTTIME, "BOOTTIME")
      assertSame(
        ClockID.boottimeAlarm.rawValue, CLOCK_BOOTTIME_ALARM,
        "BOOTTIME_ALARM")
      assertSame(ClockID.tai.rawValue, CLOCK_TAI, "CLOCK_TAI")
      assertSame(TimerFlags.abstime.rawValue, TIMER_ABSTIME, "TIMER_ABSTIME")

      assertSame(
        RlimitResource.nofile.rawValue, RLIMIT_NOFILE.rawValue, "NOFILE")
      assertSame(RlimitResource.stack.rawValue, RLIMIT_STACK.rawValue, "STACK")
      assertSame(RlimitResource.as.rawValue, RLIMIT_AS.rawValue, "RLIMIT_AS")

      assertSame(IoctlRequest.tcgets.rawValue, TCGETS, "TCGETS")
      assertSame(IoctlRequest.tcsets.rawValue, TCSETS, "TCSETS")
      assertSame(IoctlRequest.tiocgwinsz.rawValue, TIOCGWINSZ, "TIOCGWINSZ")
      assertSame(IoctlRequest.tiocswinsz.rawValue, TIOCSWINSZ, "TIOCSWINSZ")
      assertSame(IoctlRequest.tiocgpgrp.rawValue, TIOCGPGRP, "TIOCGPGRP")
      assertSame(IoctlRequest.fionread.rawValue, FIONREAD, "FIONREAD")
      assertSame(IoctlRequest.fionbio.rawValue, FIONBIO, "FIONBIO")

      assertSame(AtFlags.fdcwd, AT_FDCWD, "AT_FDCWD")
      assertSame(
        AtFlags.symlinkNofollow.rawValue, AT_SYMLINK_NOFOLLOW,
        "AT_SYMLINK_NOFOLLOW")
      assertSame(AtFlags.removedir.rawValue, AT_REMOVEDIR, "AT_REMOVEDIR")
      assertSame(FileMode.ifmt.rawValue, S_IFMT, "S_IFMT")
      assertSame(FileMode.ifsock.rawValue, S_IFSOCK, "S_IFSOCK")
      assertSame(FileMode.iflnk.rawValue, S_IFLNK, "S_IFLNK")
      assertSame(FileMode.ifreg.rawValue, S_IFREG, "S_IFREG")
      assertSame(FileMode.ifblk.rawValue, S_IFBLK, "S_IFBLK")
      assertSame(FileMode.ifdir.rawValue, S_IFDIR, "S_IFDIR")
      assertSame(FileMode.ifchr.rawValue, S_IFCHR, "S_IFCHR")
      assertSame(FileMode.ififo.rawValue, S_IFIFO, "S_IFIFO")
      assertSame(
        FcntlCommand.dupfdCloexec.rawValue, F_DUPFD_CLOEXEC, "DUPFD_CLOEXEC")
      assertSame(FcntlCommand.setlkw.rawValue, F_SETLKW, "F_SETLKW")
      assertSame(FileDescriptorFlags.cloexec.rawValue, FD_CLOEXEC, "CLOEXEC")

      assertSame(AuxvType.phdr.rawValue, AT_PHDR, "AT_PHDR")
      assertSame(AuxvType.random.rawValue, AT_RANDOM, "AT_RANDOM")
      assertSame(AuxvType.execfn.rawValue, AT_EXECFN, "AT_EXECFN")
      assertSame(
        AuxvType.sysinfoEhdr.rawValue, AT_SYSINFO_EHDR, "AT_SYSINFO_EHDR")
      assertSame(
        AuxvType.minsigstksz.rawValue, AT_MINSIGSTKSZ, "AT_MINSIGSTKSZ")

      assertSame(Signal.hup.rawValue, SIGHUP, "SIGHUP")
      assertSame(Signal.bus.rawValue, SIGBUS, "SIGBUS")
      assertSame(Signal.usr1.rawValue, SIGUSR1, "SIGUSR1")
      assertSame(Signal.segv.rawValue, SIGSEGV, "SIGSEGV")
      assertSame(Signal.stkflt.rawValue, SIGSTKFLT, "SIGSTKFLT")
      assertSame(Signal.chld.rawValue, SIGCHLD, "SIGCHLD")
      assertSame(Signal.cont.rawValue, SIGCONT, "SIGCONT")
      assertSame(Signal.stop.rawValue, SIGSTOP, "SIGSTOP")
      assertSame(Signal.urg.rawValue, SIGURG, "SIGURG")
      assertSame(Signal.winch.rawValue, SIGWINCH, "SIGWINCH")
      assertSame(Signal.io.rawValue, SIGIO, "SIGIO")
      assertSame(Signal.pwr.rawValue, SIGPWR, "SIGPWR")
      assertSame(Signal.sys.rawValue, SIGSYS, "SIGSYS")
      assertSame(SigactionFlags.siginfo.rawValue, SA_SIGINFO, "SA_SIGINFO")
      assertSame(SigactionFlags.onstack.rawValue, SA_ONSTACK, "SA_ONSTACK")
      assertSame(SigactionFlags.restart.rawValue, SA_RESTART, "SA_RESTART")
      assertSame(SigactionFlags.nodefer.rawValue, SA_NODEFER, "SA_NODEFER")
      assertSame(
        SigactionFlags.resethand.rawValue, SA_RESETHAND, "SA_RESETHAND")
      assertSame(SigprocmaskHow.block.rawValue, SIG_BLOCK, "SIG_BLOCK")
      assertSame(SigprocmaskHow.setmask.rawValue, SIG_SETMASK, "SIG_SETMASK")
      assertSame(SigaltstackFlags.disable.rawValue, SS_DISABLE, "SS_DISABLE")
    }

    func testStructLayoutsMatchHostGlibc() {
      XCTAssertEqual(MemoryLayout<stat>.size, Stat.byteCount)
      XCTAssertEqual(MemoryLayout<stat>.offset(of: \.st_nlink), 16)
      XCTAssertEqual(MemoryLayout<stat>.offset(of: \.st_mode), 24)
      XCTAssertEqual(MemoryLayout<stat>.offset(of: \.st_rdev), 40)
      XCTAssertEqual(MemoryLayout<stat>.offset(of: \.st_size), 48)
      XCTAssertEqual(MemoryLayout<stat>.offset(of: \.st_blocks), 64)
      XCTAssertEqual(MemoryLayout<stat>.offset(of: \.st_mtim), 88)
      XCTAssertEqual(MemoryLayout<utsname>.size, Utsname.byteCount)
      XCTAssertEqual(MemoryLayout<timespec>.size, Timespec.byteCount)
      XCTAssertEqual(MemoryLayout<timeval>.size, Timeval.byteCount)
      XCTAssertEqual(MemoryLayout<rlimit>.size, Rlimit.byteCount)
      XCTAssertEqual(MemoryLayout<winsize>.size, Winsize.byteCount)
      XCTAssertEqual(MemoryLayout<iovec>.size, Iovec.byteCount)

      // Our bytes, read back through glibc's own struct definition.
      let ours = sampleStatForHost()
      var theirs = stat()
      withUnsafeMutableBytes(of: &theirs) { raw in
        raw.copyBytes(from: ours.encoded())
      }
      XCTAssertEqual(UInt64(theirs.st_ino), ours.ino)
      XCTAssertEqual(UInt64(theirs.st_nlink), ours.nlink)
      XCTAssertEqual(theirs.st_mode, ours.mode.rawValue)
      XCTAssertEqual(theirs.st_uid, ours.uid)
      XCTAssertEqual(UInt64(theirs.st_rdev), ours.rdev)
      XCTAssertEqual(Int64(theirs.st_size), ours.size)
      XCTAssertEqual(Int64(theirs.st_mtim.tv_sec), ours.mtime.sec)
      XCTAssertEqual(Int64(theirs.st_ctim.tv_nsec), ours.ctime.nsec)
    }

    /// Structs the host kernel filled in, decoded by this module.
    func testDecodesStructsFilledByHostKernel() throws {
      var names = utsname()
      XCTAssertEqual(uname(&names), 0)
      let uts = try XCTUnwrap(
        withUnsafeBytes(of: &names) { Utsname(bytes: $0) })
      XCTAssertEqual(uts.sysname, "Linux")
      XCTAssertEqual(uts.machine, "x86_64")
      XCTAssertFalse(uts.release.isEmpty)

      var info = stat()
      XCTAssertEqual(stat("/", &info), 0)
      let root = try XCTUnwrap(withUnsafeBytes(of: &info) { Stat(bytes: $0) })
      XCTAssertEqual(root.mode.type, .ifdir)
      XCTAssertEqual(root.ino, UInt64(info.st_ino))
      XCTAssertEqual(root.mtime.sec, Int64(info.st_mtim.tv_sec))
      XCTAssertEqual(root.dev, UInt64(info.st_dev))
      XCTAssertEqual(root.size, Int64(info.st_size))

      var limit = rlimit()
      let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
      XCTAssertEqual(getrlimit(resource, &limit), 0)
      let nofile = try XCTUnwrap(
        withUnsafeBytes(of: &limit) { Rlimit(bytes: $0) })
      XCTAssertEqual(nofile.cur, UInt64(limit.rlim_cur))
      XCTAssertEqual(nofile.max, UInt64(limit.rlim_max))
    }

    private func sampleStatForHost() -> Stat {
      Stat(
        dev: 1, ino: 0xABCD, nlink: 4, mode: FileMode(rawValue: 0o20620),
        uid: 7, gid: 5, rdev: DeviceNumber.make(major: 136, minor: 0),
        size: -1, blksize: 1024, blocks: 0,
        mtime: Timespec(sec: 1_234_567_890, nsec: 0),
        ctime: Timespec(sec: 0, nsec: 999))
    }
  }
#endif
